package identity

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/identity/oidc"
	"haven/internal/keys"
)

// Federated sign-in: staff may sign in through the organisation's OpenID Connect provider. The
// provider vouches for an e-mail address; Haven maps a verified address to an existing, active
// staff account and never creates one. Patients never sign in this way.
//
// The provider's MFA assertion (amr "mfa", or a configured acr) stands in for Haven's second
// factor at sign-in, unless the organisation requires passkeys for staff; it does not open the
// step-up window, which only a Haven factor does. Without the assertion the session continues
// exactly as after a password: at Haven's second factor, or at enrolment.
//
// Between the redirect to the provider and its answer, the browser holds a random binding secret
// in a short-lived cookie. The state, the nonce and the PKCE verifier are derived from it (OpenID
// Connect Core §15.5.2 suggests the nonce be a hash of such a cookie), so the answer is accepted
// only in the browser that began the sign-in, and the database keeps nothing that could finish
// one: only the state's SHA-256 and an expiry, in oidc_logins, taken once.

// Federated sign-in errors. Their text is safe to show and the same for every refusal.
var (
	ErrFederationRefused     = fault.New(fault.Forbidden, "signing in with your organisation account did not work. Sign in with your e-mail address and password, or ask your administrator")
	ErrFederationUnavailable = fault.New(fault.Unavailable, "signing in with your organisation account is unavailable right now; sign in with your e-mail address and password, or try again later")
	ErrFederationOff         = fault.New(fault.NotFound, "signing in with an organisation account is not configured")
)

// FederationLifetime bounds the time between the redirect to the provider and its answer; the
// person may have to type a password and pass MFA there.
const FederationLifetime = 10 * time.Minute

// actionFederatedSignIn is the audit action of every federated sign-in attempt.
const actionFederatedSignIn = "auth.oidc"

// Federated sign-in audit reasons, besides the password sign-in's where they fit.
const (
	reasonIdPMFA          = "idp-mfa"               // fully signed in on the provider's MFA assertion
	reasonIdPFirstFactor  = "idp-first-factor"      // Haven's second factor (or enrolment) follows
	reasonIdPError        = "idp-error"             // the provider answered with an error
	reasonNoBinding       = "no-browser-binding"    // the binding cookie is missing
	reasonStateMismatch   = "state-mismatch"        // the state is not this browser's
	reasonStateUsed       = "unknown-or-used-state" // no pending sign-in has this state
	reasonStateExpired    = "state-expired"         // the sign-in took longer than FederationLifetime
	reasonTokenRefused    = "token-refused"         // code exchange or ID token verification failed
	reasonIdPUnavailable  = "idp-unavailable"       // the provider could not be reached
	reasonEmailUnverified = "email-not-verified"    // email_verified is not true
	reasonNoEmail         = "no-usable-email"       // the token carries no usable address
	reasonPatientAccount  = "patient-account"       // federated sign-in is for staff only
)

// Labels of the values derived from the browser's binding secret.
const (
	labelState    = "haven oidc state v1"
	labelNonce    = "haven oidc nonce v1"
	labelVerifier = "haven oidc verifier v1"
)

// derive computes a value for the provider from the browser's binding secret, one per label.
func derive(binding, label string) string {
	m := hmac.New(sha256.New, []byte(binding))
	m.Write([]byte(label))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)) // 43 characters: a valid PKCE verifier
}

// FederationName is the provider's name for the sign-in button, or "" when federated sign-in is
// off.
func (s *Service) FederationName() string {
	if s.oidc == nil {
		return ""
	}
	return s.oidc.Name()
}

// BeginFederatedSignIn starts a sign-in at the organisation's provider. It returns the URL to
// send the browser to and the binding secret the browser must keep (in a cookie) until the
// provider's answer.
func (s *Service) BeginFederatedSignIn(ctx context.Context, o Origin) (redirectURL, binding string, err error) {
	if s.oidc == nil {
		return "", "", ErrFederationOff
	}
	if wait := s.throttle.take("addr:"+o.Addr, s.now()); wait > 0 {
		return "", "", throttled(wait)
	}
	binding, _ = newToken()
	state := derive(binding, labelState)
	to, err := s.oidc.AuthCodeURL(ctx, state, derive(binding, labelNonce), derive(binding, labelVerifier))
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrFederationUnavailable, err)
	}
	now := s.now()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM oidc_logins WHERE expires_at < $1`, now.UnixNano()); err != nil {
		return "", "", fmt.Errorf("identity: expire federated sign-ins: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO oidc_logins (state_hash, expires_at) VALUES ($1, $2)`,
		hashToken(state), now.Add(FederationLifetime).UnixNano()); err != nil {
		return "", "", fmt.Errorf("identity: store federated sign-in: %w", err)
	}
	return to, binding, nil
}

// FederatedAnswer is the provider's answer at Haven's callback, with the browser's binding
// secret.
type FederatedAnswer struct {
	State, Code string
	Error       string // the provider's error code, if it refused
	Binding     string // from the browser's cookie
}

// FinishFederatedSignIn checks the provider's answer and starts a session for the staff account
// whose verified e-mail address the ID token carries. Every outcome is audited as auth.oidc;
// every refusal returns ErrFederationRefused (or ErrFederationUnavailable), whatever its cause,
// so the page does not tell a stranger which addresses have accounts.
func (s *Service) FinishFederatedSignIn(ctx context.Context, a FederatedAnswer, o Origin) (string, Stage, error) {
	if s.oidc == nil {
		return "", "", ErrFederationOff
	}
	var subject access.Subject
	resource := ""
	fail := func(reason string, err error) (string, Stage, error) {
		if aerr := s.record(ctx, subject, actionFederatedSignIn, resource, audit.Failure, reason, o); aerr != nil {
			return "", "", aerr
		}
		return "", "", err
	}
	refuse := func(reason string, cause error) (string, Stage, error) {
		if cause != nil {
			return fail(reason, fmt.Errorf("%w (%s: %w)", ErrFederationRefused, reason, cause))
		}
		return fail(reason, fmt.Errorf("%w (%s)", ErrFederationRefused, reason))
	}
	if wait := s.throttle.take("addr:"+o.Addr, s.now()); wait > 0 {
		return fail(reasonThrottled, throttled(wait))
	}
	if len(a.State) > 100 || len(a.Binding) > 100 || len(a.Code) > 2048 || len(a.Error) > 100 {
		return refuse(reasonMalformed, nil)
	}
	if a.Binding == "" {
		return refuse(reasonNoBinding, nil)
	}
	// A state this browser did not begin: a tampered answer, or someone else's answer fed to this
	// browser (login CSRF).
	if subtle.ConstantTimeCompare([]byte(derive(a.Binding, labelState)), []byte(a.State)) != 1 {
		return refuse(reasonStateMismatch, nil)
	}
	// The pending sign-in is used once, whatever the outcome.
	var expires int64
	err := s.db.QueryRowContext(ctx, `DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING expires_at`, hashToken(a.State)).Scan(&expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return refuse(reasonStateUsed, nil)
	case err != nil:
		return "", "", fmt.Errorf("identity: load federated sign-in: %w", err)
	}
	if s.now().UnixNano() > expires {
		return refuse(reasonStateExpired, nil)
	}
	if a.Error != "" {
		return refuse(reasonIdPError+": "+cleanErrorCode(a.Error), nil)
	}
	if a.Code == "" {
		return refuse(reasonMalformed, nil)
	}
	claims, err := s.oidc.Exchange(ctx, a.Code, derive(a.Binding, labelVerifier), derive(a.Binding, labelNonce))
	switch {
	case errors.Is(err, oidc.ErrUnavailable):
		return fail(reasonIdPUnavailable, fmt.Errorf("%w: %w", ErrFederationUnavailable, err))
	case err != nil:
		return refuse(reasonTokenRefused, err)
	}
	if !claims.EmailVerified {
		return refuse(reasonEmailUnverified, nil)
	}
	if !ValidEmail(claims.Email) {
		return refuse(reasonNoEmail, nil)
	}
	bidx, err := s.dir.BlindIndex(keys.IndexEmail, claims.Email)
	if err != nil {
		return refuse(reasonNoEmail, nil)
	}
	// As for a password, the log names an unknown address only by a prefix of its blind index.
	resource = "bidx:" + hex.EncodeToString(bidx[:8])
	acct, err := s.scanAccount(s.db.QueryRowContext(ctx, selectAccountByEmail, bidx))
	if errors.Is(err, sql.ErrNoRows) {
		return refuse(reasonUnknown, nil)
	}
	if err != nil {
		return "", "", fmt.Errorf("identity: federated sign-in: %w", err)
	}
	subject, resource = access.Subject{AccountID: acct.ID, Role: acct.Role}, acct.ID
	if !acct.Role.Workforce() {
		return refuse(reasonPatientAccount, nil)
	}
	if acct.Status != StatusActive {
		return refuse(reasonNotActive, nil)
	}
	stage, reason := StageFull, reasonIdPMFA
	if !s.oidc.AssertsMFA(claims) || s.passkeyRequired(acct.Role) {
		reason = reasonIdPFirstFactor
		if stage, err = s.factorStage(ctx, acct); err != nil {
			return "", "", err
		}
		if stage == "" {
			stage = StageEnrol // staff always need a second factor
		}
	}
	if err := s.record(ctx, subject, actionFederatedSignIn, acct.ID, audit.Success, reason, o); err != nil {
		return "", "", err
	}
	// A new session, under a new token, like every sign-in. It has not passed a Haven factor, so
	// a sensitive act still asks for one (step-up).
	token, err := s.signIn(ctx, acct.ID, stage, o)
	if err != nil {
		return "", "", err
	}
	return token, stage, nil
}

// cleanErrorCode keeps an OAuth error code (RFC 6749 §4.1.2.1: a short ASCII word) fit for the
// audit log.
func cleanErrorCode(code string) string {
	code = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r == '_' {
			return r
		}
		return -1
	}, code)
	if len(code) > 40 {
		code = code[:40]
	}
	return code
}
