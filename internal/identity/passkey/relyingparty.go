package passkey

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Config names the relying party.
type Config struct {
	// RPID is the host name people reach Haven at (never an IP address) and Origin the one
	// origin a passkey may be used from (https://host[:port]). Either empty turns passkeys off.
	RPID, Origin string
	// DisplayName is the service's name as authenticators show it.
	DisplayName string
}

// RelyingParty runs the WebAuthn side of each ceremony.
type RelyingParty struct{ wa *webauthn.WebAuthn }

// New builds the relying party, or returns nil (and no error) when cfg turns passkeys off.
func New(cfg Config) (*RelyingParty, error) {
	if cfg.RPID == "" || cfg.Origin == "" {
		return nil, nil
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.DisplayName,
		RPOrigins:     []string{cfg.Origin},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyLifetime},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: CeremonyLifetime},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey: relying party: %w", err)
	}
	return &RelyingParty{wa: wa}, nil
}

// User adapts an account to go-webauthn. The user handle is the account ID, which carries no
// personal detail.
type User struct {
	AccountID   string
	Name        string // what the person's device shows: an e-mail address or a neutral label
	Credentials []webauthn.Credential
}

func (u *User) WebAuthnID() []byte                         { return []byte(u.AccountID) }
func (u *User) WebAuthnName() string                       { return u.Name }
func (u *User) WebAuthnDisplayName() string                { return u.Name }
func (u *User) WebAuthnCredentials() []webauthn.Credential { return u.Credentials }

// Used returns u's stored credential that cred (as an assertion verified it) names, with the
// sign count and flags the assertion brought, to be stored again. It is false if cred is not
// one of u's.
//
// go-webauthn does not refuse an assertion whose counter failed to advance (a sign of a cloned
// authenticator): it sets CloneWarning, which is kept on the stored credential.
func (u *User) Used(cred *webauthn.Credential) (webauthn.Credential, bool) {
	for _, c := range u.Credentials {
		if bytes.Equal(c.ID, cred.ID) {
			c.Authenticator.SignCount = cred.Authenticator.SignCount
			c.Authenticator.CloneWarning = cred.Authenticator.CloneWarning
			c.Flags = cred.Flags
			return c, true
		}
	}
	return webauthn.Credential{}, false
}

// Challenge is a begun ceremony: the options for the browser, and the session data needed to
// finish it, which the caller keeps under a single-use handle for at most CeremonyLifetime.
type Challenge struct {
	PublicKey any
	Session   []byte
}

func challenge(publicKey any, sd *webauthn.SessionData) (Challenge, error) {
	raw, err := json.Marshal(sd)
	if err != nil {
		return Challenge{}, fmt.Errorf("passkey: encode ceremony: %w", err)
	}
	return Challenge{PublicKey: publicKey, Session: raw}, nil
}

// session decodes a ceremony's session data. go-webauthn checks its expiry against the wall
// clock; the caller has already checked it on its own clock (so that tests can move time), and
// this check is switched off.
func session(raw []byte) (webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if err := json.Unmarshal(raw, &sd); err != nil {
		return sd, fmt.Errorf("passkey: decode ceremony: %w", err)
	}
	sd.Expires = time.Time{}
	return sd, nil
}

// BeginRegistration asks for a new discoverable credential with user verification and no
// attestation, excluding the authenticators u already registered.
func (rp *RelyingParty) BeginRegistration(u *User) (Challenge, error) {
	exclude := make([]protocol.CredentialDescriptor, len(u.Credentials))
	for i, c := range u.Credentials {
		exclude[i] = c.Descriptor()
	}
	creation, sd, err := rp.wa.BeginRegistration(u,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationRequired,
		}),
		webauthn.WithExclusions(exclude),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation))
	if err != nil {
		return Challenge{}, fmt.Errorf("passkey: begin registration: %w", err)
	}
	return challenge(creation.Response, sd)
}

// FinishRegistration verifies the authenticator's answer (PublicKeyCredential.toJSON()) to the
// ceremony whose session data is sd and returns the new credential.
func (rp *RelyingParty) FinishRegistration(u *User, sd, response []byte) (*webauthn.Credential, error) {
	s, err := session(sd)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	cred, err := rp.wa.CreateCredential(u, s, parsed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	return cred, nil
}

// BeginSignIn starts a passwordless sign-in: the browser offers the person's discoverable
// passkeys for this site, and the answer names the account.
func (rp *RelyingParty) BeginSignIn() (Challenge, error) {
	assertion, sd, err := rp.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return Challenge{}, fmt.Errorf("passkey: begin sign-in: %w", err)
	}
	return challenge(assertion.Response, sd)
}

// FinishSignIn verifies a passwordless sign-in. lookup loads the account its user handle names;
// the user it returned and the verified credential are returned.
func (rp *RelyingParty) FinishSignIn(sd, response []byte, lookup func(accountID string) (*User, error)) (*User, *webauthn.Credential, error) {
	s, err := session(sd)
	if err != nil {
		return nil, nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var found *User
	handler := func(_, userHandle []byte) (webauthn.User, error) {
		u, err := lookup(string(userHandle))
		if err != nil {
			return nil, err
		}
		found = u
		return u, nil
	}
	_, cred, err := rp.wa.ValidatePasskeyLogin(handler, s, parsed)
	if err == nil && found == nil {
		err = errors.New("no account for the user handle")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	return found, cred, nil
}

// BeginVerification asks u's passkeys, and only those, for an assertion with user
// verification: the second factor of a password sign-in, or a step-up.
func (rp *RelyingParty) BeginVerification(u *User) (Challenge, error) {
	assertion, sd, err := rp.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return Challenge{}, fmt.Errorf("passkey: begin verification: %w", err)
	}
	return challenge(assertion.Response, sd)
}

// FinishVerification verifies u's assertion and returns the credential it used.
func (rp *RelyingParty) FinishVerification(u *User, sd, response []byte) (*webauthn.Credential, error) {
	s, err := session(sd)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	cred, err := rp.wa.ValidateLogin(u, s, parsed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	return cred, nil
}

// Assertion is a verified assertion's parts, kept so that anyone can check it again offline:
// the credential, its COSE public key, and what the authenticator signed.
type Assertion struct {
	CredentialID      []byte
	PublicKey         []byte // COSE_Key
	AuthenticatorData []byte
	ClientDataJSON    []byte
	Signature         []byte
}

// BeginSigning asks u's passkeys to sign digest (a document's digest, as the challenge) with user
// verification: the authenticator signs the exact bytes named, not a random nonce.
func (rp *RelyingParty) BeginSigning(u *User, digest []byte) (Challenge, error) {
	assertion, sd, err := rp.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationRequired),
		webauthn.WithChallenge(digest))
	if err != nil {
		return Challenge{}, fmt.Errorf("passkey: begin signing: %w", err)
	}
	return challenge(assertion.Response, sd)
}

// FinishSigning verifies u's assertion to a signing ceremony and returns the credential it
// used and the assertion's parts.
func (rp *RelyingParty) FinishSigning(u *User, sd, response []byte) (*webauthn.Credential, Assertion, error) {
	s, err := session(sd)
	if err != nil {
		return nil, Assertion{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, Assertion{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	cred, err := rp.wa.ValidateLogin(u, s, parsed)
	if err != nil {
		return nil, Assertion{}, fmt.Errorf("%w: %w", ErrUnverified, err)
	}
	raw := parsed.Raw.AssertionResponse
	return cred, Assertion{CredentialID: cred.ID, PublicKey: cred.PublicKey, AuthenticatorData: raw.AuthenticatorData,
		ClientDataJSON: raw.ClientDataJSON, Signature: raw.Signature}, nil
}
