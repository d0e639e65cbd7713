package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/keys"
	"haven/internal/store"
)

// E-mail change. A staff member's e-mail address is how they sign in, how their reset links
// and security notices reach them and, with single sign-on, how the organisation's provider
// finds their account; changing it is a sensitive act that needs a recent step-up. With e-mail
// configured, the change waits until a single-use link sent to the new address is opened (the
// address is proven, and a typo cannot lock anyone out), and the old address hears about the
// request and the change. Without e-mail it takes effect at once.
//
// A patient's address lives on their record (package clinical), where the patient changes it
// with their phone number; the record asks identity for the same confirmation
// (RequestPatientEmailChange), the new address sealed under the patient's own key, and the
// confirmed address is written back onto the record through Config.ApplyPatientEmail.
//
// With e-mail, whether another account uses the new address is checked only when the link is
// opened, by whoever controls that mailbox: a staff member cannot use the change to learn
// whether some address belongs to a patient here. Without e-mail the answer is immediate, so
// each refusal is audited (address-in-use) and probing shows in the trail.

// EmailChange says what ChangeEmail did.
type EmailChange string

const (
	EmailChanged          EmailChange = "changed"           // the account uses the new address now
	EmailConfirmationSent EmailChange = "confirmation-sent" // a link went to the new address
	EmailUnchanged        EmailChange = "unchanged"         // the address asked for is the one in use
)

// ErrEmailLinkNotSent means the confirmation link could not be e-mailed; nothing changed.
var ErrEmailLinkNotSent = fault.New(fault.Unavailable, "the confirmation e-mail could not be sent; check the address and try again later")

// ReasonAddressInUse is the audit reason when another account already uses the address.
const ReasonAddressInUse = "address-in-use"

var emailChanges = singleUse{"email_changes", func(st string) bool { return st == StatusActive }}

var emailLink = linkKind{"/email/confirm", "Confirm your new Haven e-mail address",
	"Someone signed in to a Haven account asked to use this address to sign in.\n\n" +
		"Open this link to confirm it. It works once, for %s:\n\n%s\n\n" +
		"If you did not ask for this, ignore this message: nothing changes."}

// ChangeEmail moves the caller's account to another e-mail address, at once without e-mail or
// once the link sent there is opened (ConfirmEmailChange). It needs a recent step-up.
func (s *Service) ChangeEmail(ctx context.Context, sess *Session, email string, o Origin) (EmailChange, error) {
	if sess.Subject.Role == access.Patient {
		return "", invalid("your e-mail address is on your record: change it with your contact details")
	}
	if err := s.admit(ctx, sess.Subject, access.ChangeEmail, sess.Subject.AccountID, o); err != nil {
		return "", err
	}
	email = strings.TrimSpace(email)
	if !ValidEmail(email) {
		return "", invalid("enter a valid e-mail address")
	}
	acct, err := s.accountByID(ctx, sess.Subject.AccountID)
	if err != nil {
		return "", err
	}
	if strings.EqualFold(email, acct.Email) {
		return "", invalid("this is already your address")
	}
	bidx, err := s.dir.BlindIndex(keys.IndexEmail, email)
	if err != nil {
		return "", invalid("enter a valid e-mail address")
	}
	sealed, err := s.dir.SealDirectory(keys.Location{Table: "accounts", Row: acct.ID, Field: "email"}, []byte(email))
	if err != nil {
		return "", err
	}
	if s.cfg.Mail == nil {
		if err := s.setEmail(ctx, s.db, acct.ID, bidx, sealed); err != nil {
			if errors.Is(err, ErrEmailTaken) {
				if rerr := s.record(ctx, sess.Subject, "account.email-change", acct.ID, audit.Failure, ReasonAddressInUse, o); rerr != nil {
					return "", rerr
				}
			}
			return "", err
		}
		if err := s.record(ctx, sess.Subject, "account.email-change", acct.ID, audit.Success, "applied", o); err != nil {
			return "", err
		}
		return EmailChanged, nil
	}
	if err := s.requestEmailChange(ctx, sess.Subject, acct, email, bidx, sealed, acct.Email, o); err != nil {
		return "", err
	}
	return EmailConfirmationSent, nil
}

// requestEmailChange stores a pending move of acct to the address email (its blind index and
// its sealed form beside it), e-mails the single-use link to that address, and tells the old
// address, if there is one, of the request.
func (s *Service) requestEmailChange(ctx context.Context, by access.Subject, acct *account, email string, bidx, sealed []byte, old string, o Origin) error {
	token, hash := newToken()
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM email_changes WHERE account_id = $1 AND used_at IS NULL`, acct.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO email_changes (token_hash, account_id, new_email_bidx, new_email_ct, expires_at)
			VALUES ($1, $2, $3, $4, $5)`, hash, acct.ID, bidx, sealed, s.now().Add(s.cfg.ResetLifetime).UnixNano())
		return err
	})
	if err != nil {
		return fmt.Errorf("identity: e-mail change: %w", err)
	}
	// The link goes to the new address or nowhere: shown to the requester, it would prove nothing.
	if link, _ := s.deliver(ctx, emailLink, email, token, s.cfg.ResetLifetime); !link.Emailed {
		if _, err := s.db.ExecContext(ctx, `DELETE FROM email_changes WHERE token_hash = $1`, hash); err != nil {
			return fmt.Errorf("identity: e-mail change: %w", err)
		}
		if err := s.record(ctx, by, "account.email-change-request", acct.ID, audit.Failure, reasonMailFailed, o); err != nil {
			return err
		}
		return ErrEmailLinkNotSent
	}
	if err := s.record(ctx, by, "account.email-change-request", acct.ID, audit.Success, reasonEmailed, o); err != nil {
		return err
	}
	if old != "" {
		s.notify(ctx, acct, noticeEmailAsked, old, o)
	}
	return nil
}

// RequestPatientEmailChange asks for the confirmation of a patient's new e-mail address, for
// the record (package clinical), which has decided the change: sealed is the address sealed
// under the patient's key where it will be on the record, and old the address the record holds
// now ("" if none), which is told of the request. It needs e-mail (MailOn); without it the
// record changes at once, with SetPatientEmail. Whether another account uses the address is
// decided when the link is opened, as for staff.
func (s *Service) RequestPatientEmailChange(ctx context.Context, by access.Subject, patientID, email string, sealed []byte, old string, o Origin) error {
	if s.cfg.Mail == nil {
		return errors.New("identity: e-mail change: no e-mail to confirm it with")
	}
	acct, err := s.scanAccount(s.db.QueryRowContext(ctx, selectAccountByPatient, patientID))
	if errors.Is(err, sql.ErrNoRows) {
		return invalid("this patient has no account")
	}
	if err != nil {
		return fmt.Errorf("identity: e-mail change: %w", err)
	}
	if !ValidEmail(email) {
		return invalid("enter a valid e-mail address")
	}
	bidx, err := s.dir.BlindIndex(keys.IndexEmail, email)
	if err != nil {
		return invalid("enter a valid e-mail address")
	}
	return s.requestEmailChange(ctx, by, acct, email, bidx, sealed, old, o)
}

// EmailChangeValid reports whether an e-mail confirmation link can still be used.
func (s *Service) EmailChangeValid(ctx context.Context, token string) bool {
	_, err := s.linkAccount(ctx, s.db, emailChanges, token)
	return err == nil
}

// ConfirmEmailChange moves an account to the address a confirmation link was sent to, marks the
// link used and tells the old address. Opening the link proves the new address; the step-up was
// asked when the change was requested, so no session is needed here.
func (s *Service) ConfirmEmailChange(ctx context.Context, token string, o Origin) error {
	id, err := s.linkAccount(ctx, s.db, emailChanges, token)
	if err != nil {
		return err
	}
	acct, err := s.accountByID(ctx, id)
	if err != nil {
		return err
	}
	self := access.Subject{AccountID: acct.ID, Role: acct.Role, PatientID: acct.PatientID}
	old := acct.Email
	if acct.Role == access.Patient {
		old, err = s.confirmPatientEmail(ctx, self, acct, token, o)
	} else {
		err = s.db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := s.useLink(ctx, tx, emailChanges, token); err != nil {
				return err
			}
			var bidx, sealed []byte
			if err := tx.QueryRowContext(ctx, `SELECT new_email_bidx, new_email_ct FROM email_changes WHERE token_hash = $1`,
				hashToken(token)).Scan(&bidx, &sealed); err != nil {
				return err
			}
			return s.setEmail(ctx, tx, acct.ID, bidx, sealed)
		})
	}
	if errors.Is(err, ErrEmailTaken) {
		// The link stays usable; the address cannot be, while another account holds it.
		if rerr := s.record(ctx, self, "account.email-change", acct.ID, audit.Failure, ReasonAddressInUse, o); rerr != nil {
			return rerr
		}
		return err
	}
	if errors.Is(err, ErrInviteInvalid) || errors.Is(err, guard.ErrUnrecorded) {
		return err
	}
	if err != nil {
		return fmt.Errorf("identity: confirm e-mail change: %w", err)
	}
	if err := s.record(ctx, self, "account.email-change", acct.ID, audit.Success, "confirmed", o); err != nil {
		return err
	}
	if old != "" {
		s.notify(ctx, acct, noticeEmailChanged, old, o)
	}
	return nil
}

// confirmPatientEmail moves a patient's record and sign-in name to the address a confirmation
// link was sent to, through the record (Config.ApplyPatientEmail), which passes the door as the
// patient and writes the record in the transaction that uses the link. It returns the address
// the record held before, to be told of the change ("" if none). An address another account
// uses is refused before the record is touched (and by the unique index, if one races it).
func (s *Service) confirmPatientEmail(ctx context.Context, self access.Subject, acct *account, token string, o Origin) (string, error) {
	if s.cfg.ApplyPatientEmail == nil {
		return "", errors.New("identity: no way to change a patient's record")
	}
	var bidx []byte
	if err := s.db.QueryRowContext(ctx, `SELECT new_email_bidx FROM email_changes WHERE token_hash = $1`, hashToken(token)).Scan(&bidx); err != nil {
		return "", err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts WHERE email_bidx = $1 AND id <> $2`, bidx, acct.ID).Scan(&n); err != nil {
		return "", err
	}
	if n > 0 {
		return "", ErrEmailTaken
	}
	var old string
	if acct.phoneBidx == nil {
		var err error
		if old, err = s.ownerAddress(ctx, acct, o); err != nil {
			return "", err
		}
	}
	err := s.cfg.ApplyPatientEmail(ctx, self, o, func(ctx context.Context, tx *sql.Tx) ([]byte, []byte, error) {
		if _, err := s.useLink(ctx, tx, emailChanges, token); err != nil {
			return nil, nil, err
		}
		var bidx, sealed []byte
		if err := tx.QueryRowContext(ctx, `SELECT new_email_bidx, new_email_ct FROM email_changes WHERE token_hash = $1`,
			hashToken(token)).Scan(&bidx, &sealed); err != nil {
			return nil, nil, err
		}
		if err := s.setPatientSignIn(ctx, tx, acct.PatientID, bidx); err != nil {
			return nil, nil, err
		}
		return bidx, sealed, nil
	})
	return old, err
}

// setEmail stores an account's new address and blind index through q. An address another
// account took in the meantime is refused by the unique index.
func (s *Service) setEmail(ctx context.Context, q store.Execer, accountID string, bidx, sealed []byte) error {
	_, err := q.ExecContext(ctx, `UPDATE accounts SET email_bidx = $1, email_ct = $2 WHERE id = $3`, bidx, sealed, accountID)
	if store.IsUniqueViolation(err) {
		return ErrEmailTaken
	}
	if err != nil {
		return fmt.Errorf("identity: set e-mail: %w", err)
	}
	return nil
}
