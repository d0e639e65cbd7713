package consult

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
)

// Header is what the server may read of an envelope (docs/e2ee.md section 3): who sent it, to
// which thread, its id and sequence number. Everything else (the recipients' wrapped keys, the
// ciphertext, the signature) it stores as it came and cannot read.
type Header struct {
	V      int    `json:"v"`
	Thread string `json:"thread"`
	ID     string `json:"id"`
	Sender struct {
		Account string `json:"account"`
		Device  string `json:"device"`
	} `json:"sender"`
	Seq int64 `json:"seq"`
}

// maxIDChars bounds the identifiers an envelope names.
const maxIDChars = 128

// ParseHeader reads an envelope's header fields, refusing an envelope that is not one JSON
// object, has no version 1, or whose id is not 16 random bytes in b64url. It never looks at
// the ciphertext. It is fuzzed (FuzzParseHeader).
func ParseHeader(envelope []byte) (Header, error) {
	var h Header
	dec := json.NewDecoder(bytes.NewReader(envelope))
	if err := dec.Decode(&h); err != nil {
		return Header{}, ErrEnvelope
	}
	if dec.More() {
		return Header{}, ErrEnvelope
	}
	// Only one JSON value, and an object.
	if t := bytes.TrimSpace(envelope); len(t) == 0 || t[0] != '{' {
		return Header{}, ErrEnvelope
	}
	if h.V != 1 || h.Seq < 1 || h.Thread == "" || len(h.Thread) > maxIDChars ||
		h.Sender.Account == "" || len(h.Sender.Account) > maxIDChars ||
		h.Sender.Device == "" || len(h.Sender.Device) > maxIDChars {
		return Header{}, ErrEnvelope
	}
	id, err := base64.RawURLEncoding.Strict().DecodeString(h.ID)
	if err != nil || len(id) != 16 {
		return Header{}, ErrEnvelope
	}
	return h, nil
}
