package identity

import (
	"context"
	"errors"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/identity/passkey"
)

// Passkeys are WebAuthn credentials held by the person's device (package passkey does the
// WebAuthn). One passkey signs a person in without a password, completes a password sign-in as
// the second factor, and answers step-up. This file runs the ceremonies: who may start one, at
// which stage, what each outcome does to the session, and the audit entry of every outcome.

// Passkey errors. Their text is safe to show.
var (
	ErrPasskeyInvalid  = fault.New(fault.Unauthenticated, "the passkey could not be verified; try again")
	ErrPasskeyNotFound = fault.New(fault.NotFound, "no passkey of yours has this identifier")
)

// CeremonyLifetime bounds the time between a WebAuthn challenge and its answer.
const CeremonyLifetime = passkey.CeremonyLifetime

// Passkey is one of an account's passkeys as its owner sees it.
type Passkey = passkey.Info

// PasskeyOptions is what the browser passes to navigator.credentials.create or .get, with the
// handle of the ceremony to finish.
type PasskeyOptions = passkey.Options

// Ceremony kinds.
const (
	ceremonyRegister = "register" // a signed-in (or enrolling) account adds a passkey
	ceremonyLogin    = "login"    // passwordless sign-in: the account is not known yet
	ceremonyVerify   = "verify"   // a known account proves possession: second factor or step-up
)

const reasonPasskey = "passkey"

// newRelyingParty builds the WebAuthn relying party from the configuration (nil when passkeys
// are off: the server gave no host name).
func newRelyingParty(cfg Config) (*passkey.RelyingParty, error) {
	return passkey.New(passkey.Config{RPID: cfg.PasskeyRPID, Origin: cfg.PasskeyOrigin, DisplayName: cfg.Issuer})
}

func (s *Service) relyingParty() (*passkey.RelyingParty, error) {
	if s.rp == nil {
		return nil, invalid("passkeys need a host name (--host)")
	}
	return s.rp, nil
}

// begin stores a begun ceremony of kind for accountID and returns the browser's options.
func (s *Service) begin(ctx context.Context, kind, accountID string, ch passkey.Challenge) (PasskeyOptions, error) {
	token, err := s.saveCeremony(ctx, kind, accountID, ch.Session)
	if err != nil {
		return PasskeyOptions{}, err
	}
	return PasskeyOptions{Ceremony: token, PublicKey: ch.PublicKey}, nil
}

// BeginPasskeyRegistration starts adding a passkey: while enrolling a first second factor, or,
// for a signed-in account, after a recent step-up (adding a factor is a sensitive act).
func (s *Service) BeginPasskeyRegistration(ctx context.Context, sess *Session) (PasskeyOptions, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyOptions{}, err
	}
	switch sess.Stage {
	case StageEnrol:
	case StageFull:
		if err := s.requireStepUpIfFactor(ctx, sess); err != nil {
			return PasskeyOptions{}, err
		}
	default:
		return PasskeyOptions{}, ErrWrongStage
	}
	u, _, err := s.loadPasskeyUser(ctx, sess.Subject.AccountID)
	if err != nil {
		return PasskeyOptions{}, err
	}
	ch, err := rp.BeginRegistration(u)
	if err != nil {
		return PasskeyOptions{}, err
	}
	return s.begin(ctx, ceremonyRegister, u.AccountID, ch)
}

// FinishPasskeyRegistration verifies the authenticator's answer and stores the new passkey under
// name. For an enrolling session it is the first second factor: the session is then fully signed
// in under a new token (Enrolled.Token). The account's first factor comes with its recovery
// codes.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, sess *Session, ceremony, name string, response []byte, o Origin) (Enrolled, error) {
	const action = "auth.passkey-register"
	rp, err := s.relyingParty()
	if err != nil {
		return Enrolled{}, err
	}
	name, err = passkey.CleanName(name)
	if err != nil {
		return Enrolled{}, err
	}
	if sess.Stage != StageEnrol && sess.Stage != StageFull {
		return Enrolled{}, ErrWrongStage
	}
	id := sess.Subject.AccountID
	sd, err := s.takeCeremony(ctx, ceremony, ceremonyRegister, id)
	if err != nil {
		return Enrolled{}, s.passkeyFailure(ctx, sess.Subject, action, "unknown-or-expired-ceremony", err, o)
	}
	u, _, err := s.loadPasskeyUser(ctx, id)
	if err != nil {
		return Enrolled{}, err
	}
	cred, err := rp.FinishRegistration(u, sd, response)
	if err != nil {
		return Enrolled{}, s.ceremonyFailure(ctx, sess.Subject, action, err, o)
	}
	if err := s.insertPasskey(ctx, id, name, cred); err != nil {
		if errors.Is(err, errCredentialInUse) {
			return Enrolled{}, s.passkeyFailure(ctx, sess.Subject, action, "credential-id-in-use", ErrPasskeyInvalid, o)
		}
		return Enrolled{}, err
	}
	if err := s.record(ctx, sess.Subject, action, id, audit.Success, reasonPasskey, o); err != nil {
		return Enrolled{}, err
	}
	if sess.Stage == StageEnrol {
		token, err := s.advance(ctx, sess, StageFull, o)
		if err != nil {
			return Enrolled{}, err
		}
		return s.enrolled(ctx, sess, token, o)
	}
	if err := s.notifyAccount(ctx, id, noticePasskeyAdded, o); err != nil {
		return Enrolled{}, err
	}
	return s.enrolled(ctx, sess, "", o)
}

// BeginPasskeySignIn starts a passwordless sign-in: the browser offers the person's discoverable
// passkeys for this site, and the answer names the account.
func (s *Service) BeginPasskeySignIn(ctx context.Context, o Origin) (PasskeyOptions, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyOptions{}, err
	}
	if wait := s.throttle.take("addr:"+o.Addr, s.now()); wait > 0 {
		return PasskeyOptions{}, throttled(wait)
	}
	ch, err := rp.BeginSignIn()
	if err != nil {
		return PasskeyOptions{}, err
	}
	return s.begin(ctx, ceremonyLogin, "", ch)
}

// FinishPasskeySignIn verifies a passwordless sign-in and starts a fully signed-in session. The
// passkey was verified by the person's device (user verification), so it counts as a second
// factor for step-up as well.
func (s *Service) FinishPasskeySignIn(ctx context.Context, ceremony string, response []byte, o Origin) (string, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return "", err
	}
	sd, err := s.takeCeremony(ctx, ceremony, ceremonyLogin, "")
	if err != nil {
		return "", s.passkeyFailure(ctx, access.Subject{}, "auth.login", "unknown-or-expired-ceremony", ErrPasskeyInvalid, o)
	}
	var acct *account
	lookup := func(accountID string) (*passkey.User, error) {
		u, a, err := s.loadPasskeyUser(ctx, accountID)
		acct = a
		return u, err
	}
	u, cred, err := rp.FinishSignIn(sd, response, lookup)
	if err != nil {
		return "", s.ceremonyFailure(ctx, access.Subject{}, "auth.login", err, o)
	}
	subject := access.Subject{AccountID: acct.ID, Role: acct.Role, PatientID: acct.PatientID}
	if acct.Status != StatusActive {
		return "", s.passkeyFailure(ctx, subject, "auth.login", reasonNotActive, ErrPasskeyInvalid, o)
	}
	if err := s.updatePasskey(ctx, u, cred); err != nil {
		return "", err
	}
	if err := s.recordLogin(ctx, subject, acct.ID, audit.Success, reasonPasskey, o); err != nil {
		return "", err
	}
	token, err := s.signIn(ctx, acct.ID, StageFull, o)
	if err != nil {
		return "", err
	}
	if _, err := s.markSecondFactor(ctx, hashToken(token)); err != nil {
		return "", err
	}
	return token, nil
}

// BeginPasskeyVerification asks a known account's passkeys for an assertion: the second factor
// of a password sign-in, or a step-up for a signed-in session.
func (s *Service) BeginPasskeyVerification(ctx context.Context, sess *Session) (PasskeyOptions, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyOptions{}, err
	}
	if sess.Stage != StageSecondFactor && sess.Stage != StageFull {
		return PasskeyOptions{}, ErrWrongStage
	}
	u, _, err := s.loadPasskeyUser(ctx, sess.Subject.AccountID)
	if err != nil {
		return PasskeyOptions{}, err
	}
	if len(u.Credentials) == 0 {
		return PasskeyOptions{}, invalid("this account has no passkey")
	}
	ch, err := rp.BeginVerification(u)
	if err != nil {
		return PasskeyOptions{}, err
	}
	return s.begin(ctx, ceremonyVerify, u.AccountID, ch)
}

// FinishPasskeyVerification checks the assertion. At the second-factor stage the session is then
// fully signed in under a new token (returned); a signed-in session is stepped up ("" returned).
func (s *Service) FinishPasskeyVerification(ctx context.Context, sess *Session, ceremony string, response []byte, o Origin) (string, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return "", err
	}
	action := "auth.second-factor"
	if sess.Stage == StageFull {
		action = "auth.step-up"
	} else if sess.Stage != StageSecondFactor {
		return "", ErrWrongStage
	}
	sd, err := s.takeCeremony(ctx, ceremony, ceremonyVerify, sess.Subject.AccountID)
	if err != nil {
		return "", s.passkeyFailure(ctx, sess.Subject, action, "unknown-or-expired-ceremony", err, o)
	}
	u, _, err := s.loadPasskeyUser(ctx, sess.Subject.AccountID)
	if err != nil {
		return "", err
	}
	cred, err := rp.FinishVerification(u, sd, response)
	if err != nil {
		return "", s.ceremonyFailure(ctx, sess.Subject, action, err, o)
	}
	if err := s.updatePasskey(ctx, u, cred); err != nil {
		return "", err
	}
	if err := s.record(ctx, sess.Subject, action, sess.Subject.AccountID, audit.Success, reasonPasskey, o); err != nil {
		return "", err
	}
	if sess.Stage == StageSecondFactor {
		return s.advance(ctx, sess, StageFull, o)
	}
	if sess.Subject.FactorAt, err = s.markSecondFactor(ctx, sess.tokenHash); err != nil {
		return "", err
	}
	return "", nil
}

// ceremonyFailure audits an authenticator's answer that the relying party refused and returns
// ErrPasskeyInvalid; an error that is not the answer's fault is returned as it is.
func (s *Service) ceremonyFailure(ctx context.Context, by access.Subject, action string, err error, o Origin) error {
	switch {
	case errors.Is(err, passkey.ErrMalformed):
		return s.passkeyFailure(ctx, by, action, "malformed-response", ErrPasskeyInvalid, o)
	case errors.Is(err, passkey.ErrUnverified):
		return s.passkeyFailure(ctx, by, action, "verification-failed", ErrPasskeyInvalid, o)
	}
	return err
}

// passkeyFailure audits a failed ceremony and returns err (or the audit failure).
func (s *Service) passkeyFailure(ctx context.Context, by access.Subject, action, reason string, err error, o Origin) error {
	if aerr := s.record(ctx, by, action, by.AccountID, audit.Failure, reason, o); aerr != nil {
		return aerr
	}
	return err
}
