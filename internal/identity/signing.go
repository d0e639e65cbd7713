package identity

import (
	"context"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/identity/passkey"
)

// A signing ceremony asks a signed-in account's own passkeys to sign a document's digest (a
// prescription): the challenge is the digest, so the authenticator's signature covers the
// document. A user-verified assertion is also a fresh second factor, recorded as a step-up.

const ceremonySign = "sign"

// ErrNoPasskey means the account has no passkey to sign with.
var ErrNoPasskey = fault.New(fault.Conflict, "you have no passkey to sign with; add one on your account page")

// PasskeyAssertion is a verified signing assertion, with everything an offline check needs.
type PasskeyAssertion = passkey.Assertion

// HasPasskey reports whether the account has at least one passkey.
func (s *Service) HasPasskey(ctx context.Context, accountID string) (bool, error) {
	if s.rp == nil {
		return false, nil
	}
	n, err := s.passkeyCount(ctx, accountID)
	return n > 0, err
}

// BeginPasskeySigning asks by's own passkeys to sign digest.
func (s *Service) BeginPasskeySigning(ctx context.Context, by access.Subject, digest []byte) (PasskeyOptions, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyOptions{}, err
	}
	u, _, err := s.loadPasskeyUser(ctx, by.AccountID)
	if err != nil {
		return PasskeyOptions{}, err
	}
	if len(u.Credentials) == 0 {
		return PasskeyOptions{}, ErrNoPasskey
	}
	ch, err := rp.BeginSigning(u, digest)
	if err != nil {
		return PasskeyOptions{}, err
	}
	return s.begin(ctx, ceremonySign, u.AccountID, ch)
}

// FinishPasskeySigning verifies by's assertion to a signing ceremony (used once) and returns
// its parts. The caller checks that the challenge is its document's digest (package rx).
func (s *Service) FinishPasskeySigning(ctx context.Context, by access.Subject, ceremony string, response []byte, o Origin) (PasskeyAssertion, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyAssertion{}, err
	}
	const action = "auth.step-up"
	sd, err := s.takeCeremony(ctx, ceremony, ceremonySign, by.AccountID)
	if err != nil {
		return PasskeyAssertion{}, s.passkeyFailure(ctx, by, action, "unknown-or-expired-ceremony", err, o)
	}
	u, _, err := s.loadPasskeyUser(ctx, by.AccountID)
	if err != nil {
		return PasskeyAssertion{}, err
	}
	cred, as, err := rp.FinishSigning(u, sd, response)
	if err != nil {
		return PasskeyAssertion{}, s.ceremonyFailure(ctx, by, action, err, o)
	}
	if err := s.updatePasskey(ctx, u, cred); err != nil {
		return PasskeyAssertion{}, err
	}
	if err := s.record(ctx, by, action, by.AccountID, audit.Success, reasonPasskey, o); err != nil {
		return PasskeyAssertion{}, err
	}
	return as, nil
}
