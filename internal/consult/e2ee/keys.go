package e2ee

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
)

// Device is a device's public identity as the key directory serves it: its id, its owner's
// account id and its two public keys.
type Device struct {
	ID, Account string
	SignKey     ed25519.PublicKey
	AgreeKey    *ecdh.PublicKey
}

// Fingerprint is the device's fingerprint (§1).
func (d Device) Fingerprint() string {
	var agree []byte
	if d.AgreeKey != nil {
		agree = d.AgreeKey.Bytes()
	}
	return Fingerprint(d.SignKey, agree)
}

// DeviceKeys are a device's private keys. They never leave the device.
type DeviceKeys struct {
	Sign  ed25519.PrivateKey
	Agree *ecdh.PrivateKey
}

// Public returns the device's public keys as a Device with the given id and account.
func (k DeviceKeys) Public(id, account string) Device {
	return Device{ID: id, Account: account, SignKey: k.Sign.Public().(ed25519.PublicKey), AgreeKey: k.Agree.PublicKey()}
}

// NewDeviceKeys makes a device's two key pairs from random (crypto/rand.Reader when nil). The
// reader supplies the Ed25519 seed, then the X25519 private key, 32 bytes each, so a fixed
// reader gives fixed keys in tests.
func NewDeviceKeys(random io.Reader) (DeviceKeys, error) {
	if random == nil {
		random = rand.Reader
	}
	var seed, agree [32]byte
	if _, err := io.ReadFull(random, seed[:]); err != nil {
		return DeviceKeys{}, fmt.Errorf("e2ee: device keys: %w", err)
	}
	if _, err := io.ReadFull(random, agree[:]); err != nil {
		return DeviceKeys{}, fmt.Errorf("e2ee: device keys: %w", err)
	}
	return DeviceKeysFromBytes(seed[:], agree[:])
}

// DeviceKeysFromBytes rebuilds keys from a 32-byte Ed25519 seed and a 32-byte X25519 private key.
func DeviceKeysFromBytes(signSeed, agreePrivate []byte) (DeviceKeys, error) {
	if len(signSeed) != ed25519.SeedSize {
		return DeviceKeys{}, fmt.Errorf("e2ee: signing seed is %d bytes, want 32", len(signSeed))
	}
	agree, err := ecdh.X25519().NewPrivateKey(agreePrivate)
	if err != nil {
		return DeviceKeys{}, fmt.Errorf("e2ee: agreement key: %w", err)
	}
	return DeviceKeys{Sign: ed25519.NewKeyFromSeed(signSeed), Agree: agree}, nil
}

// ParseDevice builds a Device from raw public keys, refusing keys of the wrong size.
func ParseDevice(id, account string, signKey, agreeKey []byte) (Device, error) {
	if len(signKey) != ed25519.PublicKeySize {
		return Device{}, fmt.Errorf("%w: signing key is %d bytes", ErrMalformed, len(signKey))
	}
	agree, err := ecdh.X25519().NewPublicKey(agreeKey)
	if err != nil {
		return Device{}, fmt.Errorf("%w: agreement key: %v", ErrMalformed, err)
	}
	return Device{ID: id, Account: account, SignKey: ed25519.PublicKey(append([]byte(nil), signKey...)), AgreeKey: agree}, nil
}

// Fingerprint is hex(SHA-256("haven-device-v1\x00" ‖ sign ‖ agree)) over the raw public keys.
func Fingerprint(sign, agree []byte) string {
	h := sha256.New()
	h.Write([]byte("haven-device-v1\x00"))
	h.Write(sign)
	h.Write(agree)
	return hex.EncodeToString(h.Sum(nil))
}

// B64 is bytes that travel as base64url without padding (RFC 4648 §5), as every binary field
// of the protocol does.
type B64 []byte

// MarshalText writes b64.
func (b B64) MarshalText() ([]byte, error) {
	return []byte(base64.RawURLEncoding.EncodeToString(b)), nil
}

// UnmarshalText reads b64, refusing padding and non-canonical encodings.
func (b *B64) UnmarshalText(text []byte) error {
	v, err := decodeB64(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

func encodeB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// decodeB64 reads strict base64url without padding: one text, one reading.
func decodeB64(s string) ([]byte, error) {
	v, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64url", ErrMalformed)
	}
	return v, nil
}

// appendField appends u32(f): f's length as 4 big-endian bytes, then f.
func appendField(b []byte, f []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
	return append(b, f...)
}
