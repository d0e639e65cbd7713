package e2ee

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// MaxDirectoryAnswer bounds a key directory answer a client reads (1 MiB).
const MaxDirectoryAnswer = 1 << 20

// ParseDirectoryAnswer reads a key directory answer strictly (unknown fields, trailing data,
// keys or proof hashes of the wrong size, devices without an id are ErrMalformed). It checks the
// form only: each device still goes through VerifyDevice before use.
func ParseDirectoryAnswer(data []byte) (DirectoryAnswer, error) {
	var a DirectoryAnswer
	if err := decodeStrict(data, MaxDirectoryAnswer, &a); err != nil {
		return DirectoryAnswer{}, err
	}
	if a.Checkpoint == "" || a.Origin == "" {
		return DirectoryAnswer{}, fmt.Errorf("%w: directory answer without a checkpoint", ErrMalformed)
	}
	for _, p := range a.People {
		if p.AccountID == "" {
			return DirectoryAnswer{}, fmt.Errorf("%w: directory person without an account", ErrMalformed)
		}
		for _, d := range p.Devices {
			if d.DeviceID == "" || len(d.SignKey) != 32 || len(d.AgreeKey) != 32 {
				return DirectoryAnswer{}, fmt.Errorf("%w: directory device", ErrMalformed)
			}
			for _, h := range d.Proof {
				if len(h) != 32 {
					return DirectoryAnswer{}, fmt.Errorf("%w: directory proof", ErrMalformed)
				}
			}
		}
	}
	return a, nil
}

// ParseDescription reads an offer or answer signalling payload strictly: exactly the fields of
// §4, a known kind, a 16-byte nonce and a 64-byte signature. Description.Check does the rest.
func ParseDescription(data []byte) (Description, error) {
	if err := exactKeys(data, []string{"kind", "sdp", "nonce", "fingerprint", "sig"}, nil); err != nil {
		return Description{}, err
	}
	var d Description
	if err := decodeStrict(data, 64<<10, &d); err != nil {
		return Description{}, err
	}
	if (d.Kind != "offer" && d.Kind != "answer") || len(d.Nonce) != NonceSize || len(d.Sig) != 64 || d.SDP == "" {
		return Description{}, fmt.Errorf("%w: description", ErrMalformed)
	}
	return d, nil
}

// decodeStrict decodes one JSON value of at most limit bytes into v, refusing unknown fields
// and trailing data.
func decodeStrict(data []byte, limit int, v any) error {
	if len(data) > limit {
		return fmt.Errorf("%w: larger than %d bytes", ErrMalformed, limit)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: data after the value", ErrMalformed)
	}
	if _, err := dec.Token(); err == nil {
		return fmt.Errorf("%w: data after the value", ErrMalformed)
	}
	return nil
}
