// Package passkey is the WebAuthn side of Haven's passkeys: the relying party built from
// configuration, the options and checks of each ceremony (registration, passwordless sign-in,
// verification of a known account), an account as go-webauthn sees it, a credential's sealed
// form bound to its account and credential ID, and the types the API shows.
//
// Haven asks for discoverable credentials with user verification, so one passkey is a
// multi-factor, phishing-resistant authenticator on its own (NIST SP 800-63B AAL2, and AAL3
// where the device's key is hardware-bound).
//
// It knows nothing of sessions, sign-in stages, policy, the audit log or the database: identity
// decides who may run a ceremony, keeps each ceremony's session data single use and bounds its
// life on its own clock, stores what this package seals, and records every outcome through the
// door.
package passkey

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"haven/internal/fault"
)

// CeremonyLifetime bounds the time between a WebAuthn challenge and its answer.
const CeremonyLifetime = 5 * time.Minute

// Errors. ErrMalformed and ErrUnverified wrap go-webauthn's cause, for the log; the caller
// decides what the person is told.
var (
	// ErrMalformed means an authenticator's answer could not be parsed.
	ErrMalformed = errors.New("passkey: malformed response")
	// ErrUnverified means an answer was parsed but did not verify: wrong challenge, origin,
	// relying party, signature or credential, or no user verification.
	ErrUnverified = errors.New("passkey: verification failed")
	// ErrName explains which passkey names are accepted; its text is safe to show.
	ErrName = fault.New(fault.Invalid, "a passkey name is one line of at most 60 characters")
)

// Options is what the browser passes to navigator.credentials.create or .get, with the handle of
// the ceremony to finish.
type Options struct {
	Ceremony string `json:"ceremony"`
	// PublicKey is the WebAuthn options object (base64url fields), for
	// PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON.
	PublicKey any `json:"publicKey"`
}

// Info is one of an account's passkeys as its owner sees it.
type Info struct {
	ID        string    `json:"id"` // base64url credential ID
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	LastUsed  time.Time `json:"lastUsed,omitzero"` // absent until first used
}

// DefaultName is the name of a passkey registered without one.
const DefaultName = "Passkey"

// CleanName trims a passkey's name and bounds it: one line of at most 60 characters, so that it
// lists well and cannot forge a second line in a page or an e-mail.
func CleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = DefaultName
	}
	if utf8.RuneCountInString(name) > 60 || strings.ContainsAny(name, "\x00\r\n") {
		return "", ErrName
	}
	return name, nil
}
