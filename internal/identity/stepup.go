package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/identity/recovery"
)

// StepUpWindow is how recent a second factor must be for a sensitive act: the door's.
const StepUpWindow = guard.StepUpWindow

// ErrStepUpRequired means the act needs a fresh second factor (POST /api/v1/auth/step-up).
var ErrStepUpRequired = guard.ErrStepUpRequired

// RecoveryCodeCount is how many single-use recovery codes an account holds.
const RecoveryCodeCount = 10

const reasonRecoveryCode = "recovery-code"

// RequireStepUp refuses a sensitive act unless the session passed a second factor within
// StepUpWindow.
func (s *Service) RequireStepUp(sess *Session) error {
	if sess == nil || sess.Stage != StageFull || s.now().Sub(sess.Subject.FactorAt) > StepUpWindow {
		return ErrStepUpRequired
	}
	return nil
}

// StepUp re-checks a second factor (a TOTP code or a recovery code) for a signed-in session, so
// that sensitive acts are allowed for the next StepUpWindow.
func (s *Service) StepUp(ctx context.Context, sess *Session, code string, o Origin) error {
	if sess.Stage != StageFull {
		return ErrWrongStage
	}
	if s.passkeyRequired(sess.Subject.Role) {
		return ErrPasskeyRequired
	}
	if wait := s.throttle.take("totp:"+sess.Subject.AccountID, s.now()); wait > 0 {
		if err := s.record(ctx, sess.Subject, "auth.step-up", sess.Subject.AccountID, audit.Failure, reasonThrottled, o); err != nil {
			return err
		}
		return throttled(wait)
	}
	reason, err := s.checkSecondFactor(ctx, sess.Subject.AccountID, code)
	if err != nil {
		return err
	}
	if reason == "" {
		if err := s.record(ctx, sess.Subject, "auth.step-up", sess.Subject.AccountID, audit.Failure, reasonBadCode, o); err != nil {
			return err
		}
		return ErrInvalidCode
	}
	if sess.Subject.FactorAt, err = s.markSecondFactor(ctx, sess.tokenHash); err != nil {
		return err
	}
	return s.record(ctx, sess.Subject, "auth.step-up", sess.Subject.AccountID, audit.Success, reason, o)
}

// markSecondFactor records that the session with tokenHash passed a second factor now, which
// opens the step-up window, and returns the time.
func (s *Service) markSecondFactor(ctx context.Context, tokenHash []byte) (time.Time, error) {
	now := s.now()
	if _, err := s.db.ExecContext(ctx, setMFAAt, now.UnixNano(), tokenHash); err != nil {
		return time.Time{}, fmt.Errorf("identity: record second factor: %w", err)
	}
	return now, nil
}

// checkSecondFactor accepts a six-digit TOTP code or a recovery code (used up on success). It
// returns the audit reason for the factor that matched, or "" if none did.
func (s *Service) checkSecondFactor(ctx context.Context, accountID, code string) (string, error) {
	if c := strings.TrimSpace(code); len(c) == 6 {
		ok, err := s.checkTOTP(ctx, accountID, c)
		if ok {
			return reasonCodeOK, err
		}
		return "", err
	}
	mac, err := recovery.MAC(s.dir, code)
	if errors.Is(err, recovery.ErrMalformed) {
		return "", nil // not shaped like a recovery code
	}
	if err != nil {
		return "", fmt.Errorf("identity: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE recovery_codes SET used_at = $1 WHERE account_id = $2 AND code_mac = $3 AND used_at IS NULL`,
		s.now().UnixNano(), accountID, mac)
	if err != nil {
		return "", fmt.Errorf("identity: use recovery code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return reasonRecoveryCode, nil
	}
	return "", nil
}

// RegenerateRecoveryCodes replaces the account's recovery codes with RecoveryCodeCount new ones,
// returned once (formatted XXXX-XXXX-XXXX-XXXX) and stored only as MACs. It needs a recent step-up.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, sess *Session, o Origin) ([]string, error) {
	if err := s.admit(ctx, sess.Subject, access.NewRecoveryCodes, sess.Subject.AccountID, o); err != nil {
		return nil, err
	}
	codes, macs, err := s.newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	id := sess.Subject.AccountID
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE account_id = $1`, id); err != nil {
			return err
		}
		return s.insertRecoveryCodes(ctx, tx, id, macs)
	})
	if err != nil {
		return nil, fmt.Errorf("identity: store recovery codes: %w", err)
	}
	if err := s.record(ctx, sess.Subject, "auth.recovery-codes", id, audit.Success, "regenerated", o); err != nil {
		return nil, err
	}
	if err := s.notifyAccount(ctx, id, noticeRecoveryCodes, o); err != nil {
		return nil, err
	}
	return codes, nil
}

// firstRecoveryCodes gives an account that has just enrolled a second factor its recovery
// codes, if it has never had any, and returns them (nil otherwise): the first factor comes with
// its fallback, so that one lost phone is not a lock-out. Codes once issued stay on the account
// (a used code keeps its row, and regenerating replaces them), so a later enrolment, or a
// concurrent one that lost the race for the account's row lock, finds them and issues none.
// Where the role's policy accepts only passkeys, recovery codes would be refused at sign-in, so
// none are issued.
//
// It is an act on one's own account that the enrolment just proved (a factor from now), so it
// asks the door for no step-up; it is recorded like RegenerateRecoveryCodes.
func (s *Service) firstRecoveryCodes(ctx context.Context, sess *Session, o Origin) ([]string, error) {
	if s.passkeyRequired(sess.Subject.Role) {
		return nil, nil
	}
	codes, macs, err := s.newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	id := sess.Subject.AccountID
	issued := false
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET failed_logins = failed_logins WHERE id = $1`, id); err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		issued = true
		return s.insertRecoveryCodes(ctx, tx, id, macs)
	})
	if err != nil {
		return nil, fmt.Errorf("identity: first recovery codes: %w", err)
	}
	if !issued {
		return nil, nil
	}
	if err := s.record(ctx, sess.Subject, "auth.recovery-codes", id, audit.Success, reasonFirstCodes, o); err != nil {
		return nil, err
	}
	return codes, nil
}

// reasonFirstCodes is recorded when an account's first recovery codes come with its first factor.
const reasonFirstCodes = "issued-with-first-factor"

// newRecoveryCodes makes RecoveryCodeCount codes, formatted, and their MACs.
func (s *Service) newRecoveryCodes() (codes []string, macs [][]byte, err error) {
	codes = recovery.Generate(RecoveryCodeCount)
	macs = make([][]byte, len(codes))
	for i, code := range codes {
		if macs[i], err = recovery.MAC(s.dir, code); err != nil {
			return nil, nil, fmt.Errorf("identity: %w", err)
		}
	}
	return codes, macs, nil
}

// insertRecoveryCodes stores an account's recovery code MACs.
func (s *Service) insertRecoveryCodes(ctx context.Context, tx *sql.Tx, accountID string, macs [][]byte) error {
	for _, mac := range macs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (account_id, code_mac, created_at) VALUES ($1, $2, $3)`,
			accountID, mac, s.now().UnixNano()); err != nil {
			return err
		}
	}
	return nil
}

// RecoveryCodesLeft counts the account's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, accountID string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL`, accountID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("identity: count recovery codes: %w", err)
	}
	return n, nil
}
