package identity

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/keys"
)

// Password reset. A reset link sets a new password and nothing else: second factors stay, and
// the session it starts is at the stage a password sign-in would reach, so a reset never stands
// in for the second factor. It lifts the lock that 100 failed sign-ins put on an account (never
// an administrator's disable), and it ends every session the account had.

// ResetRequestedMessage is the one answer to a self-service reset request.
const ResetRequestedMessage = "If an account uses this address, a link to reset its password is on its way. It works once, for 30 minutes."

// ErrResetByMailOff answers a self-service request where Haven has no e-mail to send it with.
var ErrResetByMailOff = fault.New(fault.Conflict, "password reset by e-mail is not set up here; ask your clinic for a reset link")

const (
	selectAccountByPatient = accountColumns + `WHERE patient_id = $1`
	deleteUnusedResets     = `DELETE FROM password_resets WHERE account_id = $1 AND used_at IS NULL`
	insertReset            = `INSERT INTO password_resets (token_hash, account_id, issued_by, expires_at) VALUES ($1, $2, $3, $4)`
)

// ResetStaffPassword issues a reset link for a staff account, e-mailed to its owner or returned
// for the administrator to hand over. The door decides (access.IssueStaffReset, with step-up),
// and records the act before the link is made.
func (s *Service) ResetStaffPassword(ctx context.Context, by access.Subject, accountID string, o Origin) (Link, error) {
	if err := s.admit(ctx, by, access.IssueStaffReset, accountID, o); err != nil {
		return Link{}, err
	}
	acct, err := s.accountByID(ctx, accountID)
	if errors.Is(err, ErrNoSession) || (err == nil && acct.Role == access.Patient) {
		return Link{}, invalid("no staff account has this identifier")
	}
	if err != nil {
		return Link{}, err
	}
	if acct.ID == by.AccountID {
		return Link{}, invalid("change your own password from Security and sessions")
	}
	var link Link
	err = s.act(ctx, by, access.IssueStaffReset, acct.ID, "", o, func(ctx context.Context) (err error) {
		link, err = s.issueReset(ctx, by, acct, acct.Email, o)
		return err
	})
	return link, err
}

// ResetPatientPassword issues a reset link for the account of a patient, e-mailed to the address
// on the patient's record (to) or returned for the clinician to hand over. The caller has
// decided that by may read the record.
func (s *Service) ResetPatientPassword(ctx context.Context, by access.Subject, patientID, to string, o Origin) (Link, error) {
	acct, err := s.scanAccount(s.db.QueryRowContext(ctx, selectAccountByPatient, patientID))
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, invalid("this patient has no account")
	}
	if err != nil {
		return Link{}, fmt.Errorf("identity: load patient account: %w", err)
	}
	return s.issueReset(ctx, by, acct, to, o)
}

// issueReset replaces any unused reset link of acct with a new one and delivers it.
func (s *Service) issueReset(ctx context.Context, by access.Subject, acct *account, to string, o Origin) (Link, error) {
	if acct.Status == StatusDisabled {
		return Link{}, invalid("this account is disabled")
	}
	token, hash := newToken()
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, deleteUnusedResets, acct.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, insertReset, hash, acct.ID, by.AccountID, s.now().Add(s.cfg.ResetLifetime).UnixNano())
		return err
	})
	if err != nil {
		return Link{}, fmt.Errorf("identity: issue reset: %w", err)
	}
	link, reason := s.deliver(ctx, resetLink, to, token, s.cfg.ResetLifetime)
	// How the link left (e-mailed, or shown to the issuer) is an event of its own; the decision
	// to issue it was recorded by the door.
	if err := s.record(ctx, by, "account.reset-link", acct.ID, audit.Success, reason, o); err != nil {
		return Link{}, err
	}
	return link, nil
}

// RequestPasswordReset is the self-service "forgot password": a reset link goes to the address
// typed, if an account uses it. The answer is the same either way and comes before any lookup
// (the work happens in the background), so neither its content nor its timing says whether the
// account exists. Without e-mail it is refused: a link shown to whoever asked would hand the
// account to anyone who knows the address.
func (s *Service) RequestPasswordReset(ctx context.Context, email string, o Origin) error {
	if s.cfg.Mail == nil {
		return ErrResetByMailOff
	}
	if !ValidEmail(email) {
		return invalid("enter a valid e-mail address")
	}
	if wait := s.throttle.take("addr:"+o.Addr, s.now()); wait > 0 {
		if err := s.record(ctx, access.Subject{}, "account.reset-request", "", audit.Failure, reasonThrottled, o); err != nil {
			return err
		}
		return throttled(wait)
	}
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := s.sendSelfServiceReset(ctx, email, o); err != nil && s.cfg.Log != nil {
			// The error names no address: identity errors carry identifiers only.
			s.cfg.Log.ErrorContext(ctx, "self-service password reset failed", "request_id", o.RequestID, "err", err)
		}
	}()
	return nil
}

func (s *Service) sendSelfServiceReset(ctx context.Context, email string, o Origin) error {
	bidx, err := s.dir.BlindIndex(keys.IndexEmail, email)
	if err != nil {
		return fmt.Errorf("identity: reset request: blind index: %w", err)
	}
	attempted := "bidx:" + hex.EncodeToString(bidx[:8])
	if s.resetMail.take(attempted, s.now()) > 0 {
		return s.record(ctx, access.Subject{}, "account.reset-request", attempted, audit.Failure, reasonThrottled, o)
	}
	acct, err := s.scanAccount(s.db.QueryRowContext(ctx, selectAccountByEmail, bidx))
	if errors.Is(err, sql.ErrNoRows) {
		return s.record(ctx, access.Subject{}, "account.reset-request", attempted, audit.Failure, reasonUnknown, o)
	}
	if err != nil {
		return fmt.Errorf("identity: reset request: %w", err)
	}
	self := access.Subject{AccountID: acct.ID, Role: acct.Role, PatientID: acct.PatientID}
	if acct.Status == StatusDisabled {
		return s.record(ctx, self, "account.reset-request", acct.ID, audit.Failure, reasonNotActive, o)
	}
	// The typed address matched the account's blind index, so it is the account's own.
	link, err := s.issueReset(ctx, self, acct, email, o)
	if err != nil {
		return err
	}
	if !link.Emailed {
		// Never shown to anyone: whoever asked may not be the owner.
		return fmt.Errorf("identity: reset request for account %s: e-mail not sent", acct.ID)
	}
	return nil
}

// ResetValid reports whether a reset link can still be used.
func (s *Service) ResetValid(ctx context.Context, token string) bool {
	_, err := s.linkAccount(ctx, s.db, resets, token)
	return err == nil
}

// ResetPassword sets a new password from a reset link, marks the link used, ends the account's
// sessions, lifts a failure lock and starts a session at the stage a sign-in with the new
// password reaches: the second factor, for an account that has one.
func (s *Service) ResetPassword(ctx context.Context, token, pw string, o Origin) (string, Stage, error) {
	hash, err := s.linkPasswordHash(ctx, resets, token, pw, o)
	if err != nil {
		return "", "", err
	}
	var id string
	var bidx []byte
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if id, err = s.useLink(ctx, tx, resets, token); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `UPDATE accounts SET password_hash = $1, status = $2, failed_logins = 0
			WHERE id = $3 AND status <> $4 RETURNING COALESCE(phone_bidx, email_bidx)`, hash, StatusActive, id, StatusDisabled).Scan(&bidx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, deleteUnusedResets, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, deleteSessionsOf, id)
		return err
	})
	if errors.Is(err, ErrInviteInvalid) || errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrInviteInvalid
	}
	if err != nil {
		return "", "", fmt.Errorf("identity: reset password: %w", err)
	}
	s.backoff.succeed("bidx:" + hex.EncodeToString(bidx[:8]))
	acct, err := s.accountByID(ctx, id)
	if err != nil {
		return "", "", err
	}
	stage, err := s.stageAfterPassword(ctx, acct, pw)
	if err != nil {
		return "", "", err
	}
	if err := s.record(ctx, access.Subject{AccountID: id, Role: acct.Role, PatientID: acct.PatientID}, "account.reset", id, audit.Success, string(stage), o); err != nil {
		return "", "", err
	}
	s.notify(ctx, acct, noticeReset, "", o)
	sessionToken, err := s.signIn(ctx, id, stage, o)
	if err != nil {
		return "", "", err
	}
	return sessionToken, stage, nil
}

// Wait blocks until background work (self-service reset e-mails, security notices, failed
// sign-ins being counted) has finished.
func (s *Service) Wait() { s.background.Wait() }
