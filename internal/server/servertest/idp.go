package servertest

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"haven/internal/server"
)

// IdP is an OpenID provider for tests: mockoidc on loopback, over plain HTTP (Haven accepts that
// only for a loopback issuer). Its authorization endpoint answers at once, for the next queued
// user, with a code for Haven's callback; its token endpoint checks the client secret and the
// PKCE verifier and signs the ID token with its own RSA key.
type IdP struct {
	*mockoidc.MockOIDC
	mu        sync.Mutex
	now       func() time.Time // the clock of the Haven server last pointed at this provider
	loginPage bool
}

// ShowLoginPage makes the provider answer an authorization request with a page of its own, whose
// "Continue" link (#idp-continue) the person follows, as at a real provider, where they type a
// password: the way back to Haven is then a navigation the provider's site starts, which is what
// a browser's SameSite rules judge. Go clients do not need it.
func (p *IdP) ShowLoginPage() {
	p.mu.Lock()
	p.loginPage = true
	p.mu.Unlock()
}

// loginPageMiddleware puts the provider's own page in front of its authorization endpoint.
func (p *IdP) loginPageMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		show := p.loginPage
		p.mu.Unlock()
		if !show || r.URL.Path != mockoidc.AuthorizationEndpoint || r.URL.Query().Get("idp_login") == "done" {
			next.ServeHTTP(w, r)
			return
		}
		q := r.URL.Query()
		q.Set("idp_login", "done")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>Test IdP</title><h1>Test IdP</h1><a id="idp-continue" href="%s">Continue</a></html>`,
			html.EscapeString(r.URL.Path+"?"+q.Encode()))
	})
}

// mockoidc keeps its clock in a package variable, so one provider runs at a time.
var idpRunning sync.Mutex

// StartIdP starts a provider. Its clock is the clock of the Haven server Option configures, so
// the tokens it signs are fresh by Haven's fake clock.
func StartIdP(t testing.TB) *IdP {
	t.Helper()
	if !idpRunning.TryLock() {
		t.Fatal("servertest: one IdP at a time (mockoidc's clock is global)")
	}
	p := &IdP{now: time.Now}
	prev := mockoidc.NowFunc
	mockoidc.NowFunc = func() time.Time { p.mu.Lock(); defer p.mu.Unlock(); return p.now() }
	fail := func(err error) {
		mockoidc.NowFunc = prev
		idpRunning.Unlock()
		t.Fatal(err)
	}
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		fail(err)
	}
	m.AddMiddleware(p.loginPageMiddleware)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	if err := m.Start(ln, nil); err != nil {
		fail(err)
	}
	p.MockOIDC = m
	t.Cleanup(func() {
		m.Shutdown()
		mockoidc.NowFunc = prev
		idpRunning.Unlock()
	})
	return p
}

// Option points a Haven server at the provider, under name, with the acr values that count as
// multi-factor, and sets the provider's clock to the server's.
func (p *IdP) Option(name string, mfaACR ...string) func(*server.Config) {
	return func(c *server.Config) {
		if c.Now != nil {
			p.mu.Lock()
			p.now = c.Now
			p.mu.Unlock()
		}
		c.Identity.OIDC.Issuer = p.Issuer()
		c.Identity.OIDC.ClientID = p.ClientID
		c.Identity.OIDC.ClientSecret = p.ClientSecret
		c.Identity.OIDC.Name = name
		c.Identity.OIDC.MFAACR = mfaACR
	}
}

// IdPUser is a person at the provider, with the claims tests vary. Nonce and Audience, when set,
// replace what the provider would put in the ID token: a token minted for another sign-in or
// another client.
type IdPUser struct {
	Subject       string
	Email         string
	EmailVerified bool
	AMR           []string
	ACR           string
	Nonce         *string
	Audience      []string
}

func (u *IdPUser) ID() string { return u.Subject }

func (u *IdPUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": u.Subject, "email": u.Email, "email_verified": u.EmailVerified})
}

type idpClaims struct {
	*mockoidc.IDTokenClaims
	Email         string   `json:"email,omitempty"`
	EmailVerified bool     `json:"email_verified"`
	AMR           []string `json:"amr,omitempty"`
	ACR           string   `json:"acr,omitempty"`
}

func (u *IdPUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.Nonce != nil {
		base.Nonce = *u.Nonce
	}
	if u.Audience != nil {
		base.Audience = u.Audience
	}
	return &idpClaims{IDTokenClaims: base, Email: u.Email, EmailVerified: u.EmailVerified, AMR: u.AMR, ACR: u.ACR}, nil
}

// StartFederated opens Haven's federated sign-in and returns the provider URL it redirects to.
func (c *Client) StartFederated() string {
	c.e.t.Helper()
	resp, err := c.HTTP.Get(c.e.TS.URL + "/auth/oidc/start")
	if err != nil {
		c.e.t.Fatal(err)
	}
	resp.Body.Close()
	to := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(to, "http://127.0.0.1:") {
		c.e.t.Fatalf("GET /auth/oidc/start = %d → %q, want 303 to the provider", resp.StatusCode, to)
	}
	return to
}

// AtIdP follows the redirect to the provider and returns the path and query of Haven's callback
// the provider answers with. (The callback URL names --base-url, https://localhost:PORT; the
// client talks to the same server as 127.0.0.1, where its cookies are.)
func (c *Client) AtIdP(authURL string) string {
	c.e.t.Helper()
	resp, err := c.HTTP.Get(authURL)
	if err != nil {
		c.e.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || back.Scheme+"://"+back.Host != c.e.BaseURL || back.Path != "/auth/oidc/callback" {
		c.e.t.Fatalf("provider answered %d → %q, want 302 to Haven's callback", resp.StatusCode, resp.Header.Get("Location"))
	}
	return back.RequestURI()
}

// Callback delivers the provider's answer (a path and query) to Haven and returns the status
// and the page.
func (c *Client) Callback(pathQuery string) (int, string) {
	c.e.t.Helper()
	resp, err := c.HTTP.Get(c.e.TS.URL + pathQuery)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// FederatedSignIn signs in at the provider (as its next queued user) the way a browser does,
// and returns the status and page of Haven's callback.
func (c *Client) FederatedSignIn() (int, string) {
	c.e.t.Helper()
	return c.Callback(c.AtIdP(c.StartFederated()))
}
