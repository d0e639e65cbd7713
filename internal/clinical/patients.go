package clinical

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"haven/internal/ids"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/identity"
	"haven/internal/keys"
	"haven/internal/store"
)

// NewPatient is what a clinician enters to register a patient.
type NewPatient struct {
	Name      string `json:"name"`
	BirthDate string `json:"birthDate"`
	Phone     string `json:"phone"`
	Email     string `json:"email"`
	// ConfirmDuplicate registers the patient even when a record with the same name and birth
	// date exists (duplicates.go); without it such a registration is refused as a conflict.
	ConfirmDuplicate bool `json:"confirmDuplicate,omitempty"`
}

// Validate checks a registration; the error names the field, never the value.
func (p NewPatient) Validate(now time.Time) error {
	name := strings.TrimSpace(p.Name)
	if name == "" || utf8.RuneCountInString(name) > 200 || !utf8.ValidString(name) {
		return fault.InvalidField("name", "enter the patient's full name (at most 200 characters)")
	}
	d, err := time.Parse(time.DateOnly, strings.TrimSpace(p.BirthDate))
	if err != nil || d.After(now) || d.Year() < 1880 {
		return fault.InvalidField("birthDate", "enter a birth date as YYYY-MM-DD, not in the future")
	}
	if _, err := keys.Normalize(keys.IndexPhone, p.Phone); err != nil || len(p.Phone) > 40 {
		return fault.InvalidField("phone", "enter a phone number with at least 5 digits")
	}
	if e := strings.TrimSpace(p.Email); e == "" {
		// Without an e-mail address the patient signs in with this number (contact.go).
		if _, ok := identity.SignInPhone(p.Phone); !ok {
			return fault.InvalidField("phone", "with no e-mail address the patient signs in with their phone number: enter it with its country code, for example +34 612 345 678")
		}
	} else if !validEmail(e) {
		return fault.InvalidField("email", "enter a valid e-mail address, or none for a patient who has none")
	}
	return nil
}

func validEmail(e string) bool {
	local, domain, ok := strings.Cut(e, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(e, " \t\r\n<>") && len(e) <= 254
}

// phiFields lists the sealed demographic fields with their blind-index kinds, in column order.
var phiFields = []struct {
	field string
	kind  keys.IndexKind
	value func(NewPatient) string
}{
	{"name", keys.IndexName, func(p NewPatient) string { return strings.TrimSpace(p.Name) }},
	{"birth_date", keys.IndexBirthDate, func(p NewPatient) string { return strings.TrimSpace(p.BirthDate) }},
	{"phone", keys.IndexPhone, func(p NewPatient) string { return strings.TrimSpace(p.Phone) }},
	{"email", keys.IndexEmail, func(p NewPatient) string { return strings.TrimSpace(p.Email) }},
}

const (
	insertPatient = `INSERT INTO patients (id, name_ct, birth_date_ct, phone_ct, email_ct,
		name_bidx, birth_date_bidx, phone_bidx, email_bidx, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`
	insertCareTeam = `INSERT INTO care_team (patient_id, clinician_id, relation, created_at) VALUES ($1, $2, $3, $4)`
	selectPatient  = `SELECT id, name_ct, birth_date_ct, phone_ct, email_ct, created_at FROM patients WHERE id = $1`
	deleteCareTeam = `DELETE FROM care_team WHERE patient_id = $1 AND clinician_id = $2`
	inCareTeam     = `SELECT COUNT(*) FROM care_team WHERE clinician_id = $1 AND patient_id = $2`
	selectMine     = `SELECT patient_id FROM care_team WHERE clinician_id = $1 ORDER BY created_at`
	// inCareTeamIn is completed with a store.InList of patient identifiers from $2.
	inCareTeamIn = `SELECT patient_id FROM care_team WHERE clinician_id = $1 AND patient_id IN `
)

// Registration is the result of registering a patient: the record's identifier and the
// single-use link for the patient to activate their account: e-mailed to them, or to be shown
// once to the registering clinician when Haven has no e-mail or the patient no address.
type Registration struct {
	PatientID string
	Invite    identity.Link
}

// Register creates a patient record under a new per-patient key, puts the registering clinician
// (not the front desk) in the care team, and creates the patient's (invited) account.
func (r *Records) Register(ctx context.Context, by access.Subject, in NewPatient, o Origin) (Registration, error) {
	id := ids.New()
	// Nothing is decided about a patient who does not exist yet: the door checks the role, and
	// the entry names the new record only once the input is valid.
	if err := r.door.Admit(ctx, act(by, access.RegisterPatient, "Patient", "", "", o)); err != nil {
		return Registration{}, err
	}
	if err := in.Validate(r.now()); err != nil {
		return Registration{}, err
	}
	if !in.ConfirmDuplicate {
		if err := r.checkDuplicate(ctx, by, in, o); err != nil {
			return Registration{}, err
		}
	}
	return guard.Do(ctx, r.door, act(by, access.RegisterPatient, "Patient", id, id, o), func(ctx context.Context) (Registration, error) {
		return r.register(ctx, by, id, in, o)
	})
}

func (r *Records) register(ctx context.Context, by access.Subject, id string, in NewPatient, o Origin) (Registration, error) {
	var accountID, token string
	err := r.db.InTx(ctx, func(tx *sql.Tx) error {
		sealer, err := r.cipher.CreatePatientKey(ctx, tx, id)
		if err != nil {
			return err
		}
		sealed := []any{id}
		var bidx []any
		for _, f := range phiFields {
			ct, err := sealer.Seal(keys.Location{Table: "patients", Row: id, Field: f.field}, []byte(f.value(in)))
			if err != nil {
				return err
			}
			b, err := r.blindIndex(f.kind, f.value(in))
			if err != nil {
				return fault.InvalidField(f.field, "cannot be indexed")
			}
			sealed = append(sealed, ct)
			bidx = append(bidx, b)
		}
		now := r.now().UnixNano()
		args := append(append(sealed, bidx...), by.AccountID, now)
		if _, err := tx.ExecContext(ctx, insertPatient, args...); err != nil {
			return fmt.Errorf("clinical: insert patient: %w", err)
		}
		if err := r.writeSearchTokens(ctx, tx, id, searchFieldsOf(in)); err != nil {
			return err
		}
		// A registering clinician cares for the patient; the front desk registers for the
		// clinic and cares for no one (its grant is names, contact details and the schedule).
		if by.Role == access.Clinician {
			if _, err := tx.ExecContext(ctx, insertCareTeam, id, by.AccountID, "registered-by", now); err != nil {
				return fmt.Errorf("clinical: assign registering clinician: %w", err)
			}
		}
		accountID, token, err = r.accounts.CreatePatientAccount(ctx, tx, by, id, strings.TrimSpace(in.Email), strings.TrimSpace(in.Phone))
		return err
	})
	if err != nil {
		return Registration{}, err
	}
	// The link leaves only once the account exists: after the commit.
	link, err := r.accounts.DeliverInvite(ctx, by, accountID, strings.TrimSpace(in.Email), token, o)
	if err != nil {
		return Registration{}, err
	}
	return Registration{PatientID: id, Invite: link}, nil
}

// Get returns a patient's record: demographics and notes. The audit entry commits while the
// record is read and opened; nothing is returned until both are done.
func (r *Records) Get(ctx context.Context, by access.Subject, patientID string, o Origin) (Record, error) {
	return guard.Do(ctx, r.door, act(by, access.ReadRecord, "Patient", patientID, patientID, o), func(ctx context.Context) (Record, error) {
		p, err := r.loadPatient(ctx, patientID)
		if err != nil {
			return Record{}, err
		}
		notes, err := r.loadNotes(ctx, patientID)
		if err != nil {
			return Record{}, err
		}
		return Record{Patient: p, Notes: notes}, nil
	})
}

// Demographics returns a patient's name, birth date, phone number and e-mail address, and
// nothing of their clinical content (patient.demographics-read): what the front desk needs to
// book and reach a patient (minimum necessary). The patient reads their own, a clinician those
// of the patients in their care.
func (r *Records) Demographics(ctx context.Context, by access.Subject, patientID string, o Origin) (Patient, error) {
	return guard.Do(ctx, r.door, act(by, access.ReadDemographics, "Patient", patientID, patientID, o), func(ctx context.Context) (Patient, error) {
		return r.loadPatient(ctx, patientID)
	})
}

func (r *Records) loadPatient(ctx context.Context, id string) (Patient, error) {
	var p Patient
	var ct [4][]byte
	var created int64
	err := r.db.QueryRowPrepared(ctx, selectPatient, id).Scan(&p.ID, &ct[0], &ct[1], &ct[2], &ct[3], &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Patient{}, ErrNotFound
	}
	if err != nil {
		return Patient{}, fmt.Errorf("clinical: load patient: %w", err)
	}
	out := [4]*string{&p.Name, &p.BirthDate, &p.Phone, &p.Email}
	for i, f := range phiFields {
		pt, err := r.cipher.Open(ctx, id, keys.Location{Table: "patients", Row: id, Field: f.field}, ct[i])
		if err != nil {
			return Patient{}, r.unreadable(ctx, id, fmt.Errorf("clinical: open patient %s: %w", f.field, err))
		}
		*out[i] = string(pt)
	}
	p.PatientID = p.ID
	p.CreatedAt = time.Unix(0, created).UTC()
	return p, nil
}

// CareTeam answers the policy's care-team questions from the store (access.Relationships):
// an assignment gives the reason access.ReasonAssigned.
type CareTeam struct{ DB *store.DB }

// CareRelation reports access.ReasonAssigned if the clinician is in the patient's care team.
func (c CareTeam) CareRelation(ctx context.Context, clinicianID, patientID string) (string, error) {
	var n int
	if err := c.DB.QueryRowPrepared(ctx, inCareTeam, clinicianID, patientID).Scan(&n); err != nil {
		return "", fmt.Errorf("clinical: care team: %w", err)
	}
	if n > 0 {
		return access.ReasonAssigned, nil
	}
	return "", nil
}

// CareRelationMany maps each of patientIDs whose care team includes the clinician to
// access.ReasonAssigned (access.CareRelations), in one query per store.MaxInList identifiers.
func (c CareTeam) CareRelationMany(ctx context.Context, clinicianID string, patientIDs []string) (map[string]string, error) {
	uniq := slices.Clone(patientIDs)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	in := make(map[string]string, len(uniq))
	for chunk := range slices.Chunk(uniq, store.MaxInList) {
		list, args := store.InList(2, chunk)
		if err := c.inCareTeam(ctx, inCareTeamIn+list, append([]any{clinicianID}, args...), in); err != nil {
			return nil, fmt.Errorf("clinical: care team: %w", err)
		}
	}
	return in, nil
}

func (c CareTeam) inCareTeam(ctx context.Context, query string, args []any, in map[string]string) error {
	rows, err := c.DB.QueryPrepared(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		in[id] = access.ReasonAssigned
	}
	return rows.Err()
}

// SendSignInLink issues a password-reset link for a patient's account, for a patient who cannot
// sign in: e-mailed to the address on their record, or returned for the clinician to hand over
// when Haven has no e-mail. Only a clinician in the patient's care team may, after a step-up.
func (r *Records) SendSignInLink(ctx context.Context, by access.Subject, patientID string, o Origin) (identity.Link, error) {
	return guard.Do(ctx, r.door, act(by, access.SendSignInLink, "Patient", patientID, patientID, o), func(ctx context.Context) (identity.Link, error) {
		to, err := r.contactEmail(ctx, patientID)
		if err != nil {
			return identity.Link{}, err
		}
		return r.accounts.ResetPatientPassword(ctx, by, patientID, to, o)
	})
}

// ContactEmail returns the e-mail address on a patient's record, and opens no other field
// (minimum necessary), for Haven itself to reach the patient (a security notice) or to check a
// new password against it. It passes the door as Haven with the patient-administration
// purpose, so the patient's access log shows it; why names the occasion (identifiers only).
func (r *Records) ContactEmail(ctx context.Context, patientID, why string, o Origin) (string, error) {
	a := act(access.SystemSubject(), access.ReachPatient, "Patient", patientID, patientID, o)
	a.Detail = why
	return guard.Do(ctx, r.door, a, func(ctx context.Context) (string, error) { return r.contactEmail(ctx, patientID) })
}

func (r *Records) contactEmail(ctx context.Context, patientID string) (string, error) {
	var ct []byte
	err := r.db.QueryRowContext(ctx, `SELECT email_ct FROM patients WHERE id = $1`, patientID).Scan(&ct)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("clinical: load patient e-mail: %w", err)
	}
	pt, err := r.cipher.Open(ctx, patientID, keys.Location{Table: "patients", Row: patientID, Field: "email"}, ct)
	if err != nil {
		return "", r.unreadable(ctx, patientID, fmt.Errorf("clinical: open patient email: %w", err))
	}
	return string(pt), nil
}

// unreadable reports a record whose ciphertext did not open: an integrity alert for the
// privacy officer, and ErrUnreadable for this record alone.
//
// A patient whose keyset was destroyed by an approved erasure (keys.ErrNoKey) is no integrity
// failure: the answer is ErrErased, which still counts as unreadable for lists, and no alert.
func (r *Records) unreadable(ctx context.Context, patientID string, err error) error {
	if errors.Is(err, keys.ErrNoKey) {
		return fault.Wrap(fault.Gone, ErrErased.Message, errors.Join(ErrErased, ErrUnreadable, err))
	}
	if r.alarm != nil {
		r.alarm.Unreadable(ctx, patientID, err)
	}
	return fault.Wrap(fault.Unavailable, ErrUnreadable.Message, errors.Join(ErrUnreadable, err))
}
