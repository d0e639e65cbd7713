package identity

import (
	"context"
	"database/sql"
	"fmt"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/identity/password"
)

// Second factors an account holds, and the one rule about removing them: an account keeps a
// second factor its role's policy accepts. Both removals (RemovePasskey, RemoveTOTP) ask
// factorCount.canRemove; nothing else decides it.

// Factor errors. Their text is safe to show.
var (
	ErrLastFactor      = fault.New(fault.Conflict, "this is your only second factor: add another before removing it")
	ErrPasskeyRequired = fault.New(fault.Forbidden, "your organisation requires a passkey for staff sign-in")
)

// Kinds of second factor that can be removed.
const (
	factorPasskey = "passkey"
	factorTOTP    = "totp"
)

// factorCount is what an account has: an authenticator app, how many passkeys, and whether its
// role's policy accepts only passkeys (then TOTP and recovery codes do not count). Recovery codes
// are a fallback for a lost factor, not one to keep: they never count.
type factorCount struct {
	TOTP            bool
	Passkeys        int
	PasskeyRequired bool
}

// usable reports whether the account holds a second factor its policy accepts.
func (c factorCount) usable() bool { return c.Passkeys > 0 || (c.TOTP && !c.PasskeyRequired) }

// any reports whether the account holds any second factor at all, accepted or not.
func (c factorCount) any() bool { return c.Passkeys > 0 || c.TOTP }

// canRemove refuses (ErrLastFactor) to remove one factor of kind when what would be left is no
// second factor the policy accepts.
func (c factorCount) canRemove(kind string) error {
	switch kind {
	case factorPasskey:
		c.Passkeys--
	case factorTOTP:
		c.TOTP = false
	default:
		return fmt.Errorf("identity: unknown factor %q", kind)
	}
	if !c.usable() {
		return ErrLastFactor
	}
	return nil
}

// FactorPolicy is what a role's sign-in asks for after the password, for pages that explain it
// before a person chooses a password or a factor.
type FactorPolicy struct {
	// PasskeyOnly means only a passkey counts as a second factor (staff, where the organisation
	// requires passkeys): authenticator apps and recovery codes are refused.
	PasskeyOnly bool
	// PasswordAlone is the length, in characters, from which a password signs in on its own,
	// without a second factor (patients, where the organisation allows it); 0 when none does.
	PasswordAlone int
}

// FactorPolicy returns the organisation's policy for role. Sign-in decides by the same rule
// (stageWithoutFactor), so what a page says is what happens.
func (s *Service) FactorPolicy(r access.Role) FactorPolicy {
	p := FactorPolicy{PasskeyOnly: s.passkeyRequired(r)}
	if r == access.Patient && !s.cfg.RequirePatientMFA {
		p.PasswordAlone = password.MinLengthAlone
	}
	return p
}

// passkeyRequired reports whether the organisation's policy makes a passkey the only second
// factor for role.
func (s *Service) passkeyRequired(r access.Role) bool {
	return s.cfg.RequireWorkforcePasskey && r != access.Patient
}

// factorsOf counts acct's factors.
func (s *Service) factorsOf(ctx context.Context, acct *account) (factorCount, error) {
	n, err := s.passkeyCount(ctx, acct.ID)
	if err != nil {
		return factorCount{}, err
	}
	return factorCount{TOTP: acct.HasTOTP, Passkeys: n, PasskeyRequired: s.passkeyRequired(acct.Role)}, nil
}

// RemovePasskey deletes one of the caller's passkeys. Removing a factor needs a recent step-up,
// and the last second factor cannot be removed.
func (s *Service) RemovePasskey(ctx context.Context, sess *Session, id string, o Origin) error {
	if err := s.admit(ctx, sess.Subject, access.RemovePasskey, sess.Subject.AccountID, o); err != nil {
		return err
	}
	err := s.removeFactor(ctx, sess, factorPasskey, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, deletePasskey, id, sess.Subject.AccountID)
		if err != nil {
			return fmt.Errorf("identity: remove passkey: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrPasskeyNotFound
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.record(ctx, sess.Subject, "auth.passkey-remove", sess.Subject.AccountID, audit.Success, "", o); err != nil {
		return err
	}
	return s.notifyAccount(ctx, sess.Subject.AccountID, noticePasskeyGone, o)
}

// RemoveTOTP removes the caller's authenticator app. It needs a recent step-up and another
// second factor (a passkey) to remain.
func (s *Service) RemoveTOTP(ctx context.Context, sess *Session, o Origin) error {
	if err := s.admit(ctx, sess.Subject, access.RemoveTOTP, sess.Subject.AccountID, o); err != nil {
		return err
	}
	err := s.removeFactor(ctx, sess, factorTOTP, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_secret_ct = NULL WHERE id = $1`, sess.Subject.AccountID); err != nil {
			return fmt.Errorf("identity: remove totp: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.record(ctx, sess.Subject, "auth.totp-remove", sess.Subject.AccountID, audit.Success, "", o); err != nil {
		return err
	}
	return s.notifyAccount(ctx, sess.Subject.AccountID, noticeTOTPRemoved, o)
}

// removeFactor runs remove in a transaction holding the account's row lock, if the factors the
// account has at that moment let one of kind go: two removals at once queue, so neither can
// leave the other's factor as the last and then remove it too.
func (s *Service) removeFactor(ctx context.Context, sess *Session, kind string, remove func(tx *sql.Tx) error) error {
	accountID := sess.Subject.AccountID
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET failed_logins = failed_logins WHERE id = $1`, accountID); err != nil {
			return fmt.Errorf("identity: lock account: %w", err)
		}
		c := factorCount{PasskeyRequired: s.passkeyRequired(sess.Subject.Role)}
		if err := tx.QueryRowContext(ctx, `SELECT totp_secret_ct IS NOT NULL, (SELECT COUNT(*) FROM passkeys WHERE account_id = $1)
			FROM accounts WHERE id = $1`, accountID).Scan(&c.TOTP, &c.Passkeys); err != nil {
			return fmt.Errorf("identity: read factors: %w", err)
		}
		if err := c.canRemove(kind); err != nil {
			return err
		}
		return remove(tx)
	})
}

// requireStepUpIfFactor asks for a step-up before a factor is added, unless the account has no
// second factor yet (a password-only patient adding their first), where there is nothing to
// step up with.
func (s *Service) requireStepUpIfFactor(ctx context.Context, sess *Session) error {
	acct, err := s.accountByID(ctx, sess.Subject.AccountID)
	if err != nil {
		return err
	}
	c, err := s.factorsOf(ctx, acct)
	if err != nil || !c.any() {
		return err
	}
	return s.RequireStepUp(sess)
}

// RequireStepUpIfFactor refuses an act on by's own account unless by passed a second factor
// within the step-up window, when the account has one: a patient who signs in with a long
// passphrase alone has nothing to step up with, and is not asked.
func (s *Service) RequireStepUpIfFactor(ctx context.Context, by access.Subject) error {
	acct, err := s.accountByID(ctx, by.AccountID)
	if err != nil {
		return err
	}
	c, err := s.factorsOf(ctx, acct)
	if err != nil || !c.any() {
		return err
	}
	if by.FactorAt.IsZero() || s.now().Sub(by.FactorAt) > StepUpWindow {
		return ErrStepUpRequired
	}
	return nil
}
