package identity

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/keys"
	"haven/internal/store"
	"haven/internal/useragent"
)

// Session is an authenticated (or partly authenticated) browser or API client.
type Session struct {
	Subject   access.Subject
	Stage     Stage
	CreatedAt time.Time
	LastSeen  time.Time
	tokenHash []byte
}

const (
	insertSession = `INSERT INTO sessions (token_hash, account_id, stage, created_at, last_seen_at, user_agent, remote_addr)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`
	selectSession = `SELECT s.account_id, s.stage, s.created_at, s.last_seen_at, s.mfa_at, a.role, a.status, COALESCE(a.patient_id, '')
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = $1`
	touchSession        = `UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2`
	deleteSession       = `DELETE FROM sessions WHERE token_hash = $1`
	deleteSessionsOf    = `DELETE FROM sessions WHERE account_id = $1`
	updateSessionStage  = `UPDATE sessions SET token_hash = $1, stage = $2, totp_pending_ct = NULL, mfa_at = $3 WHERE token_hash = $4`
	setMFAAt            = `UPDATE sessions SET mfa_at = $1 WHERE token_hash = $2`
	setPendingTOTP      = `UPDATE sessions SET totp_pending_ct = $1 WHERE token_hash = $2`
	selectPendingTOTP   = `SELECT totp_pending_ct FROM sessions WHERE token_hash = $1`
	touchAfterIdleShare = 4 // refresh last_seen once a quarter of the idle timeout has passed
)

// startSession creates a session for account id at stage and returns its token.
func (s *Service) startSession(ctx context.Context, q store.Execer, accountID string, stage Stage, o Origin) (string, error) {
	token, hash := newToken()
	now := s.now().UnixNano()
	if _, err := q.ExecContext(ctx, insertSession, hash, accountID, string(stage), now, now, o.UserAgent, o.Addr); err != nil {
		return "", fmt.Errorf("identity: start session: %w", err)
	}
	return token, nil
}

func (s *Service) idleTimeout(r access.Role) time.Duration {
	if r == access.Patient {
		return s.cfg.IdlePatient
	}
	return s.cfg.IdleWorkforce
}

// Authenticate returns the session for token, enforcing the idle and absolute timeouts and the
// account's status. An expired session is deleted.
func (s *Service) Authenticate(ctx context.Context, token string) (*Session, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrNoSession
	}
	hash := hashToken(token)
	var sess Session
	var created, seen, mfa int64
	var status string
	err := s.db.QueryRowPrepared(ctx, selectSession, hash).Scan(&sess.Subject.AccountID, &sess.Stage, &created, &seen, &mfa,
		&sess.Subject.Role, &status, &sess.Subject.PatientID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("identity: load session: %w", err)
	}
	sess.tokenHash = hash
	sess.CreatedAt, sess.LastSeen, sess.Subject.FactorAt = time.Unix(0, created), time.Unix(0, seen), time.Unix(0, mfa)
	now := s.now()
	idle := s.idleTimeout(sess.Subject.Role)
	if status != StatusActive || now.Sub(sess.LastSeen) > idle || now.Sub(sess.CreatedAt) > s.cfg.AbsoluteLifetime {
		if _, err := s.db.ExecContext(ctx, deleteSession, hash); err != nil {
			return nil, fmt.Errorf("identity: end expired session: %w", err)
		}
		return nil, ErrSessionExpired
	}
	// Writing on every request would make every read a write; a quarter of the idle timeout
	// is precise enough.
	if now.Sub(sess.LastSeen) > idle/touchAfterIdleShare {
		if _, err := s.db.ExecPrepared(ctx, touchSession, now.UnixNano(), hash); err != nil {
			return nil, fmt.Errorf("identity: touch session: %w", err)
		}
		sess.LastSeen = now
	}
	return &sess, nil
}

// IdleTimeout is how long the session may sit unused.
func (s *Service) IdleTimeout(sess *Session) time.Duration { return s.idleTimeout(sess.Subject.Role) }

// advance moves a session, which has just passed a second factor, to stage under a new token,
// so that a token seen before the privilege change (session fixation) is worth nothing after it.
func (s *Service) advance(ctx context.Context, sess *Session, stage Stage, o Origin) (string, error) {
	token, hash := newToken()
	now := s.now()
	res, err := s.db.ExecContext(ctx, updateSessionStage, hash, string(stage), now.UnixNano(), sess.tokenHash)
	if err != nil {
		return "", fmt.Errorf("identity: advance session: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", ErrNoSession
	}
	sess.tokenHash, sess.Stage, sess.Subject.FactorAt = hash, stage, now
	if stage == StageFull {
		if err := s.noteDevice(ctx, sess.Subject.AccountID, o); err != nil {
			return "", err
		}
	}
	return token, nil
}

// Logout ends the session. A later request with the same token is unauthenticated.
func (s *Service) Logout(ctx context.Context, sess *Session, o Origin) error {
	if _, err := s.db.ExecContext(ctx, deleteSession, sess.tokenHash); err != nil {
		return fmt.Errorf("identity: logout: %w", err)
	}
	return s.record(ctx, sess.Subject, "auth.logout", sess.Subject.AccountID, "success", "", o)
}

func (s *Service) pendingTOTPLocation(accountID string) keys.Location {
	return keys.Location{Table: "sessions", Row: accountID, Field: "totp_pending"}
}

// SessionInfo is one of an account's sessions, as its owner sees it.
type SessionInfo struct {
	ID         string    `json:"id"` // a public handle: part of the token's hash, useless as a credential
	Current    bool      `json:"current"`
	Stage      Stage     `json:"stage"`
	Device     string    `json:"device"`     // the browser's User-Agent header, as it sent it
	DeviceName string    `json:"deviceName"` // the device in words: "Chrome on Android"
	Address    string    `json:"address"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeen   time.Time `json:"lastSeen"`
}

func sessionID(hash []byte) string { return hex.EncodeToString(hash[:16]) }

// Sessions lists the caller's own sessions, newest first.
func (s *Service) Sessions(ctx context.Context, sess *Session) ([]SessionInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT token_hash, stage, created_at, last_seen_at, user_agent, remote_addr
		FROM sessions WHERE account_id = $1 ORDER BY created_at DESC`, sess.Subject.AccountID)
	if err != nil {
		return nil, fmt.Errorf("identity: list sessions: %w", err)
	}
	defer rows.Close()
	out := []SessionInfo{}
	for rows.Next() {
		var hash []byte
		var created, seen int64
		var si SessionInfo
		if err := rows.Scan(&hash, &si.Stage, &created, &seen, &si.Device, &si.Address); err != nil {
			return nil, fmt.Errorf("identity: list sessions: %w", err)
		}
		si.ID, si.Current = sessionID(hash), bytes.Equal(hash, sess.tokenHash)
		si.DeviceName = useragent.Describe(si.Device)
		si.CreatedAt, si.LastSeen = time.Unix(0, created).UTC(), time.Unix(0, seen).UTC()
		out = append(out, si)
	}
	return out, rows.Err()
}

// RevokeSession ends one of the caller's own sessions by its public handle.
func (s *Service) RevokeSession(ctx context.Context, sess *Session, id string, o Origin) error {
	rows, err := s.db.QueryContext(ctx, `SELECT token_hash FROM sessions WHERE account_id = $1`, sess.Subject.AccountID)
	if err != nil {
		return fmt.Errorf("identity: revoke session: %w", err)
	}
	var target []byte
	for rows.Next() {
		var hash []byte
		if err := rows.Scan(&hash); err != nil {
			rows.Close()
			return fmt.Errorf("identity: revoke session: %w", err)
		}
		if sessionID(hash) == id {
			target = hash
		}
	}
	rows.Close()
	if target == nil {
		return ErrNoSession
	}
	if _, err := s.db.ExecContext(ctx, deleteSession, target); err != nil {
		return fmt.Errorf("identity: revoke session: %w", err)
	}
	return s.record(ctx, sess.Subject, "session.revoke", sess.Subject.AccountID, "success", "owner", o)
}

// Disable stops an account: it can no longer sign in, every session it has ends now, and any
// unused invitation or reset link stops working (re-enabling does not revive an old link: an
// administrator sends a new one). Enable undoes it.
func (s *Service) Disable(ctx context.Context, by access.Subject, accountID string, o Origin) error {
	if err := s.admit(ctx, by, access.DisableStaff, accountID, o); err != nil {
		return err
	}
	if accountID == by.AccountID {
		return invalid("you cannot disable your own account")
	}
	var role access.Role
	err := s.db.QueryRowContext(ctx, `SELECT role FROM accounts WHERE id = $1`, accountID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) || role == access.Patient {
		return invalid("no staff account has this identifier")
	}
	if err != nil {
		return fmt.Errorf("identity: disable account: %w", err)
	}
	return s.act(ctx, by, access.DisableStaff, accountID, "", o, func(ctx context.Context) error {
		return s.db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET status = $1 WHERE id = $2 AND role <> 'patient'`, StatusDisabled, accountID); err != nil {
				return fmt.Errorf("identity: disable account: %w", err)
			}
			// Its sessions end, and so do unused invitation and reset links, so that an old
			// link cannot come back to life once the account is enabled again.
			for _, q := range []string{deleteSessionsOf, deleteUnusedInvites, deleteUnusedResets} {
				if _, err := tx.ExecContext(ctx, q, accountID); err != nil {
					return fmt.Errorf("identity: disable account: %w", err)
				}
			}
			return nil
		})
	})
}

// ErrNotDisabled refuses to enable an account that is not disabled.
var ErrNotDisabled = fault.New(fault.Conflict, "this account is not disabled")

// enableAccount returns a disabled staff account to the status it would have had: active once
// a password is set, invited before. The failure count starts again, so a re-enabled account
// is not one mistake away from a lock.
const enableAccount = `UPDATE accounts SET status = CASE WHEN password_hash IS NULL THEN 'invited' ELSE 'active' END,
	failed_logins = 0 WHERE id = $1 AND role <> 'patient' AND status = 'disabled'`

// Enable undoes Disable: the account can sign in again with the credentials and factors it
// had. No session comes back. An invited account that was disabled is invited again and needs
// a new invitation link (ResendInvite). The door decides (access.EnableStaff, with step-up).
func (s *Service) Enable(ctx context.Context, by access.Subject, accountID string, o Origin) error {
	if err := s.admit(ctx, by, access.EnableStaff, accountID, o); err != nil {
		return err
	}
	acct, err := s.accountByID(ctx, accountID)
	if errors.Is(err, ErrNoSession) || (err == nil && acct.Role == access.Patient) {
		return invalid("no staff account has this identifier")
	}
	if err != nil {
		return err
	}
	if acct.Status != StatusDisabled {
		return ErrNotDisabled
	}
	return s.act(ctx, by, access.EnableStaff, accountID, "", o, func(ctx context.Context) error {
		res, err := s.db.ExecContext(ctx, enableAccount, accountID)
		if err != nil {
			return fmt.Errorf("identity: enable account: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotDisabled // enabled by someone else meanwhile
		}
		return nil
	})
}
