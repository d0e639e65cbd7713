package servertest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"haven/internal/fhir"
	"haven/internal/ids"
)

// Integration is a connected system registered through the administrators' JSON API: its
// client id, its private key, and the bearer token it holds.
type Integration struct {
	e    *Env
	ID   string
	Name string
	key  *ecdsa.PrivateKey
	kid  string
	// Bearer is the token held; empty it to ask for a new one.
	Bearer   string
	Register map[string]any // the registration as sent, to change and PUT again
}

// RegisterIntegration registers a connected system named "Walk Lab" with a fresh ES384 key and
// the given SMART system scopes, its agreement in force from 2026-01-01 to 2027-12-31 (the
// test clock starts on 2026-11-24). admin steps up first, as the registry asks.
func (e *Env) RegisterIntegration(t testing.TB, admin *Client, scopes string) *Integration {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	in := &Integration{e: e, Name: "Walk Lab", key: k, kid: ids.New()}
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: in.kid, Algorithm: "ES384", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	in.Register = map[string]any{"name": in.Name, "jwks": json.RawMessage(set), "scopes": scopes, "purpose": "TREAT",
		"agreementStart": "2026-01-01", "agreementEnd": "2027-12-31"}
	e.StepUp(t, admin)
	in.ID = admin.Must(http.StatusCreated, "POST", "/api/v1/admin/integrations", in.Register)["clientId"].(string)
	return in
}

// StepUp gives c a fresh second factor, 31 seconds after the last (one TOTP step).
func (e *Env) StepUp(t testing.TB, c *Client) {
	t.Helper()
	e.Clock.Advance(31 * time.Second)
	c.Must(http.StatusOK, "POST", "/api/v1/auth/step-up", map[string]string{"code": c.Code()})
}

// Assertion is a fresh client assertion (private_key_jwt), signed ES384, valid four minutes.
func (in *Integration) Assertion(t testing.TB) string {
	t.Helper()
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES384, Key: in.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", in.kid))
	if err != nil {
		t.Fatal(err)
	}
	now := in.e.Clock.Now()
	a, err := jwt.Signed(sig).Claims(jwt.Claims{Issuer: in.ID, Subject: in.ID, Audience: jwt.Audience{in.e.BaseURL + fhir.TokenPath},
		ID: ids.New(), Expiry: jwt.NewNumericDate(now.Add(4 * time.Minute)), IssuedAt: jwt.NewNumericDate(now)}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// RequestToken posts assertion to the token endpoint with scope (empty: the registered
// scopes) and returns the status and the decoded answer.
func (in *Integration) RequestToken(t testing.TB, assertion, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {assertion}}
	if scope != "" {
		form.Set("scope", scope)
	}
	resp, err := in.e.TS.Client().PostForm(in.e.TS.URL+fhir.TokenPath, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("token endpoint answered %d with no JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, m
}

// Token returns a bearer token for the registered scopes, asking for one the first time.
func (in *Integration) Token(t testing.TB) string {
	t.Helper()
	if in.Bearer == "" {
		code, m := in.RequestToken(t, in.Assertion(t), "")
		tok, _ := m["access_token"].(string)
		if code != http.StatusOK || tok == "" {
			t.Fatalf("token endpoint = %d %v", code, m)
		}
		in.Bearer = tok
	}
	return in.Bearer
}

// Do sends a FHIR request with the integration's bearer token (body, if any, as
// application/fhir+json) and returns the status, header and body of the answer.
func (in *Integration) Do(t testing.TB, method, path string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	return in.e.DoBearer(t, "Bearer "+in.Token(t), method, path, body)
}

// DoBearer sends a FHIR request with the Authorization header auth (none if empty).
func (e *Env) DoBearer(t testing.TB, auth, method, path string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, e.TS.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e.TS.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

// IsOutcome reports whether raw is an OperationOutcome (with no empty string in it).
func IsOutcome(raw []byte) bool {
	var m map[string]any
	return json.Unmarshal(raw, &m) == nil && m["resourceType"] == "OperationOutcome" && !strings.Contains(string(raw), `""`)
}
