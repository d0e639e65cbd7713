package fhir_test

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
	"haven/internal/server/servertest"
)

// integration is a connected system registered through the administrators' JSON API: its
// client id, its private key, and the bearer token it holds.
type integration struct {
	e        *servertest.Env
	ID       string
	Name     string
	key      *ecdsa.PrivateKey
	kid      string
	bearer   string
	Register map[string]any // the registration as sent, to change and PUT again
}

// registerIntegration registers a connected system named "Walk Lab" with a fresh ES384 key and
// the given SMART system scopes, its agreement in force from 2026-01-01 to 2027-12-31 (the
// test clock starts on 2026-11-24). admin steps up first, as the registry asks.
func registerIntegration(t *testing.T, e *servertest.Env, admin *servertest.Client, scopes string) *integration {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	in := &integration{e: e, Name: "Walk Lab", key: k, kid: ids.New()}
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: in.kid, Algorithm: "ES384", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	in.Register = map[string]any{"name": in.Name, "jwks": json.RawMessage(set), "scopes": scopes, "purpose": "TREAT",
		"agreementStart": "2026-01-01", "agreementEnd": "2027-12-31"}
	stepUp(t, e, admin)
	in.ID = admin.Must(http.StatusCreated, "POST", "/api/v1/admin/integrations", in.Register)["clientId"].(string)
	return in
}

// stepUp gives c a fresh second factor.
func stepUp(t *testing.T, e *servertest.Env, c *servertest.Client) {
	t.Helper()
	e.Clock.Advance(31 * time.Second)
	c.Must(http.StatusOK, "POST", "/api/v1/auth/step-up", map[string]string{"code": c.Code()})
}

// assertion is a fresh client assertion (private_key_jwt), signed ES384, valid four minutes.
func (in *integration) assertion(t *testing.T) string {
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

// requestToken posts assertion to the token endpoint with scope (empty: the registered
// scopes) and returns the status and the decoded answer.
func (in *integration) requestToken(t *testing.T, assertion, scope string) (int, map[string]any) {
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

// token returns a bearer token for the registered scopes, asking for one the first time.
func (in *integration) token(t *testing.T) string {
	t.Helper()
	if in.bearer == "" {
		code, m := in.requestToken(t, in.assertion(t), "")
		tok, _ := m["access_token"].(string)
		if code != http.StatusOK || tok == "" {
			t.Fatalf("token endpoint = %d %v", code, m)
		}
		in.bearer = tok
	}
	return in.bearer
}

// do sends a FHIR request with the integration's bearer token (body, if any, as
// application/fhir+json) and returns the status, header and body of the answer.
func (in *integration) do(t *testing.T, method, path string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	return doBearer(t, in.e, "Bearer "+in.token(t), method, path, body)
}

// doBearer sends a FHIR request with the Authorization header auth (none if empty).
func doBearer(t *testing.T, e *servertest.Env, auth, method, path string, body []byte) (int, http.Header, []byte) {
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

// isOutcome reports whether raw is an OperationOutcome (with no empty string in it).
func isOutcome(raw []byte) bool {
	var m map[string]any
	return json.Unmarshal(raw, &m) == nil && m["resourceType"] == "OperationOutcome" && !strings.Contains(string(raw), `""`)
}
