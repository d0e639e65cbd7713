package smart

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/go-jose/go-jose/v4"
)

// minRSABits is the smallest RSA modulus accepted: SMART asks for RS384 keys of at least 2048.
const minRSABits = 2048

// maxJWKSBytes bounds a JWK set, pasted or fetched: a handful of public keys is a few KB.
const maxJWKSBytes = 64 << 10

// Errors about a client's keys. Their messages say what to provide instead.
var (
	errJWKSNotJSON   = errors.New("the key set is not a JSON Web Key Set: paste an object with a \"keys\" array")
	errPrivateKey    = errors.New("the key set holds a private key: register only the public keys, and keep the private key with the connected system")
	errUnusableKey   = errors.New("each key must be a public RSA key of at least 2048 bits (RS384) or a P-384 elliptic-curve key (ES384)")
	errNoUsableKey   = errors.New("the key set holds no key: add a public RSA key of at least 2048 bits or a P-384 key")
	errJWKSURLScheme = errors.New("the key set's address must be an https:// URL")
)

// parseJWKS reads a client's JWK set as registered: every key must be public and usable for
// RS384 or ES384, so that what an administrator pastes is exactly what will be trusted.
func parseJWKS(raw []byte) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if len(raw) > maxJWKSBytes {
		return set, errJWKSNotJSON
	}
	// A private key is refused before go-jose reads it: a JWK with private parts is a secret
	// that has already left the connected system, whatever else is wrong with it.
	var probe struct {
		Keys []map[string]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil || probe.Keys == nil {
		return set, errJWKSNotJSON
	}
	for _, k := range probe.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				return set, errPrivateKey
			}
		}
	}
	if err := json.Unmarshal(raw, &set); err != nil {
		return set, fmt.Errorf("%w (%v)", errUnusableKey, err)
	}
	if len(set.Keys) == 0 {
		return set, errNoUsableKey
	}
	for _, k := range set.Keys {
		if !usable(k) {
			return set, errUnusableKey
		}
	}
	return set, nil
}

// usable reports whether k is a public key Haven accepts an assertion signature from: RSA of
// 2048 bits or more, or P-384, and not published for encryption only.
func usable(k jose.JSONWebKey) bool {
	if !k.IsPublic() || !k.Valid() || (k.Use != "" && k.Use != "sig") {
		return false
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		return pub.N.BitLen() >= minRSABits
	case *ecdsa.PublicKey:
		return pub.Curve == elliptic.P384()
	}
	return false
}

// checkJWKSURL checks a key set's address: https only, with a host.
func checkJWKSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return errJWKSURLScheme
	}
	return nil
}

// fetchJWKS fetches a client's key set from its URL and keeps the usable public keys (a
// published set may hold keys for other purposes; those are ignored, never trusted).
func (s *Service) fetchJWKS(ctx context.Context, u string) (jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := checkJWKSURL(u); err != nil {
		return set, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return set, fmt.Errorf("smart: key set request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.cfg.HTTP.Do(req)
	if err != nil {
		return set, fmt.Errorf("smart: fetch key set: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return set, fmt.Errorf("smart: fetch key set: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return set, fmt.Errorf("smart: read key set: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return set, errors.New("smart: key set too large")
	}
	var all jose.JSONWebKeySet
	if err := json.Unmarshal(body, &all); err != nil {
		return set, fmt.Errorf("smart: parse key set: %w", err)
	}
	for _, k := range all.Keys {
		if usable(k) {
			set.Keys = append(set.Keys, k)
		}
	}
	return set, nil
}
