package clinical

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/identity"
	"haven/internal/keys"
)

// A patient's contact details: the phone number and e-mail address on their record, which are
// also how their account signs in (the e-mail address, or the phone number for a patient who
// has none) and how Haven reaches them. The patient changes them (access.UpdateContact); the
// sealed fields, their blind indexes and the account's sign-in name change in one
// transaction. A new e-mail address is confirmed like a staff member's: with e-mail on, a
// single-use link goes to it and the record changes only when it is opened (identity), the old
// address being told; without e-mail it applies at once. A phone number applies at once.
//
// A patient may add an e-mail address but not remove one: it is how they sign in and how their
// security notices reach them.

// Contact is how a patient is reached.
type Contact struct {
	Phone string `json:"phone"`
	Email string `json:"email"`
}

// ContactUpdate says what UpdateContact did.
type ContactUpdate struct {
	// Contact is what the record holds now. While a new e-mail address waits for its
	// confirmation, Email is still the address in use ("" for a patient who has none).
	Contact
	// EmailChange is what became of the e-mail address asked for: identity.EmailChanged,
	// identity.EmailConfirmationSent or identity.EmailUnchanged.
	EmailChange identity.EmailChange `json:"emailChange"`
}

// Contact-update audit details (the entry's reason after its decision), in fixed words.
const (
	detailUnchanged      = "unchanged"
	detailEmailConfirmed = "email-confirmed"
)

// contactDetail names what an update changes, for its audit entry.
func contactDetail(phone, email, confirm bool) string {
	var parts []string
	if phone {
		parts = append(parts, "phone")
	}
	if email {
		parts = append(parts, "email")
	}
	if len(parts) == 0 {
		return detailUnchanged
	}
	d := strings.Join(parts, "-and-")
	if email && confirm {
		d += "-requested"
	}
	return d
}

const (
	selectContactIndexes = `SELECT phone_bidx, email_bidx FROM patients WHERE id = $1`
	updatePatientPhone   = `UPDATE patients SET phone_ct = $1, phone_bidx = $2 WHERE id = $3`
	updatePatientEmail   = `UPDATE patients SET email_ct = $1, email_bidx = $2 WHERE id = $3`
)

// UpdateContact changes the phone number and e-mail address on a patient's record. The door
// decides first (a patient, on their own record); then the input is checked; then the act is
// recorded and made. A phone number or e-mail address another account signs in with is
// refused, and the refusal recorded.
func (r *Records) UpdateContact(ctx context.Context, by access.Subject, patientID string, in Contact, o Origin) (ContactUpdate, error) {
	a := act(by, access.UpdateContact, "Patient", patientID, patientID, o)
	if err := r.door.Admit(ctx, a); err != nil {
		return ContactUpdate{}, err
	}
	phone, email := strings.TrimSpace(in.Phone), strings.TrimSpace(in.Email)
	var curPhone, curEmail []byte
	err := r.db.QueryRowContext(ctx, selectContactIndexes, patientID).Scan(&curPhone, &curEmail)
	if errors.Is(err, sql.ErrNoRows) {
		return ContactUpdate{}, ErrNotFound
	}
	if err != nil {
		return ContactUpdate{}, fmt.Errorf("clinical: contact: %w", err)
	}
	hadEmail, mailOn := len(curEmail) > 0, r.accounts.MailOn()
	if err := checkContact(phone, email, hadEmail, mailOn); err != nil {
		return ContactUpdate{}, err
	}
	phoneBidx, err := r.blindIndex(keys.IndexPhone, phone)
	if err != nil {
		return ContactUpdate{}, fault.InvalidField("phone", "enter a phone number with at least 5 digits")
	}
	emailBidx, err := r.blindIndex(keys.IndexEmail, email)
	if err != nil {
		return ContactUpdate{}, fault.InvalidField("email", "enter a valid e-mail address")
	}
	phoneChanged, emailChanged := !bytes.Equal(phoneBidx, curPhone), !bytes.Equal(emailBidx, curEmail)
	// Moving what the account signs in with, or where its notices and resets go, needs a
	// recent second factor from a patient who has one (as staff's e-mail change does), so a
	// stolen session cannot take the account over through a reset.
	if phoneChanged || emailChanged {
		if err := r.accounts.RequireStepUpIfFactor(ctx, by); err != nil {
			if fault.Is(err, fault.StepUpRequired) {
				if rerr := r.door.Record(ctx, guard.Event{By: by, Action: string(access.UpdateContact), Resource: a.Resource,
					Outcome: audit.Deny, Reason: guard.ReasonStepUpRequired, Origin: o}); rerr != nil {
					return ContactUpdate{}, rerr
				}
			}
			return ContactUpdate{}, err
		}
	}
	confirm := emailChanged && mailOn
	// The account signs in with the phone number while the record has no e-mail address.
	byPhone := !hadEmail && (!emailChanged || confirm)
	a.Detail = contactDetail(phoneChanged, emailChanged, confirm)
	var out ContactUpdate
	err = guard.Run(ctx, r.door, a, func(ctx context.Context) error {
		seal := func(field, v string) ([]byte, error) {
			return r.cipher.Seal(ctx, patientID, keys.Location{Table: "patients", Row: patientID, Field: field}, []byte(v))
		}
		phoneCT, err := seal("phone", phone)
		if err != nil {
			return err
		}
		emailCT, err := seal("email", email)
		if err != nil {
			return err
		}
		out = ContactUpdate{Contact: Contact{Phone: phone, Email: email}, EmailChange: identity.EmailUnchanged}
		// A new number changes the record's search tokens (tokens.go), in the same transaction.
		var tokens *SearchFields
		if phoneChanged {
			f, err := r.loadSearchFields(ctx, patientID)
			if err != nil {
				return err
			}
			f.Phone = phone
			tokens = &f
		}
		if confirm {
			if out.Email, err = r.contactEmail(ctx, patientID); err != nil {
				return err
			}
		}
		err = r.db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, updatePatientPhone, phoneCT, phoneBidx, patientID); err != nil {
				return fmt.Errorf("clinical: update phone: %w", err)
			}
			if tokens != nil {
				if err := r.writeSearchTokens(ctx, tx, patientID, *tokens); err != nil {
					return err
				}
			}
			if byPhone {
				if err := r.accounts.SetPatientPhone(ctx, tx, patientID, phone); err != nil {
					return err
				}
			}
			if confirm {
				return nil
			}
			// Unchanged, the address is written again as typed (its case, say).
			if _, err := tx.ExecContext(ctx, updatePatientEmail, emailCT, emailBidx, patientID); err != nil {
				return fmt.Errorf("clinical: update e-mail: %w", err)
			}
			if emailChanged {
				return r.accounts.SetPatientEmail(ctx, tx, patientID, email)
			}
			return nil
		})
		if err != nil {
			return r.contactRefused(ctx, by, patientID, err, o)
		}
		switch {
		case confirm:
			// The phone number is saved by now: if the link cannot be e-mailed, the answer
			// says so and the address alone is left unchanged.
			out.EmailChange = identity.EmailConfirmationSent
			return r.accounts.RequestPatientEmailChange(ctx, by, patientID, email, emailCT, out.Email, o)
		case emailChanged:
			out.EmailChange = identity.EmailChanged
		}
		return nil
	})
	if err != nil {
		return ContactUpdate{}, err
	}
	return out, nil
}

// checkContact validates an update of contact details; the error names the field, never the
// value. hadEmail: the record has an e-mail address now; mailOn: a new one waits for its
// confirmation, so the phone number stays the sign-in name meanwhile.
func checkContact(phone, email string, hadEmail, mailOn bool) error {
	if _, err := keys.Normalize(keys.IndexPhone, phone); err != nil || len(phone) > 40 {
		return fault.InvalidField("phone", "enter a phone number with at least 5 digits")
	}
	switch {
	case email == "" && hadEmail:
		return fault.InvalidField("email", "enter your e-mail address: you sign in with it, and Haven's security notices go to it")
	case email != "" && !validEmail(email):
		return fault.InvalidField("email", "enter a valid e-mail address")
	}
	if byPhone := !hadEmail && (email == "" || mailOn); byPhone {
		if _, ok := identity.SignInPhone(phone); !ok {
			return fault.InvalidField("phone", "you sign in with your phone number: enter it with its country code, for example +34 612 345 678")
		}
	}
	return nil
}

// contactRefused records why a change of contact details was not made, when another account
// signs in with the number or address asked for, and returns err.
func (r *Records) contactRefused(ctx context.Context, by access.Subject, patientID string, err error, o Origin) error {
	var reason string
	switch {
	case errors.Is(err, identity.ErrEmailTaken):
		reason = identity.ReasonAddressInUse
	case errors.Is(err, identity.ErrPhoneTaken):
		reason = identity.ReasonPhoneInUse
	default:
		return err
	}
	if rerr := r.door.Record(ctx, guard.Event{By: by, Action: string(access.UpdateContact),
		Resource: access.Resource{Type: "Patient", ID: patientID, PatientID: patientID},
		Outcome:  audit.Failure, Reason: reason, Origin: o}); rerr != nil {
		return rerr
	}
	return err
}

// ApplyConfirmedEmail writes a patient's new e-mail address onto their record once its
// confirmation link is opened (identity.Config.ApplyPatientEmail): the door records the act as
// the patient's, then take (identity) uses the link and moves the sign-in name in the same
// transaction that stores the address, already sealed for this record, and its blind index.
func (r *Records) ApplyConfirmedEmail(ctx context.Context, patient access.Subject, o Origin, take func(ctx context.Context, tx *sql.Tx) (bidx, sealed []byte, err error)) error {
	a := act(patient, access.UpdateContact, "Patient", patient.PatientID, patient.PatientID, o)
	a.Detail = detailEmailConfirmed
	return guard.Run(ctx, r.door, a, func(ctx context.Context) error {
		return r.db.InTx(ctx, func(tx *sql.Tx) error {
			bidx, sealed, err := take(ctx, tx)
			if err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, updatePatientEmail, sealed, bidx, patient.PatientID)
			if err != nil {
				return fmt.Errorf("clinical: confirm e-mail: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return ErrNotFound
			}
			return nil
		})
	})
}

// blindIndex is the blind index of a demographic field. An e-mail address is optional: a
// record without one holds an empty index, which no search matches.
func (r *Records) blindIndex(kind keys.IndexKind, value string) ([]byte, error) {
	if kind == keys.IndexEmail && value == "" {
		return []byte{}, nil
	}
	return r.cipher.BlindIndex(kind, value)
}
