package identity

import (
	"context"
	"fmt"
	"haven/internal/ids"

	"haven/internal/access"
	"haven/internal/store"
)

// A guest (an interpreter, a family member) joins one visit by a single-use link. They have no
// password, no factor and no way to sign in again: the account row exists only so that their
// session runs through the same machinery as everyone's (hashed token, __Host- cookie, CSRF
// defence, timeouts) under a subject the policy knows (role guest). Package visits decides
// which visit the subject reaches; disabling the account ends the guest's sessions.

// CreateGuest creates a guest account through q (in the caller's transaction) and returns its
// identifier. Its e-mail index is a random placeholder: nobody can sign in to it.
func (s *Service) CreateGuest(ctx context.Context, q store.Execer) (string, error) {
	id := ids.New()
	if _, err := q.ExecContext(ctx, insertAccount, id, string(access.Guest), StatusActive, noEmailPlaceholder(), nil, nil, nil, nil, s.now().UnixNano()); err != nil {
		return "", fmt.Errorf("identity: create guest: %w", err)
	}
	return id, nil
}

// StartGuestSession opens a full session for a guest account and returns its token.
func (s *Service) StartGuestSession(ctx context.Context, accountID string, o Origin) (string, error) {
	return s.startSession(ctx, s.db, accountID, StageFull, o)
}

// EndGuest disables a guest account and ends its sessions: the visit it was for has ended.
func (s *Service) EndGuest(ctx context.Context, accountID string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE accounts SET status = $1 WHERE id = $2 AND role = $3`, StatusDisabled, accountID, string(access.Guest)); err != nil {
		return fmt.Errorf("identity: end guest: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, deleteSessionsOf, accountID); err != nil {
		return fmt.Errorf("identity: end guest sessions: %w", err)
	}
	return nil
}
