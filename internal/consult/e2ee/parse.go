package e2ee

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// ParseEnvelope reads an envelope strictly: at most MaxEnvelope bytes of one JSON object with
// exactly the fields of §3 (no unknown, duplicate or differently cased keys, no trailing data),
// version 1, and every binary field of its exact size. It checks the form only; Inbox.Open
// checks the rest.
func ParseEnvelope(data []byte) (Envelope, error) {
	if len(data) > MaxEnvelope {
		return Envelope{}, fmt.Errorf("%w: envelope larger than %d bytes", ErrMalformed, MaxEnvelope)
	}
	if err := exactKeys(data, envelopeKeys, map[string]func(json.RawMessage) error{
		"sender": func(v json.RawMessage) error { return exactKeys(v, senderKeys, nil) },
		"recipients": func(v json.RawMessage) error {
			var rs []json.RawMessage
			if err := json.Unmarshal(v, &rs); err != nil {
				return err
			}
			for _, r := range rs {
				if err := exactKeys(r, recipientKeys, nil); err != nil {
					return err
				}
			}
			return nil
		},
	}); err != nil {
		return Envelope{}, err
	}
	var env Envelope
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return Envelope{}, fmt.Errorf("%w: envelope: %v", ErrMalformed, err)
	}
	if err := env.check(); err != nil {
		return Envelope{}, err
	}
	return env, nil
}

var (
	envelopeKeys  = []string{"v", "thread", "id", "sender", "seq", "sentAt", "epk", "recipients", "iv", "ciphertext", "sig"}
	senderKeys    = []string{"account", "device"}
	recipientKeys = []string{"device", "iv", "wrapped"}
)

// exactKeys checks that data is one JSON object whose keys are exactly want, each once, with
// nothing after it, and runs nested on the values of the keys it names.
func exactKeys(data []byte, want []string, nested map[string]func(json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	seen := make(map[string]bool, len(want))
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		key, _ := t.(string)
		if !slices.Contains(want, key) || seen[key] {
			return fmt.Errorf("%w: unexpected or repeated field %q", ErrMalformed, key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		if f := nested[key]; f != nil {
			if err := f(v); err != nil {
				return fmt.Errorf("%w: field %q: %v", ErrMalformed, key, err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err == nil {
		return fmt.Errorf("%w: data after the object", ErrMalformed)
	}
	if len(seen) != len(want) {
		return fmt.Errorf("%w: missing fields", ErrMalformed)
	}
	return nil
}

// check is the form of an envelope: version, non-empty names, sizes, recipients unique.
func (env Envelope) check() error {
	bad := func(what string) error { return fmt.Errorf("%w: envelope %s", ErrMalformed, what) }
	switch {
	case env.V != Version:
		return bad("version")
	case env.Thread == "" || env.Sender.Account == "" || env.Sender.Device == "":
		return bad("names")
	case env.Seq == 0:
		return bad("seq")
	case len(env.EPK) != keySize || len(env.IV) != ivSize || len(env.Sig) != 64 || len(env.Ciphertext) < tagSize:
		return bad("field sizes")
	case len(env.Recipients) == 0:
		return bad("recipients")
	}
	if id, err := decodeB64(env.ID); err != nil || len(id) != idSize {
		return bad("id")
	}
	if _, err := time.Parse(time.RFC3339, env.SentAt); err != nil {
		return bad("sentAt")
	}
	seen := make(map[string]bool, len(env.Recipients))
	for _, r := range env.Recipients {
		if r.Device == "" || seen[r.Device] || len(r.IV) != ivSize || len(r.Wrapped) != wrappedSize {
			return bad("recipient")
		}
		seen[r.Device] = true
	}
	return nil
}
