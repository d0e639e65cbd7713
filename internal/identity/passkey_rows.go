package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"haven/internal/audit"
	"haven/internal/identity/passkey"
	"haven/internal/store"
)

// The passkeys and webauthn_ceremonies rows. Every passkey field is sealed by package passkey,
// bound to its account and credential ID.

const (
	selectPasskeyCredentials = `SELECT id, credential_ct FROM passkeys WHERE account_id = $1 ORDER BY created_at`
	selectPasskeyList        = `SELECT id, name_ct, created_at, last_used_at FROM passkeys WHERE account_id = $1 ORDER BY created_at`
	countPasskeys            = `SELECT COUNT(*) FROM passkeys WHERE account_id = $1`
	insertPasskey            = `INSERT INTO passkeys (id, account_id, name_ct, credential_ct, created_at) VALUES ($1, $2, $3, $4, $5)`
	updatePasskeyUse         = `UPDATE passkeys SET credential_ct = $1, last_used_at = $2 WHERE id = $3 AND account_id = $4`
	updatePasskeyName        = `UPDATE passkeys SET name_ct = $1 WHERE id = $2 AND account_id = $3`
	deletePasskey            = `DELETE FROM passkeys WHERE id = $1 AND account_id = $2`
	expireCeremonies         = `DELETE FROM webauthn_ceremonies WHERE expires_at < $1`
	insertCeremony           = `INSERT INTO webauthn_ceremonies (token_hash, kind, account_id, session, expires_at) VALUES ($1, $2, $3, $4, $5)`
	takeCeremony             = `DELETE FROM webauthn_ceremonies WHERE token_hash = $1 AND kind = $2 AND account_id = $3 RETURNING session, expires_at`
)

// errCredentialInUse means a new passkey's credential ID is already stored.
var errCredentialInUse = errors.New("identity: credential ID in use")

// loadPasskeyUser returns account id with its passkeys. A patient's name is not in the directory,
// so the name their device shows is a neutral label.
func (s *Service) loadPasskeyUser(ctx context.Context, accountID string) (*passkey.User, *account, error) {
	acct, err := s.accountByID(ctx, accountID)
	if err != nil {
		return nil, nil, err
	}
	u := &passkey.User{AccountID: acct.ID, Name: acct.Email}
	if u.Name == "" {
		u.Name = s.cfg.Issuer + " patient account"
	}
	rows, err := s.db.QueryContext(ctx, selectPasskeyCredentials, acct.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("identity: load passkeys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var sealed []byte
		if err := rows.Scan(&id, &sealed); err != nil {
			return nil, nil, fmt.Errorf("identity: load passkeys: %w", err)
		}
		c, err := passkey.OpenCredential(s.dir, acct.ID, id, sealed)
		if err != nil {
			return nil, nil, fmt.Errorf("identity: %w", err)
		}
		u.Credentials = append(u.Credentials, c)
	}
	return u, acct, rows.Err()
}

func (s *Service) passkeyCount(ctx context.Context, accountID string) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, countPasskeys, accountID).Scan(&n); err != nil {
		return 0, fmt.Errorf("identity: count passkeys: %w", err)
	}
	return n, nil
}

// insertPasskey stores a newly registered credential of accountID under name.
func (s *Service) insertPasskey(ctx context.Context, accountID, name string, cred *webauthn.Credential) error {
	credID, sealedCred, err := passkey.SealCredential(s.dir, accountID, cred)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	sealedName, err := passkey.SealName(s.dir, accountID, credID, name)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	_, err = s.db.ExecContext(ctx, insertPasskey, credID, accountID, sealedName, sealedCred, s.now().UnixNano())
	if store.IsUniqueViolation(err) {
		// The exclusion list keeps an authenticator from registering twice; a clash here is a
		// credential ID already held by another account.
		return errCredentialInUse
	}
	if err != nil {
		return fmt.Errorf("identity: store passkey: %w", err)
	}
	return nil
}

// updatePasskey stores a used credential's new sign count and flags, and when it was used.
func (s *Service) updatePasskey(ctx context.Context, u *passkey.User, cred *webauthn.Credential) error {
	c, ok := u.Used(cred)
	if !ok {
		return ErrPasskeyInvalid
	}
	credID, sealed, err := passkey.SealCredential(s.dir, u.AccountID, &c)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, updatePasskeyUse, sealed, s.now().UnixNano(), credID, u.AccountID); err != nil {
		return fmt.Errorf("identity: update passkey: %w", err)
	}
	return nil
}

// saveCeremony stores a ceremony's session data and returns its single-use handle.
func (s *Service) saveCeremony(ctx context.Context, kind, accountID string, session []byte) (string, error) {
	token, hash := newToken()
	now := s.now()
	if _, err := s.db.ExecContext(ctx, expireCeremonies, now.UnixNano()); err != nil {
		return "", fmt.Errorf("identity: expire ceremonies: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, insertCeremony, hash, kind, accountID, session, now.Add(CeremonyLifetime).UnixNano()); err != nil {
		return "", fmt.Errorf("identity: store ceremony: %w", err)
	}
	return token, nil
}

// takeCeremony removes and returns the session data of a ceremony of kind begun for accountID
// ("" for a sign-in), if it has not expired on the service's clock. A ceremony is used once,
// whatever the outcome.
func (s *Service) takeCeremony(ctx context.Context, token, kind, accountID string) ([]byte, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrPasskeyInvalid
	}
	var session []byte
	var expires int64
	err := s.db.QueryRowContext(ctx, takeCeremony, hashToken(token), kind, accountID).Scan(&session, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrPasskeyInvalid
	}
	if err != nil {
		return nil, fmt.Errorf("identity: load ceremony: %w", err)
	}
	if s.now().UnixNano() > expires {
		return nil, ErrPasskeyInvalid
	}
	return session, nil
}

// Passkeys lists the caller's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, sess *Session) ([]Passkey, error) {
	id := sess.Subject.AccountID
	rows, err := s.db.QueryContext(ctx, selectPasskeyList, id)
	if err != nil {
		return nil, fmt.Errorf("identity: list passkeys: %w", err)
	}
	defer rows.Close()
	out := []Passkey{}
	for rows.Next() {
		var p Passkey
		var sealed []byte
		var created, used int64
		if err := rows.Scan(&p.ID, &sealed, &created, &used); err != nil {
			return nil, fmt.Errorf("identity: list passkeys: %w", err)
		}
		if p.Name, err = passkey.OpenName(s.dir, id, p.ID, sealed); err != nil {
			return nil, fmt.Errorf("identity: %w", err)
		}
		p.CreatedAt = time.Unix(0, created).UTC()
		if used > 0 {
			p.LastUsed = time.Unix(0, used).UTC()
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RenamePasskey changes the name of one of the caller's passkeys.
func (s *Service) RenamePasskey(ctx context.Context, sess *Session, id, name string, o Origin) error {
	name, err := passkey.CleanName(name)
	if err != nil {
		return err
	}
	sealed, err := passkey.SealName(s.dir, sess.Subject.AccountID, id, name)
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	res, err := s.db.ExecContext(ctx, updatePasskeyName, sealed, id, sess.Subject.AccountID)
	if err != nil {
		return fmt.Errorf("identity: rename passkey: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrPasskeyNotFound
	}
	return s.record(ctx, sess.Subject, "auth.passkey-rename", sess.Subject.AccountID, audit.Success, "", o)
}
