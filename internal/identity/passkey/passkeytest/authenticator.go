// Package passkeytest is a software passkey for tests: a FIDO2 authenticator that answers
// WebAuthn options the way a browser's navigator.credentials does, so that identity's own tests
// and the server's API tests run real ceremonies without a browser.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator is a software passkey: a FIDO2 authenticator with ES256 keys,
// "none" attestation and user verification, speaking the same JSON a browser's
// PublicKeyCredential.toJSON() produces. The browser tests use Chromium's virtual authenticator
// instead; this one lets the attack tests tamper with what an authenticator answers.
type Authenticator struct {
	Origin string // the origin written into client data: the relying party's origin
	creds  []*softCredential
}

type softCredential struct {
	id         []byte
	key        *ecdsa.PrivateKey
	rpID       string
	userHandle []byte
	count      uint32
}

var b64 = base64.RawURLEncoding

// creationOptions and requestOptions are the parts of the WebAuthn options the authenticator
// reads.
type creationOptions struct {
	Challenge string `json:"challenge"`
	RP        struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
}

type requestOptions struct {
	Challenge string `json:"challenge"`
	RPID      string `json:"rpId"`
	Allow     []struct {
		ID string `json:"id"`
	} `json:"allowCredentials"`
}

func (a *Authenticator) clientData(kind, challenge string) []byte {
	cd, _ := json.Marshal(map[string]any{"type": kind, "challenge": challenge, "origin": a.Origin, "crossOrigin": false})
	return cd
}

func authData(rpID string, flags byte, count uint32, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, count)
	return append(out, attested...)
}

const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagAT = 0x40 // attested credential data included
)

// Create answers navigator.credentials.create: publicKey is the options object the server sent.
func (a *Authenticator) Create(publicKey any) (map[string]any, error) {
	var opts creationOptions
	if err := remarshal(publicKey, &opts); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	userHandle, err := b64.DecodeString(opts.User.ID)
	if err != nil {
		return nil, fmt.Errorf("user handle: %w", err)
	}
	c := &softCredential{id: make([]byte, 32), key: key, rpID: opts.RP.ID, userHandle: userHandle}
	rand.Read(c.id)
	point, err := key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, err
	}
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: point[1:33], -3: point[33:65]})
	if err != nil {
		return nil, err
	}
	attested := make([]byte, 16) // AAGUID: all zero for "none" attestation
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(c.id)))
	attested = append(append(attested, c.id...), cose...)
	attObj, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": authData(c.rpID, flagUP|flagUV|flagAT, 0, attested)})
	if err != nil {
		return nil, err
	}
	a.creds = append(a.creds, c)
	return map[string]any{
		"id": b64.EncodeToString(c.id), "rawId": b64.EncodeToString(c.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", opts.Challenge)),
			"attestationObject": b64.EncodeToString(attObj),
			"transports":        []string{"internal"},
		},
	}, nil
}

// Get answers navigator.credentials.get with the newest matching credential.
func (a *Authenticator) Get(publicKey any) (map[string]any, error) {
	var opts requestOptions
	if err := remarshal(publicKey, &opts); err != nil {
		return nil, err
	}
	var c *softCredential
	for i := len(a.creds) - 1; i >= 0 && c == nil; i-- {
		cand := a.creds[i]
		if cand.rpID != opts.RPID {
			continue
		}
		if len(opts.Allow) == 0 {
			c = cand
		}
		for _, al := range opts.Allow {
			if al.ID == b64.EncodeToString(cand.id) {
				c = cand
			}
		}
	}
	if c == nil {
		return nil, fmt.Errorf("no credential for %q", opts.RPID)
	}
	c.count++
	ad := authData(c.rpID, flagUP|flagUV, c.count, nil)
	cd := a.clientData("webauthn.get", opts.Challenge)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"id": b64.EncodeToString(c.id), "rawId": b64.EncodeToString(c.id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(c.userHandle),
		},
	}, nil
}

func remarshal(in, out any) error {
	raw, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}
