package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"haven/internal/access"
	"haven/internal/keys"
	"haven/internal/store"
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
	insertSession = `INSERT INTO sessions (token_hash, account_id, stage, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)`
	selectSession = `SELECT s.account_id, s.stage, s.created_at, s.last_seen_at, a.role, a.status, COALESCE(a.patient_id, '')
		FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.token_hash = $1`
	touchSession        = `UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2`
	deleteSession       = `DELETE FROM sessions WHERE token_hash = $1`
	deleteSessionsOf    = `DELETE FROM sessions WHERE account_id = $1`
	updateSessionStage  = `UPDATE sessions SET token_hash = $1, stage = $2, totp_pending_ct = NULL WHERE token_hash = $3`
	setPendingTOTP      = `UPDATE sessions SET totp_pending_ct = $1 WHERE token_hash = $2`
	selectPendingTOTP   = `SELECT totp_pending_ct FROM sessions WHERE token_hash = $1`
	touchAfterIdleShare = 4 // refresh last_seen once a quarter of the idle timeout has passed
)

// startSession creates a session for account id at stage and returns its token.
func (s *Service) startSession(ctx context.Context, q store.Execer, accountID string, stage Stage) (string, error) {
	token, hash := newToken()
	now := s.now().UnixNano()
	if _, err := q.ExecContext(ctx, insertSession, hash, accountID, string(stage), now, now); err != nil {
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
	var created, seen int64
	var status string
	err := s.db.QueryRowContext(ctx, selectSession, hash).Scan(&sess.Subject.AccountID, &sess.Stage, &created, &seen,
		&sess.Subject.Role, &status, &sess.Subject.PatientID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("identity: load session: %w", err)
	}
	sess.tokenHash = hash
	sess.CreatedAt, sess.LastSeen = time.Unix(0, created), time.Unix(0, seen)
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
		if _, err := s.db.ExecContext(ctx, touchSession, now.UnixNano(), hash); err != nil {
			return nil, fmt.Errorf("identity: touch session: %w", err)
		}
		sess.LastSeen = now
	}
	return &sess, nil
}

// IdleTimeout is how long the session may sit unused.
func (s *Service) IdleTimeout(sess *Session) time.Duration { return s.idleTimeout(sess.Subject.Role) }

// advance moves a session to stage under a new token, so that a token seen before the
// privilege change (session fixation) is worth nothing after it.
func (s *Service) advance(ctx context.Context, sess *Session, stage Stage) (string, error) {
	token, hash := newToken()
	res, err := s.db.ExecContext(ctx, updateSessionStage, hash, string(stage), sess.tokenHash)
	if err != nil {
		return "", fmt.Errorf("identity: advance session: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", ErrNoSession
	}
	sess.tokenHash, sess.Stage = hash, stage
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
