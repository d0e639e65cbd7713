package e2ee

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Version is the envelope format this package writes and reads.
const Version = 1

// MaxEnvelope is the largest envelope the server stores (256 KiB of JSON).
const MaxEnvelope = 256 << 10

// Sizes of an envelope's binary fields.
const (
	idSize      = 16
	keySize     = 32
	ivSize      = 12
	tagSize     = 16
	wrappedSize = keySize + tagSize
)

// Envelope is one message as it travels and is stored (§3). Identifiers, sentAt and id are
// signed as the strings they are here; binary fields are raw bytes, written as b64.
type Envelope struct {
	V          int         `json:"v"`
	Thread     string      `json:"thread"`
	ID         string      `json:"id"` // b64 of 16 random bytes
	Sender     DeviceRef   `json:"sender"`
	Seq        uint64      `json:"seq"`
	SentAt     string      `json:"sentAt"` // RFC 3339, UTC
	EPK        B64         `json:"epk"`
	Recipients []Recipient `json:"recipients"`
	IV         B64         `json:"iv"`
	Ciphertext B64         `json:"ciphertext"`
	Sig        B64         `json:"sig"`
}

// DeviceRef names a device and its owner, as envelopes and signalling messages do.
type DeviceRef struct {
	Account string `json:"account"`
	Device  string `json:"device"`
}

// Recipient is one recipient device's copy of the content key.
type Recipient struct {
	Device  string `json:"device"`
	IV      B64    `json:"iv"`
	Wrapped B64    `json:"wrapped"`
}

// Sender is the sealing device: its owner, its id and its private keys.
type Sender struct {
	Account, Device string
	Keys            DeviceKeys
}

// Seal encrypts plaintext (a Message's JSON) for every recipient device and signs the envelope
// with the sender's signing key. recipients must include the sender's other devices (and may
// include the sender's own, to read its history). seq is the sender device's next number in
// the thread, starting at 1.
//
// random (crypto/rand.Reader when nil) supplies, in order: the 16-byte id, the 32-byte content
// key, the 32-byte ephemeral X25519 private key, the 12-byte body iv, then a 12-byte iv per
// recipient in the order of their sorted device ids. A fixed reader therefore gives a fixed
// envelope, which the test vectors use.
func Seal(random io.Reader, from Sender, thread string, seq uint64, sentAt time.Time, plaintext []byte, recipients []Device) (Envelope, error) {
	if random == nil {
		random = rand.Reader
	}
	if thread == "" || from.Account == "" || from.Device == "" || seq == 0 {
		return Envelope{}, fmt.Errorf("%w: seal needs a thread, a sender and a seq from 1", ErrMalformed)
	}
	if from.Keys.Sign == nil {
		return Envelope{}, fmt.Errorf("%w: seal needs the sender's signing key", ErrMalformed)
	}
	if len(recipients) == 0 {
		return Envelope{}, fmt.Errorf("%w: seal needs at least one recipient device", ErrMalformed)
	}
	rs := slices.Clone(recipients)
	slices.SortFunc(rs, func(a, b Device) int { return strings.Compare(a.ID, b.ID) })
	for i, r := range rs {
		if r.ID == "" || r.AgreeKey == nil || r.AgreeKey.Curve() != ecdh.X25519() {
			return Envelope{}, fmt.Errorf("%w: recipient %d has no id or no X25519 key", ErrMalformed, i)
		}
		if i > 0 && rs[i-1].ID == r.ID {
			return Envelope{}, fmt.Errorf("%w: recipient device %q twice", ErrMalformed, r.ID)
		}
	}

	var id [idSize]byte
	var ck, ephRaw [keySize]byte
	var iv [ivSize]byte
	for _, b := range [][]byte{id[:], ck[:], ephRaw[:], iv[:]} {
		if _, err := io.ReadFull(random, b); err != nil {
			return Envelope{}, fmt.Errorf("e2ee: seal: %w", err)
		}
	}
	eph, err := ecdh.X25519().NewPrivateKey(ephRaw[:])
	if err != nil {
		return Envelope{}, fmt.Errorf("e2ee: seal: %w", err)
	}
	env := Envelope{
		V: Version, Thread: thread, ID: encodeB64(id[:]),
		Sender: DeviceRef{Account: from.Account, Device: from.Device},
		Seq:    seq, SentAt: sentAt.UTC().Format(time.RFC3339),
		EPK: eph.PublicKey().Bytes(), IV: iv[:],
	}
	for _, r := range rs {
		riv := make([]byte, ivSize)
		if _, err := io.ReadFull(random, riv); err != nil {
			return Envelope{}, fmt.Errorf("e2ee: seal: %w", err)
		}
		shared, err := eph.ECDH(r.AgreeKey)
		if err != nil {
			return Envelope{}, fmt.Errorf("%w: recipient %q: key agreement: %v", ErrMalformed, r.ID, err)
		}
		kek, err := deriveKEK(shared, env.EPK, r.AgreeKey.Bytes(), env.ID, r.ID)
		if err != nil {
			return Envelope{}, err
		}
		g, err := newGCM(kek)
		if err != nil {
			return Envelope{}, err
		}
		env.Recipients = append(env.Recipients, Recipient{Device: r.ID, IV: riv, Wrapped: g.Seal(nil, riv, ck[:], []byte(env.ID))})
	}
	g, err := newGCM(ck[:])
	if err != nil {
		return Envelope{}, err
	}
	env.Ciphertext = g.Seal(nil, iv[:], plaintext, bodyAAD(env))
	env.Sig = ed25519.Sign(from.Keys.Sign, signedData(env))
	return env, nil
}

// deriveKEK derives the key-encryption key of one recipient: HKDF-SHA256 over the X25519 shared
// secret, salted with epk ‖ the recipient's agreement key, bound to the message id and device.
func deriveKEK(shared, epk, recipientKey []byte, id, device string) ([]byte, error) {
	kek, err := hkdf.Key(sha256.New, shared, wrapSalt(epk, recipientKey), wrapInfo(id, device), keySize)
	if err != nil {
		return nil, fmt.Errorf("e2ee: hkdf: %w", err)
	}
	return kek, nil
}

func wrapSalt(epk, recipientKey []byte) []byte { return slices.Concat(epk, recipientKey) }

func wrapInfo(id, device string) string { return "haven-e2ee-v1 wrap\x00" + id + "\x00" + device }

// bodyAAD binds the ciphertext to its thread, id, sender device and seq.
func bodyAAD(env Envelope) []byte {
	b := []byte("haven-e2ee-v1 body\x00")
	b = appendField(b, []byte(env.Thread))
	b = appendField(b, []byte(env.ID))
	b = appendField(b, []byte(env.Sender.Device))
	return appendField(b, []byte(strconv.FormatUint(env.Seq, 10)))
}

// signedData is what the sender's signing key signs: every field of the envelope, the
// recipients in device-id order.
func signedData(env Envelope) []byte {
	b := []byte("haven-e2ee-v1 sig\x00")
	for _, f := range []string{strconv.Itoa(env.V), env.Thread, env.ID, env.Sender.Account, env.Sender.Device,
		strconv.FormatUint(env.Seq, 10), env.SentAt} {
		b = appendField(b, []byte(f))
	}
	b = appendField(b, env.EPK)
	b = appendField(b, env.IV)
	b = appendField(b, env.Ciphertext)
	rs := slices.Clone(env.Recipients)
	slices.SortFunc(rs, func(a, b Recipient) int { return strings.Compare(a.Device, b.Device) })
	for _, r := range rs {
		b = appendField(b, []byte(r.Device))
		b = appendField(b, r.IV)
		b = appendField(b, r.Wrapped)
	}
	return b
}

func newGCM(key []byte) (cipher.AEAD, error) {
	c, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("e2ee: aes: %w", err)
	}
	g, err := cipher.NewGCM(c)
	if err != nil {
		return nil, fmt.Errorf("e2ee: gcm: %w", err)
	}
	return g, nil
}
