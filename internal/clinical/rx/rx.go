// Package rx is a prescription's signed form, and nothing else: the canonical bytes a
// prescriber signs, their digest, and the offline check of a signature over them. It is pure:
// no store, no keys, no clock, so that anyone holding a prescription's content, its signature
// and the prescriber's public key (a leaf of the audit log) can verify it without Haven.
//
// # Canonical form
//
// The canonical form is one JSON object with every field a pharmacist relies on, plus the
// prescription, patient and prescriber identifiers, the issue time (RFC 3339, UTC, seconds) and
// a version ("haven-rx/1"). Every key is always present (an absent value is "" or 0), keys are
// sorted, there is no insignificant whitespace, and HTML characters are not escaped. The digest
// is SHA-256 of those bytes.
//
// # Signatures
//
// A passkey signature is a WebAuthn assertion whose challenge is the digest: the authenticator
// signs authenticatorData || SHA-256(clientDataJSON), and clientDataJSON names the challenge,
// so the signature covers the exact content. A key signature is Ed25519 over the digest, by the
// prescriber's key held in Haven's key service.
//
// The package refuses nothing about who signed: whether a key is the prescriber's is the audit
// log's word (its "prescriber.key-add" leaf), which callers check with Fingerprint and LeafReason.
package rx

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// Version names the canonical form.
const Version = "haven-rx/1"

// Signature methods.
const (
	MethodPasskey = "passkey" // a WebAuthn assertion; the public key is COSE
	MethodKey     = "key"     // Ed25519 by the key service; the public key is raw (32 bytes)
)

// Algorithm names, as the audit leaf writes them.
const (
	AlgWebAuthn = "webauthn-cose"
	AlgEd25519  = "ed25519"
)

// Errors.
var (
	ErrBadSignature = errors.New("rx: the signature does not verify")
	ErrMalformed    = errors.New("rx: malformed signature")
)

// Content is what a prescriber writes and a pharmacist relies on.
type Content struct {
	Medication string `json:"medication"`
	// Code is an optional code of the medication (RxNorm, SNOMED CT, a national code) and
	// CodeSystem the system it is from.
	Code       string `json:"code,omitempty"`
	CodeSystem string `json:"codeSystem,omitempty"`
	Strength   string `json:"strength,omitempty"`
	Form       string `json:"form,omitempty"`
	Dose       string `json:"dose,omitempty"`
	Route      string `json:"route,omitempty"`
	Frequency  string `json:"frequency,omitempty"`
	Quantity   string `json:"quantity"`
	Refills    int    `json:"refills"`
	// Notes are for the pharmacist.
	Notes string `json:"notes,omitempty"`
	// Schedule is the controlled-substance schedule the prescriber sets ("II" to "V"), or "".
	Schedule string `json:"schedule,omitempty"`
}

// Header is who and when: the identifiers and the issue time the signature also covers.
type Header struct {
	PrescriptionID string
	PatientID      string
	PrescriberID   string
	IssuedAt       time.Time
}

// Canonical returns the canonical bytes of a prescription (see the package doc).
func Canonical(h Header, c Content) []byte {
	m := map[string]any{
		"version":        Version,
		"prescriptionId": h.PrescriptionID,
		"patientId":      h.PatientID,
		"prescriberId":   h.PrescriberID,
		"issuedAt":       h.IssuedAt.UTC().Truncate(time.Second).Format(time.RFC3339),
		"medication":     c.Medication,
		"code":           c.Code,
		"codeSystem":     c.CodeSystem,
		"strength":       c.Strength,
		"form":           c.Form,
		"dose":           c.Dose,
		"route":          c.Route,
		"frequency":      c.Frequency,
		"quantity":       c.Quantity,
		"refills":        c.Refills,
		"notes":          c.Notes,
		"schedule":       c.Schedule,
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(m) // a map of strings and an int always encodes; keys come out sorted
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Digest is SHA-256 of canonical bytes.
func Digest(canonical []byte) []byte {
	d := sha256.Sum256(canonical)
	return d[:]
}

// Signature is a prescriber's signature, with everything needed to verify it offline.
type Signature struct {
	Method string `json:"method"`
	// PublicKey is the credential's COSE key (passkey) or the raw Ed25519 key (key).
	PublicKey []byte `json:"publicKey"`
	// CredentialID names the passkey that signed.
	CredentialID      []byte `json:"credentialId,omitempty"`
	AuthenticatorData []byte `json:"authenticatorData,omitempty"`
	ClientDataJSON    []byte `json:"clientDataJSON,omitempty"`
	Signature         []byte `json:"signature"`
}

// Alg is the algorithm name of s's key, as the audit leaf writes it.
func (s Signature) Alg() string {
	if s.Method == MethodPasskey {
		return AlgWebAuthn
	}
	return AlgEd25519
}

// Fingerprint names a public key: base64url (no padding) of SHA-256 of its bytes.
func Fingerprint(publicKey []byte) string {
	d := sha256.Sum256(publicKey)
	return base64.RawURLEncoding.EncodeToString(d[:])
}

// LeafReason is the reason a "prescriber.key-add" audit leaf records for a key:
// "<alg> <base64url public key>".
func LeafReason(alg string, publicKey []byte) string {
	return alg + " " + base64.RawURLEncoding.EncodeToString(publicKey)
}

// WebAuthn authenticator data flags.
const (
	flagUserPresent  = 0x01
	flagUserVerified = 0x04
)

// Verify checks that sig signs canonical. A passkey signature must be a "webauthn.get"
// assertion whose challenge is the digest, with the user present and verified.
func Verify(canonical []byte, sig Signature) error {
	digest := Digest(canonical)
	switch sig.Method {
	case MethodKey:
		if len(sig.PublicKey) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: ed25519 key of %d bytes", ErrMalformed, len(sig.PublicKey))
		}
		if !ed25519.Verify(ed25519.PublicKey(sig.PublicKey), digest, sig.Signature) {
			return ErrBadSignature
		}
		return nil
	case MethodPasskey:
		return verifyAssertion(digest, sig)
	}
	return fmt.Errorf("%w: method %q", ErrMalformed, sig.Method)
}

func verifyAssertion(digest []byte, sig Signature) error {
	var cd struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(sig.ClientDataJSON, &cd); err != nil {
		return fmt.Errorf("%w: client data: %w", ErrMalformed, err)
	}
	if cd.Type != "webauthn.get" {
		return fmt.Errorf("%w: client data type %q", ErrBadSignature, cd.Type)
	}
	if cd.Challenge != base64.RawURLEncoding.EncodeToString(digest) {
		return fmt.Errorf("%w: the challenge is not this prescription's digest", ErrBadSignature)
	}
	if len(sig.AuthenticatorData) < 37 {
		return fmt.Errorf("%w: authenticator data of %d bytes", ErrMalformed, len(sig.AuthenticatorData))
	}
	if flags := sig.AuthenticatorData[32]; flags&flagUserPresent == 0 || flags&flagUserVerified == 0 {
		return fmt.Errorf("%w: the user was not verified", ErrBadSignature)
	}
	key, err := webauthncose.ParsePublicKey(sig.PublicKey)
	if err != nil {
		return fmt.Errorf("%w: public key: %w", ErrMalformed, err)
	}
	cdHash := sha256.Sum256(sig.ClientDataJSON)
	signed := append(append([]byte{}, sig.AuthenticatorData...), cdHash[:]...)
	ok, err := webauthncose.VerifySignature(key, signed, sig.Signature)
	if err != nil || !ok {
		return ErrBadSignature
	}
	return nil
}
