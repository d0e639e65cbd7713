package e2ee

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
)

// NonceSize is the size of a description's nonce.
const NonceSize = 16

// descriptionData is what a description's signature covers (§4).
func descriptionData(visitID, from, to string, nonce []byte, fingerprint string) []byte {
	b := []byte("haven-dtls-v1\x00")
	b = appendField(b, []byte(visitID))
	b = appendField(b, []byte(from))
	b = appendField(b, []byte(to))
	b = appendField(b, nonce)
	return appendField(b, []byte(fingerprint))
}

// SignDescription signs a session description's DTLS fingerprint for one visit, from one
// device to another, with a fresh nonce: Ed25519 over "haven-dtls-v1\x00" ‖ u32(visitID) ‖
// u32(from) ‖ u32(to) ‖ u32(nonce) ‖ u32(fingerprint).
func SignDescription(keys DeviceKeys, visitID, from, to string, nonce []byte, fingerprint string) []byte {
	return ed25519.Sign(keys.Sign, descriptionData(visitID, from, to, nonce, fingerprint))
}

// VerifyDescription checks a description's signature with the sender device's directory key:
// ErrBadDescription if it does not verify. The caller also checks that fingerprint is the
// SDP's (SDPFingerprint), that to is itself and that the nonce is new (NonceSet).
func VerifyDescription(pub ed25519.PublicKey, visitID, from, to string, nonce []byte, fingerprint string, sig []byte) error {
	if len(pub) != ed25519.PublicKeySize || len(nonce) != NonceSize ||
		!ed25519.Verify(pub, descriptionData(visitID, from, to, nonce, fingerprint), sig) {
		return ErrBadDescription
	}
	return nil
}

// fingerprintValue is "<hash> <hex pairs with colons>" for the hashes WebRTC uses (RFC 8122).
var fingerprintValue = regexp.MustCompile(`^(sha-256 [0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}|sha-384 [0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){47}|sha-512 [0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){63})$`)

// SDPFingerprint returns the a=fingerprint value of an SDP (e.g. "sha-256 AB:CD:…"), written
// as the SDP writes it. An SDP with none, with several that differ (session and media level
// included), or with one that is not a sha-256/384/512 fingerprint is refused
// (ErrSDPFingerprint): a description whose media could be keyed by another certificate than the
// one signed is never accepted.
func SDPFingerprint(sdp string) (string, error) {
	var found string
	for line := range strings.SplitSeq(sdp, "\n") {
		line = strings.TrimSuffix(line, "\r")
		v, ok := strings.CutPrefix(line, "a=fingerprint:")
		if !ok {
			if strings.HasPrefix(strings.ToLower(line), "a=fingerprint") {
				return "", fmt.Errorf("%w: malformed fingerprint line", ErrSDPFingerprint)
			}
			continue
		}
		if !fingerprintValue.MatchString(v) {
			return "", fmt.Errorf("%w: malformed fingerprint", ErrSDPFingerprint)
		}
		if found != "" && v != found {
			return "", fmt.Errorf("%w: conflicting fingerprints", ErrSDPFingerprint)
		}
		found = v
	}
	if found == "" {
		return "", fmt.Errorf("%w: none", ErrSDPFingerprint)
	}
	return found, nil
}

// NonceSet remembers the description nonces a device accepted during a call, so a replayed
// description is refused. The zero NonceSet is empty and ready; it is safe for concurrent use.
type NonceSet struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

// Add records nonce, or returns ErrReplayedNonce if it was seen before (or ErrBadDescription if
// it is not NonceSize bytes).
func (s *NonceSet) Add(nonce []byte) error {
	if len(nonce) != NonceSize {
		return ErrBadDescription
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen == nil {
		s.seen = map[string]struct{}{}
	}
	if _, ok := s.seen[string(nonce)]; ok {
		return ErrReplayedNonce
	}
	s.seen[string(nonce)] = struct{}{}
	return nil
}

// Description is the signalling payload of an offer or an answer (§4).
type Description struct {
	Kind        string `json:"kind"` // "offer" or "answer"
	SDP         string `json:"sdp"`
	Nonce       B64    `json:"nonce"`
	Fingerprint string `json:"fingerprint"`
	Sig         B64    `json:"sig"`
}

// NewDescription signs sdp's DTLS fingerprint for the device to, with a fresh nonce from random
// (crypto/rand.Reader when nil).
func NewDescription(random io.Reader, keys DeviceKeys, visitID, from, to, kind, sdp string) (Description, error) {
	if random == nil {
		random = rand.Reader
	}
	if kind != "offer" && kind != "answer" {
		return Description{}, fmt.Errorf("%w: description kind %q", ErrMalformed, kind)
	}
	fp, err := SDPFingerprint(sdp)
	if err != nil {
		return Description{}, err
	}
	nonce := make(B64, NonceSize)
	if _, err := io.ReadFull(random, nonce); err != nil {
		return Description{}, fmt.Errorf("e2ee: nonce: %w", err)
	}
	return Description{Kind: kind, SDP: sdp, Nonce: nonce, Fingerprint: fp,
		Sig: SignDescription(keys, visitID, from, to, nonce, fp)}, nil
}

// Check is what a receiving device does before it applies a description from the device from:
// the description is addressed to me (to == me), the SDP's fingerprint is the signed one, the
// signature verifies with from's directory key pub, and the nonce is new to nonces (recorded
// only when everything else passed). Any failure is ErrBadDescription or ErrReplayedNonce.
func (d Description) Check(pub ed25519.PublicKey, visitID, from, to, me string, nonces *NonceSet) error {
	if to != me || (d.Kind != "offer" && d.Kind != "answer") {
		return ErrBadDescription
	}
	fp, err := SDPFingerprint(d.SDP)
	if err != nil || fp != d.Fingerprint {
		return ErrBadDescription
	}
	if err := VerifyDescription(pub, visitID, from, to, d.Nonce, d.Fingerprint, d.Sig); err != nil {
		return err
	}
	return nonces.Add(d.Nonce)
}
