package passkey

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/webauthn"

	"haven/internal/keys"
)

// Sealer seals and opens a passkey's stored fields (identity's Directory is one).
type Sealer interface {
	SealDirectory(loc keys.Location, plaintext []byte) ([]byte, error)
	OpenDirectory(loc keys.Location, ciphertext []byte) ([]byte, error)
}

// Sealed fields of a stored passkey.
const (
	FieldCredential = "credential" // the go-webauthn credential: public key, sign count, flags
	FieldName       = "name"       // the name its owner gave it
)

// Location names a sealed passkey field. The row is the account and the credential ID together,
// so a ciphertext moved onto another account, or another credential, no longer opens.
func Location(accountID, credID, field string) keys.Location {
	return keys.Location{Table: "passkeys", Row: accountID + "/" + credID, Field: field}
}

// ID is a credential's identifier as Haven stores and shows it: base64url without padding.
func ID(c *webauthn.Credential) string { return base64.RawURLEncoding.EncodeToString(c.ID) }

// SealCredential encodes c and seals it for accountID's row; it returns c's ID with it.
func SealCredential(s Sealer, accountID string, c *webauthn.Credential) (id string, sealed []byte, err error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return "", nil, fmt.Errorf("passkey: encode credential: %w", err)
	}
	id = ID(c)
	sealed, err = s.SealDirectory(Location(accountID, id, FieldCredential), raw)
	if err != nil {
		return "", nil, fmt.Errorf("passkey: seal credential: %w", err)
	}
	return id, sealed, nil
}

// OpenCredential opens and decodes the credential sealed for accountID under id.
func OpenCredential(s Sealer, accountID, id string, sealed []byte) (webauthn.Credential, error) {
	var c webauthn.Credential
	raw, err := s.OpenDirectory(Location(accountID, id, FieldCredential), sealed)
	if err != nil {
		return c, fmt.Errorf("passkey: open credential: %w", err)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("passkey: decode credential: %w", err)
	}
	return c, nil
}

// SealName seals the name of accountID's passkey id.
func SealName(s Sealer, accountID, id, name string) ([]byte, error) {
	sealed, err := s.SealDirectory(Location(accountID, id, FieldName), []byte(name))
	if err != nil {
		return nil, fmt.Errorf("passkey: seal name: %w", err)
	}
	return sealed, nil
}

// OpenName opens the name of accountID's passkey id.
func OpenName(s Sealer, accountID, id string, sealed []byte) (string, error) {
	name, err := s.OpenDirectory(Location(accountID, id, FieldName), sealed)
	if err != nil {
		return "", fmt.Errorf("passkey: open name: %w", err)
	}
	return string(name), nil
}
