package identity

import (
	"context"
	"fmt"

	"haven/internal/access"
	"haven/internal/audit"
)

// ChangePassword replaces the caller's password. It needs the current password and a recent
// second factor, and ends every other session of the account (the current one survives).
func (s *Service) ChangePassword(ctx context.Context, sess *Session, current, next string, o Origin) error {
	if err := s.admit(ctx, sess.Subject, access.ChangePassword, sess.Subject.AccountID, o); err != nil {
		return err
	}
	acct, err := s.accountByID(ctx, sess.Subject.AccountID)
	if err != nil {
		return err
	}
	ok, err := s.hasher.Verify(ctx, current, acct.passwordHash)
	if err != nil {
		return fmt.Errorf("identity: change password: %w", err)
	}
	if !ok {
		if err := s.record(ctx, sess.Subject, "account.password-change", acct.ID, audit.Failure, reasonWrongPassword, o); err != nil {
			return err
		}
		return ErrInvalidCredentials
	}
	words, err := s.passwordContext(ctx, acct, o)
	if err != nil {
		return err
	}
	hash, err := s.newPasswordHash(ctx, next, words)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE accounts SET password_hash = $1, failed_logins = 0 WHERE id = $2`, hash, acct.ID); err != nil {
		return fmt.Errorf("identity: change password: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = $1 AND token_hash <> $2`, acct.ID, sess.tokenHash); err != nil {
		return fmt.Errorf("identity: end other sessions: %w", err)
	}
	if err := s.record(ctx, sess.Subject, "account.password-change", acct.ID, audit.Success, "", o); err != nil {
		return err
	}
	s.notify(ctx, acct, noticePassword, "", o)
	return nil
}
