package server_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/server"
	"haven/internal/server/servertest"
)

const mfaACR = "urn:haven:test:mfa"

// lastAuth returns (action, outcome, reason, resource) of the newest audit entry.
func lastAuth(t *testing.T, e *servertest.Env) [4]string {
	t.Helper()
	var r [4]string
	// The last sign-in entry: a new-device note may follow it.
	if err := e.Srv.DB().QueryRow(`SELECT action, outcome, reason, resource_id FROM audit_entries WHERE action <> 'auth.new-device' ORDER BY seq DESC LIMIT 1`).
		Scan(&r[0], &r[1], &r[2], &r[3]); err != nil {
		t.Fatal(err)
	}
	return r
}

// bindingCookie returns the client's federated sign-in cookie, to put back later (a replay).
func bindingCookie(t *testing.T, e *servertest.Env, c *servertest.Client) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(e.TS.URL)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == "__Host-haven_oidc" {
			return &http.Cookie{Name: ck.Name, Value: ck.Value, Path: "/", Secure: true, HttpOnly: true}
		}
	}
	t.Fatal("no federated sign-in cookie")
	return nil
}

func verified(email string, amr ...string) *servertest.IdPUser {
	return &servertest.IdPUser{Subject: "sub-" + email, Email: email, EmailVerified: true, AMR: amr}
}

var requestRef = regexp.MustCompile(`<code>[0-9a-f]+</code>`)

// TestOIDCSignIn signs staff in through an OpenID provider running in-process (mockoidc): the
// code flow with PKCE, state and nonce, the ID token verified by go-oidc, the account found by
// its verified e-mail address. Without an MFA assertion the session stops at Haven's second
// factor; with one it is signed in, but step-up still needs a Haven factor. Each attack named
// below is refused and audited, and every refusal shows the same page.
func TestOIDCSignIn(t *testing.T) {
	idp := servertest.StartIdP(t)
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "dr.oidc@haven.test")
		_, goneID := e.Clinician(admin, "gone@haven.test")
		e.Patient(clin, ada)
		admin.Must(200, "POST", "/api/v1/admin/staff/"+goneID+"/disable", nil)

		t.Run("the sign-in page offers the provider", func(t *testing.T) {
			_, _, raw := e.Client().Do("GET", "/login", nil)
			if !bytes.Contains(raw, []byte(`href="/auth/oidc/start"`)) || !bytes.Contains(raw, []byte("Sign in with Test IdP")) {
				t.Fatalf("login page without the provider's button: %s", raw)
			}
		})

		t.Run("the authorization request: code flow, PKCE S256, state, nonce", func(t *testing.T) {
			c := e.Client()
			to, err := url.Parse(c.StartFederated())
			if err != nil {
				t.Fatal(err)
			}
			q := to.Query()
			if q.Get("response_type") != "code" || q.Get("client_id") != idp.ClientID || q.Get("scope") != "openid email profile" ||
				q.Get("redirect_uri") != e.BaseURL+"/auth/oidc/callback" || q.Get("code_challenge_method") != "S256" ||
				len(q.Get("code_challenge")) != 43 || len(q.Get("state")) != 43 || len(q.Get("nonce")) != 43 {
				t.Fatalf("authorization request %v", q)
			}
			ck := bindingCookie(t, e, c)
			if strings.Contains(to.RawQuery, ck.Value) {
				t.Fatal("the binding secret left the browser")
			}
			// A second sign-in gets other values.
			if again, _ := url.Parse(e.Client().StartFederated()); again.Query().Get("state") == q.Get("state") || again.Query().Get("nonce") == q.Get("nonce") {
				t.Fatal("state or nonce repeated")
			}
		})

		t.Run("without an MFA assertion the session stops at the second factor", func(t *testing.T) {
			idp.QueueUser(verified("Dr.OIDC@haven.test", "pwd")) // the address is matched case-insensitively
			c := e.Client()
			code, page := c.FederatedSignIn()
			if code != http.StatusOK || !strings.Contains(page, `http-equiv="refresh"`) {
				t.Fatalf("callback = %d %s", code, page)
			}
			if got := lastAuth(t, e); got != [4]string{"auth.oidc", "success", "idp-first-factor", clinID} {
				t.Fatalf("audit = %v", got)
			}
			c.Must(http.StatusForbidden, "GET", "/api/v1/me", nil)
			c.Secret = clin.Secret
			e.Clock.Advance(31 * time.Second)
			c.Must(200, "POST", "/api/v1/auth/totp", map[string]string{"code": c.Code()})
			if m := c.Must(200, "GET", "/api/v1/me", nil); m["email"] != "dr.oidc@haven.test" {
				t.Fatalf("signed in as %v", m)
			}
		})

		t.Run("amr mfa signs in, but step-up still needs a Haven factor", func(t *testing.T) {
			idp.QueueUser(verified("dr.oidc@haven.test", "pwd", "mfa"))
			c := e.Client()
			// A token planted before sign-in (session fixation) is not the one signed in.
			c.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": clin.Email, "password": clin.PW})
			planted := c.SessionCookie()
			if code, page := c.FederatedSignIn(); code != http.StatusOK {
				t.Fatalf("callback = %d %s", code, page)
			}
			if got := lastAuth(t, e); got != [4]string{"auth.oidc", "success", "idp-mfa", clinID} {
				t.Fatalf("audit = %v", got)
			}
			if c.SessionCookie() == planted {
				t.Fatal("the session token was not replaced at sign-in")
			}
			c.Must(200, "GET", "/api/v1/me", nil)
			c.Must(http.StatusForbidden, "POST", "/api/v1/recovery-codes", nil)
			c.Secret = clin.Secret
			e.Clock.Advance(31 * time.Second)
			c.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": c.Code()})
			c.Must(201, "POST", "/api/v1/recovery-codes", nil)
			// The planted token is still only half signed in.
			p := e.Client()
			u, _ := url.Parse(e.TS.URL)
			p.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: httpx.SessionCookie, Value: planted, Path: "/"}})
			p.Must(http.StatusForbidden, "GET", "/api/v1/me", nil)
		})

		t.Run("a configured acr counts as MFA; a hardware key alone does not", func(t *testing.T) {
			u := verified("dr.oidc@haven.test")
			u.ACR = mfaACR
			idp.QueueUser(u)
			c := e.Client()
			c.FederatedSignIn()
			c.Must(200, "GET", "/api/v1/me", nil)

			idp.QueueUser(verified("dr.oidc@haven.test", "hwk"))
			d := e.Client()
			d.FederatedSignIn()
			d.Must(http.StatusForbidden, "GET", "/api/v1/me", nil)
		})

		t.Run("refusals look alike and are audited", func(t *testing.T) {
			unverified := verified("dr.oidc@haven.test", "mfa")
			unverified.EmailVerified = false
			cases := []struct {
				name     string
				user     *servertest.IdPUser
				reason   string
				resource string
			}{
				{"unknown address", verified("nobody@haven.test", "mfa"), "unknown-account", "bidx:"},
				{"disabled account", verified("gone@haven.test", "mfa"), "account-not-active", goneID},
				{"patient", verified(ada.Email, "mfa"), "patient-account", ""},
				{"unverified address", unverified, "email-not-verified", ""},
			}
			var first string
			for _, tc := range cases {
				idp.QueueUser(tc.user)
				c := e.Client()
				code, page := c.FederatedSignIn()
				page = requestRef.ReplaceAllString(page, "<code>ref</code>")
				if code != http.StatusForbidden {
					t.Fatalf("%s: callback = %d %s", tc.name, code, page)
				}
				if first == "" {
					first = page
				} else if page != first {
					t.Fatalf("%s: the page differs from the first refusal's:\n%s\n---\n%s", tc.name, page, first)
				}
				got := lastAuth(t, e)
				if got[0] != "auth.oidc" || got[1] != "failure" || got[2] != tc.reason || !strings.HasPrefix(got[3], tc.resource) {
					t.Fatalf("%s: audit = %v, want reason %s", tc.name, got, tc.reason)
				}
				if code, _, _ := c.Do("GET", "/api/v1/me", nil); code != http.StatusUnauthorized {
					t.Fatalf("%s: a refused sign-in left a session (%d)", tc.name, code)
				}
			}
			if bytes.Contains(e.Log.Bytes(), []byte("nobody@")) {
				t.Fatal("the server log names the unknown address")
			}
		})

		t.Run("replayed callback", func(t *testing.T) {
			idp.QueueUser(verified("dr.oidc@haven.test", "mfa"))
			c := e.Client()
			authURL := c.StartFederated()
			ck := bindingCookie(t, e, c)
			back := c.AtIdP(authURL)
			if code, _ := c.Callback(back); code != http.StatusOK {
				t.Fatalf("first callback = %d", code)
			}
			u, _ := url.Parse(e.TS.URL)
			c.HTTP.Jar.SetCookies(u, []*http.Cookie{ck})
			if code, _ := c.Callback(back); code != http.StatusForbidden {
				t.Fatalf("replayed callback = %d, want 403", code)
			}
			if got := lastAuth(t, e); got[2] != "unknown-or-used-state" {
				t.Fatalf("audit = %v", got)
			}
		})

		t.Run("tampered state", func(t *testing.T) {
			idp.QueueUser(verified("dr.oidc@haven.test", "mfa"))
			c := e.Client()
			back := c.AtIdP(c.StartFederated())
			tampered := regexp.MustCompile(`state=[^&]+`).ReplaceAllString(back, "state=AAAA"+strings.Repeat("B", 39))
			if code, _ := c.Callback(tampered); code != http.StatusForbidden {
				t.Fatalf("tampered state = %d, want 403", code)
			}
			if got := lastAuth(t, e); got[2] != "state-mismatch" {
				t.Fatalf("audit = %v", got)
			}
		})

		t.Run("another browser's answer (login CSRF)", func(t *testing.T) {
			idp.QueueUser(verified("dr.oidc@haven.test", "mfa"))
			attacker := e.Client()
			back := attacker.AtIdP(attacker.StartFederated())
			victim := e.Client()
			if code, _ := victim.Callback(back); code != http.StatusForbidden {
				t.Fatalf("answer in a browser without the binding cookie = %d, want 403", code)
			}
			if got := lastAuth(t, e); got[2] != "no-browser-binding" {
				t.Fatalf("audit = %v", got)
			}
			victim.StartFederated() // the victim's own sign-in is pending, with its own cookie
			if code, _ := victim.Callback(back); code != http.StatusForbidden {
				t.Fatalf("answer in another browser = %d, want 403", code)
			}
			if got := lastAuth(t, e); got[2] != "state-mismatch" {
				t.Fatalf("audit = %v", got)
			}
		})

		t.Run("ID token with another nonce or for another client", func(t *testing.T) {
			other := "a-nonce-from-another-sign-in"
			wrongNonce := verified("dr.oidc@haven.test", "mfa")
			wrongNonce.Nonce = &other
			otherClient := verified("dr.oidc@haven.test", "mfa")
			otherClient.Audience = []string{"another-client"}
			both := verified("dr.oidc@haven.test", "mfa")
			both.Audience = []string{idp.ClientID, "another-client"} // no azp naming Haven
			for name, u := range map[string]*servertest.IdPUser{"nonce": wrongNonce, "audience": otherClient, "several audiences": both} {
				idp.QueueUser(u)
				c := e.Client()
				if code, page := c.FederatedSignIn(); code != http.StatusForbidden {
					t.Fatalf("%s: callback = %d %s", name, code, page)
				}
				if got := lastAuth(t, e); got[2] != "token-refused" {
					t.Fatalf("%s: audit = %v", name, got)
				}
			}
		})

		t.Run("provider refusal and a sign-in that took too long", func(t *testing.T) {
			c := e.Client()
			authURL, _ := url.Parse(c.StartFederated())
			state := authURL.Query().Get("state")
			if code, _ := c.Callback("/auth/oidc/callback?error=access_denied&state=" + state); code != http.StatusForbidden {
				t.Fatalf("provider error = %d", code)
			}
			if got := lastAuth(t, e); got[2] != "idp-error: access_denied" {
				t.Fatalf("audit = %v", got)
			}

			idp.QueueUser(verified("dr.oidc@haven.test", "mfa"))
			d := e.Client()
			back := d.AtIdP(d.StartFederated())
			e.Clock.Advance(identity.FederationLifetime + time.Second)
			if code, _ := d.Callback(back); code != http.StatusForbidden {
				t.Fatalf("late answer = %d", code)
			}
			if got := lastAuth(t, e); got[2] != "state-expired" {
				t.Fatalf("audit = %v", got)
			}
		})
	}, idp.Option("Test IdP", mfaACR))
}

// TestOIDCUnderPasskeyPolicy: where staff must use passkeys, the provider's MFA assertion does
// not replace one; the session stops at the passkey.
func TestOIDCUnderPasskeyPolicy(t *testing.T) {
	idp := servertest.StartIdP(t)
	e := servertest.New(t, "", idp.Option("Test IdP"), func(c *server.Config) { c.Identity.RequireWorkforcePasskey = true })
	m := servertest.SetupLink.FindSubmatch(e.Log.Bytes())
	admin := e.Client()
	admin.Must(201, "POST", "/api/v1/setup", map[string]string{"token": string(m[1]), "email": "admin@haven.test", "name": "Ada Admin", "password": "admin passphrase 1"})
	key := &servertest.Authenticator{Origin: e.BaseURL}
	if code := admin.RegisterPasskey(key, "Security key"); code != http.StatusCreated {
		t.Fatalf("passkey enrolment = %d", code)
	}

	idp.QueueUser(verified("admin@haven.test", "pwd", "mfa"))
	c := e.Client()
	if code, page := c.FederatedSignIn(); code != http.StatusOK {
		t.Fatalf("callback = %d %s", code, page)
	}
	if got := lastAuth(t, e); got[2] != "idp-first-factor" {
		t.Fatalf("audit = %v", got)
	}
	c.Must(http.StatusForbidden, "GET", "/api/v1/me", nil)
	if code := c.PasskeyVerify(key); code != 200 {
		t.Fatalf("passkey second factor = %d", code)
	}
	c.Must(200, "GET", "/api/v1/me", nil)
}

// TestOIDCOff: without --oidc-issuer there is no button and no federated sign-in.
func TestOIDCOff(t *testing.T) {
	e := servertest.New(t, "")
	c := e.Client()
	if _, _, raw := c.Do("GET", "/login", nil); bytes.Contains(raw, []byte("/auth/oidc/start")) {
		t.Fatal("login page offers federated sign-in that is not configured")
	}
	if code, _, _ := c.Do("GET", "/auth/oidc/start", nil); code != http.StatusNotFound {
		t.Fatalf("start = %d, want 404", code)
	}
}
