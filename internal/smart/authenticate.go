package smart

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/principal"
)

// Errors of Authenticate.
var (
	// ErrBadToken is an unknown or expired bearer token.
	ErrBadToken = fault.New(fault.Unauthenticated, "the bearer token is not valid or has expired; request a new one")
	// ErrClientDisabled: the token's client was disabled after it was issued.
	ErrClientDisabled = fault.New(fault.Forbidden, "this connected system has been disabled; ask the clinic's administrator")
	// ErrAgreementLapsed: the client's business associate agreement is no longer in force.
	ErrAgreementLapsed = fault.New(fault.Forbidden, "the business associate agreement for this connected system has lapsed; ask the clinic to renew it")
)

// maxTokenLen bounds what is hashed: Haven's tokens are 43 characters.
const maxTokenLen = 512

// Authenticate returns the subject a bearer token stands for: the client (Role Integration),
// its scopes and its purpose of use. An unknown or expired token is a fault Unauthenticated
// error; a client disabled or whose agreement has lapsed, a fault Forbidden one (recorded).
func (s *Service) Authenticate(ctx context.Context, token string, o principal.Origin) (principal.Subject, error) {
	if token == "" || len(token) > maxTokenLen {
		return principal.Subject{}, ErrBadToken
	}
	var (
		clientID, scopes, purpose, start, end string
		expires                               int64
		disabled                              int
	)
	err := s.db.QueryRowPrepared(ctx, selectBearer, hashToken(token)).Scan(&clientID, &scopes, &expires, &purpose, &disabled, &start, &end)
	if errors.Is(err, sql.ErrNoRows) {
		return principal.Subject{}, ErrBadToken
	}
	if err != nil {
		return principal.Subject{}, fmt.Errorf("smart: authenticate: %w", err)
	}
	now := s.now()
	if !time.Unix(0, expires).After(now) {
		return principal.Subject{}, ErrBadToken
	}
	by := principal.Subject{AccountID: clientID, Role: principal.Integration, Purpose: purpose}
	refused := func(reason string, e error) (principal.Subject, error) {
		if err := s.record(ctx, by, ActionAccess, audit.Failure, reason, o); err != nil {
			return principal.Subject{}, err
		}
		return principal.Subject{}, e
	}
	if disabled != 0 {
		return refused(ReasonDisabled, ErrClientDisabled)
	}
	if !inForce(Client{AgreementStart: start, AgreementEnd: end}, now) {
		return refused(ReasonLapsed, ErrAgreementLapsed)
	}
	sc, err := principal.ParseScopes(scopes)
	if err != nil {
		return principal.Subject{}, fmt.Errorf("smart: stored token scopes: %w", err)
	}
	by.Scopes = sc
	return by, nil
}
