package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// integrationBody is a connected system's registration for the JSON API, with a fresh P-384
// public key (its private half is thrown away: these tests never ask for a token).
func integrationBody(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := newIntegrationBody(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newIntegrationBody is integrationBody for a caller with no test at hand (a matrix cell's body).
func newIntegrationBody(name string) (map[string]any, error) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "walk", Algorithm: "ES384", Use: "sig"}}})
	if err != nil {
		return nil, err
	}
	return map[string]any{"name": name, "jwks": json.RawMessage(b), "scopes": "system/Observation.rs", "purpose": "TREAT",
		"agreementStart": "2026-01-01", "agreementEnd": "2027-12-31"}, nil
}
