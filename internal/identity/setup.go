package identity

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"haven/internal/ids"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/identity/password"
)

const (
	countAdmins      = `SELECT COUNT(*) FROM accounts WHERE role = 'admin'`
	selectSetting    = `SELECT value FROM settings WHERE name = $1`
	deleteSetting    = `DELETE FROM settings WHERE name = $1`
	insertSetting    = `INSERT INTO settings (name, value) VALUES ($1, $2)`
	settingSetupHash = "setup-token"
)

// SetupPending reports whether the first administrator has yet to be created.
func (s *Service) SetupPending(ctx context.Context) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, countAdmins).Scan(&n); err != nil {
		return false, fmt.Errorf("identity: count administrators: %w", err)
	}
	return n == 0, nil
}

// IssueSetupToken replaces any earlier setup token with a new one, valid for SetupLifetime,
// and returns it. It is printed once at start, never stored in clear.
func (s *Service) IssueSetupToken(ctx context.Context) (string, error) {
	token, hash := newToken()
	value := binary.BigEndian.AppendUint64(nil, uint64(s.now().Add(s.cfg.SetupLifetime).UnixNano()))
	value = append(value, hash...)
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, deleteSetting, settingSetupHash); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, insertSetting, settingSetupHash, value)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("identity: issue setup token: %w", err)
	}
	return token, nil
}

// checkSetupToken reports whether token is the current, unexpired setup token.
func (s *Service) checkSetupToken(ctx context.Context, token string) (bool, error) {
	var value []byte
	err := s.db.QueryRowContext(ctx, selectSetting, settingSetupHash).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("identity: load setup token: %w", err)
	}
	if len(value) != 8+32 {
		return false, nil
	}
	expires := int64(binary.BigEndian.Uint64(value[:8]))
	return subtle.ConstantTimeCompare(value[8:], hashToken(token)) == 1 && s.now().UnixNano() < expires, nil
}

// SetupTokenValid reports whether token may still complete setup.
func (s *Service) SetupTokenValid(ctx context.Context, token string) bool {
	pending, err := s.SetupPending(ctx)
	if err != nil || !pending {
		return false
	}
	ok, err := s.checkSetupToken(ctx, token)
	return err == nil && ok
}

// CompleteSetup creates the first administrator from the setup token and starts a session at
// the TOTP enrolment stage: the administrator can do nothing else until a second factor is set.
func (s *Service) CompleteSetup(ctx context.Context, token, email, name, pw string, o Origin) (string, error) {
	if !s.SetupTokenValid(ctx, token) {
		if err := s.record(ctx, access.Subject{}, "setup.complete", "", audit.Failure, "invalid-setup-token", o); err != nil {
			return "", err
		}
		return "", ErrInviteInvalid
	}
	hash, err := s.newPasswordHash(ctx, pw, password.ContextWords("Haven", s.cfg.Issuer, name, email))
	if err != nil {
		return "", err
	}
	var sessionToken, id string
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, countAdmins).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrSetupDone
		}
		var err error
		system := access.Subject{AccountID: "setup", Role: access.Admin}
		id, _, err = s.createAccount(ctx, tx, system, ids.New(), access.Admin, email, "", name, "")
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = $1, status = $2 WHERE id = $3`, hash, StatusActive, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invites SET used_at = $1 WHERE account_id = $2`, s.now().UnixNano(), id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, deleteSetting, settingSetupHash); err != nil {
			return err
		}
		sessionToken, err = s.startSession(ctx, tx, id, StageEnrol, o)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrInvalidInput) || errors.Is(err, ErrSetupDone) || errors.Is(err, ErrEmailTaken) {
			return "", err
		}
		return "", fmt.Errorf("identity: complete setup: %w", err)
	}
	if err := s.record(ctx, access.Subject{AccountID: id, Role: access.Admin}, "setup.complete", id, audit.Success, "", o); err != nil {
		return "", err
	}
	return sessionToken, nil
}

// InviteValid reports whether an invitation link can still be used.
func (s *Service) InviteValid(ctx context.Context, token string) bool {
	_, err := s.linkAccount(ctx, s.db, invitations, token)
	return err == nil
}

// InviteRole returns the role of the account an invitation link is for, while the link can still
// be used (ErrInviteInvalid otherwise), so that the activation page can say what follows the
// password (FactorPolicy).
func (s *Service) InviteRole(ctx context.Context, token string) (access.Role, error) {
	id, err := s.linkAccount(ctx, s.db, invitations, token)
	if err != nil {
		return "", err
	}
	acct, err := s.accountByID(ctx, id)
	if err != nil {
		return "", err
	}
	return acct.Role, nil
}

// ActivateInvite sets the password of an invited account from its single-use link, marks the
// link used and starts a session at the stage the password leaves it (normally enrolment).
func (s *Service) ActivateInvite(ctx context.Context, token, pw string, o Origin) (string, Stage, error) {
	hash, err := s.linkPasswordHash(ctx, invitations, token, pw, o)
	if err != nil {
		return "", "", err
	}
	var sessionToken, id string
	var stage Stage
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if id, err = s.useLink(ctx, tx, invitations, token); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET password_hash = $1, status = $2 WHERE id = $3`, hash, StatusActive, id); err != nil {
			return err
		}
		var role access.Role
		if err := tx.QueryRowContext(ctx, `SELECT role FROM accounts WHERE id = $1`, id).Scan(&role); err != nil {
			return err
		}
		// A new account has no second factor yet.
		stage = s.stageWithoutFactor(role, pw)
		sessionToken, err = s.startSession(ctx, tx, id, stage, o)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrInviteInvalid) {
			return "", "", err
		}
		return "", "", fmt.Errorf("identity: activate invite: %w", err)
	}
	acct, err := s.accountByID(ctx, id)
	if err != nil {
		return "", "", err
	}
	if err := s.record(ctx, access.Subject{AccountID: id, Role: acct.Role, PatientID: acct.PatientID}, "account.activate", id, audit.Success, "", o); err != nil {
		return "", "", err
	}
	if err := s.signedIn(ctx, id, stage, o); err != nil {
		return "", "", err
	}
	return sessionToken, stage, nil
}

// newPasswordHash applies the password policy, with the context words of the person it is for
// (passwordContext), and hashes an accepted password.
func (s *Service) newPasswordHash(ctx context.Context, pw string, contextWords []string) (string, error) {
	if err := password.CheckPolicy(pw, contextWords...); err != nil {
		return "", err
	}
	return s.hasher.Hash(ctx, pw)
}

// passwordContext is what a password must not be built on: the service's and organisation's
// names, and the person's name and e-mail address. A patient's address is on the record, which
// is opened for its e-mail field only.
func (s *Service) passwordContext(ctx context.Context, acct *account, o Origin) ([]string, error) {
	email := acct.Email
	// A patient who signs in with their phone number has no address to read.
	if acct.Role == access.Patient && s.cfg.PatientEmail != nil && acct.phoneBidx == nil {
		var err error
		if email, err = s.cfg.PatientEmail(ctx, acct.PatientID, "password-check", o); err != nil {
			return nil, fmt.Errorf("identity: password context: %w", err)
		}
	}
	return password.ContextWords("Haven", s.cfg.Issuer, acct.Name, email), nil
}
