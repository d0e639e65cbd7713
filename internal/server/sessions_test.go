package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"haven/internal/httpx"
)

func (c *client) sessionCookie() string {
	u, _ := url.Parse(c.e.ts.URL)
	for _, ck := range c.http.Jar.Cookies(u) {
		if ck.Name == httpx.SessionCookie {
			return ck.Value
		}
	}
	return ""
}

// withCookie sends a request carrying exactly the given session token.
func (e *env) withCookie(token, method, path string) int {
	e.t.Helper()
	c := e.client()
	req, _ := http.NewRequest(method, e.ts.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: httpx.SessionCookie, Value: token})
	resp, err := c.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSessions(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		admin := e.admin()

		t.Run("cookie attributes", func(t *testing.T) {
			c := e.client()
			req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/auth/login", jsonBody(map[string]string{"email": admin.email, "password": admin.pw}))
			resp, err := c.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var found bool
			for _, ck := range resp.Cookies() {
				if ck.Name == httpx.SessionCookie {
					found = true
					if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Domain != "" {
						t.Fatalf("session cookie attributes: %+v", ck)
					}
					if len(ck.Value) < 43 {
						t.Fatalf("session token is only %d characters", len(ck.Value))
					}
				}
			}
			if !found {
				t.Fatal("no session cookie set")
			}
		})

		t.Run("fixation: the token changes when the second factor is passed", func(t *testing.T) {
			c := e.client()
			c.email, c.pw, c.secret = admin.email, admin.pw, admin.secret
			e.clk.Advance(31 * time.Second)
			c.must(200, "POST", "/api/v1/auth/login", map[string]string{"email": c.email, "password": c.pw})
			before := c.sessionCookie()
			c.must(200, "POST", "/api/v1/auth/totp", map[string]string{"code": c.code()})
			after := c.sessionCookie()
			if before == after || after == "" {
				t.Fatal("session token not rotated at sign-in")
			}
			if code := e.withCookie(before, "GET", "/api/v1/me"); code != http.StatusUnauthorized {
				t.Fatalf("pre-sign-in token still works: %d", code)
			}
			if code := e.withCookie(after, "GET", "/api/v1/me"); code != http.StatusOK {
				t.Fatalf("new token refused: %d", code)
			}
		})

		t.Run("logout replay", func(t *testing.T) {
			c := e.client()
			c.email, c.pw, c.secret = admin.email, admin.pw, admin.secret
			c.login()
			token := c.sessionCookie()
			c.must(200, "POST", "/api/v1/auth/logout", nil)
			if code := e.withCookie(token, "GET", "/api/v1/me"); code != http.StatusUnauthorized {
				t.Fatalf("token after logout = %d, want 401", code)
			}
		})

		t.Run("idle timeout", func(t *testing.T) {
			c := e.client()
			c.email, c.pw, c.secret = admin.email, admin.pw, admin.secret
			c.login()
			e.clk.Advance(14 * time.Minute)
			c.must(200, "GET", "/api/v1/me", nil) // activity keeps it alive
			e.clk.Advance(14 * time.Minute)
			c.must(200, "GET", "/api/v1/me", nil)
			e.clk.Advance(16 * time.Minute)
			c.must(401, "GET", "/api/v1/me", nil)
		})

		t.Run("absolute lifetime", func(t *testing.T) {
			c := e.client()
			c.email, c.pw, c.secret = admin.email, admin.pw, admin.secret
			c.login()
			alive := 0
			for range 12*6 + 1 { // active every 10 minutes, for just over 12 hours
				e.clk.Advance(10 * time.Minute)
				if code, _, _ := c.do("GET", "/api/v1/me", nil); code != http.StatusOK {
					break
				}
				alive++
			}
			if alive != 12*6 { // alive up to exactly 12 h, refused 10 minutes later
				t.Fatalf("an active session lasted %d ten-minute steps, want %d", alive, 12*6)
			}
		})
	})
}

func TestSingleUseLinks(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		m := setupLink.FindSubmatch(e.log.Bytes())
		admin := e.admin()

		t.Run("setup token works once", func(t *testing.T) {
			c := e.client()
			c.must(410, "POST", "/api/v1/setup", map[string]string{"token": string(m[1]), "email": "evil@haven.test", "name": "Evil", "password": "evil passphrase"})
		})
		t.Run("invite works once", func(t *testing.T) {
			inv := admin.must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "once@haven.test", "name": "Dr Once", "role": "clinician"})
			token := tokenOf(t, inv["inviteUrl"].(string))
			e.client().must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": token, "password": "first passphrase"})
			e.client().must(410, "POST", "/api/v1/invites/activate", map[string]string{"token": token, "password": "second passphrase"})
		})
		t.Run("invite expires", func(t *testing.T) {
			inv := admin.must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "late@haven.test", "name": "Dr Late", "role": "clinician"})
			e.clk.Advance(73 * time.Hour)
			e.client().must(410, "POST", "/api/v1/invites/activate", map[string]string{"token": tokenOf(t, inv["inviteUrl"].(string)), "password": "late passphrase"})
		})
		t.Run("short password refused with a reason", func(t *testing.T) {
			e.clk.Advance(-73 * time.Hour)
			inv := admin.must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "short@haven.test", "name": "Dr Short", "role": "clinician"})
			_, body, _ := e.client().do("POST", "/api/v1/invites/activate", map[string]string{"token": tokenOf(t, inv["inviteUrl"].(string)), "password": "short"})
			if body["error"] == nil {
				t.Fatal("no reason given")
			}
			// The refused attempt did not consume the link.
			e.client().must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": tokenOf(t, inv["inviteUrl"].(string)), "password": "long enough now"})
		})
		t.Run("enrolment is required before anything else", func(t *testing.T) {
			inv := admin.must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "enrol@haven.test", "name": "Dr Enrol", "role": "clinician"})
			c := e.client()
			c.must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": tokenOf(t, inv["inviteUrl"].(string)), "password": "enrol passphrase"})
			c.must(403, "GET", "/api/v1/patients", nil)
			c.enrol()
			c.list(200, "GET", "/api/v1/patients", nil)
		})
	})
}
