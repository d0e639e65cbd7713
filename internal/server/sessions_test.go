package server_test

import (
	"net/http"
	"testing"
	"time"

	"haven/internal/httpx"
	"haven/internal/server/servertest"
)

// withCookie sends a request carrying exactly the given session token.
func withCookie(t *testing.T, e *servertest.Env, token, method, path string) int {
	t.Helper()
	c := e.Client()
	req, _ := http.NewRequest(method, e.TS.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: httpx.SessionCookie, Value: token})
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestSessions(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()

		t.Run("cookie attributes", func(t *testing.T) {
			c := e.Client()
			req, _ := http.NewRequest("POST", e.TS.URL+"/api/v1/auth/login", servertest.JSONBody(map[string]string{"email": admin.Email, "password": admin.PW}))
			resp, err := c.HTTP.Do(req)
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
			c := e.Client()
			c.Email, c.PW, c.Secret = admin.Email, admin.PW, admin.Secret
			e.Clock.Advance(31 * time.Second)
			c.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": c.Email, "password": c.PW})
			before := c.SessionCookie()
			c.Must(200, "POST", "/api/v1/auth/totp", map[string]string{"code": c.Code()})
			after := c.SessionCookie()
			if before == after || after == "" {
				t.Fatal("session token not rotated at sign-in")
			}
			if code := withCookie(t, e, before, "GET", "/api/v1/me"); code != http.StatusUnauthorized {
				t.Fatalf("pre-sign-in token still works: %d", code)
			}
			if code := withCookie(t, e, after, "GET", "/api/v1/me"); code != http.StatusOK {
				t.Fatalf("new token refused: %d", code)
			}
		})

		t.Run("logout replay", func(t *testing.T) {
			c := e.Client()
			c.Email, c.PW, c.Secret = admin.Email, admin.PW, admin.Secret
			c.Login()
			token := c.SessionCookie()
			c.Must(200, "POST", "/api/v1/auth/logout", nil)
			if code := withCookie(t, e, token, "GET", "/api/v1/me"); code != http.StatusUnauthorized {
				t.Fatalf("token after logout = %d, want 401", code)
			}
		})

		t.Run("idle timeout", func(t *testing.T) {
			c := e.Client()
			c.Email, c.PW, c.Secret = admin.Email, admin.PW, admin.Secret
			c.Login()
			e.Clock.Advance(14 * time.Minute)
			c.Must(200, "GET", "/api/v1/me", nil) // activity keeps it alive
			e.Clock.Advance(14 * time.Minute)
			c.Must(200, "GET", "/api/v1/me", nil)
			e.Clock.Advance(16 * time.Minute)
			c.Must(401, "GET", "/api/v1/me", nil)
		})

		t.Run("absolute lifetime", func(t *testing.T) {
			c := e.Client()
			c.Email, c.PW, c.Secret = admin.Email, admin.PW, admin.Secret
			c.Login()
			alive := 0
			for range 12*6 + 1 { // active every 10 minutes, for just over 12 hours
				e.Clock.Advance(10 * time.Minute)
				if code, _, _ := c.Do("GET", "/api/v1/me", nil); code != http.StatusOK {
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
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		m := servertest.SetupLink.FindSubmatch(e.Log.Bytes())
		admin := e.Admin()

		t.Run("setup token works once", func(t *testing.T) {
			c := e.Client()
			c.Must(410, "POST", "/api/v1/setup", map[string]string{"token": string(m[1]), "email": "evil@haven.test", "name": "Evil", "password": "evil passphrase"})
		})
		t.Run("invite works once", func(t *testing.T) {
			inv := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "once@haven.test", "name": "Dr Once", "role": "clinician"})
			token := servertest.TokenOf(t, inv["url"].(string))
			e.Client().Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": token, "password": "first passphrase"})
			e.Client().Must(410, "POST", "/api/v1/invites/activate", map[string]string{"token": token, "password": "second passphrase"})
		})
		t.Run("invite expires", func(t *testing.T) {
			inv := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "late@haven.test", "name": "Dr Late", "role": "clinician"})
			e.Clock.Advance(73 * time.Hour)
			e.Client().Must(410, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, inv["url"].(string)), "password": "late passphrase"})
		})
		t.Run("short password refused with a reason", func(t *testing.T) {
			e.Clock.Advance(-73 * time.Hour)
			inv := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "short@haven.test", "name": "Dr Short", "role": "clinician"})
			_, body, _ := e.Client().Do("POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, inv["url"].(string)), "password": "short"})
			if body["error"] == nil {
				t.Fatal("no reason given")
			}
			// The refused attempt did not consume the link.
			e.Client().Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, inv["url"].(string)), "password": "long enough now"})
		})
		t.Run("enrolment is required before anything else", func(t *testing.T) {
			inv := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "enrol@haven.test", "name": "Dr Enrol", "role": "clinician"})
			c := e.Client()
			c.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, inv["url"].(string)), "password": "enrol passphrase"})
			c.Must(403, "GET", "/api/v1/patients", nil)
			c.Enrol()
			c.List(200, "GET", "/api/v1/patients", nil)
		})
	})
}

func TestSessionListRevokeAndDisable(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, drID := e.Clinician(admin, "dr@haven.test")
		laptop := e.Client()
		laptop.Email, laptop.PW, laptop.Secret = dr.Email, dr.PW, dr.Secret
		laptop.Login()

		list := dr.List(200, "GET", "/api/v1/sessions", nil)
		if len(list) != 2 {
			t.Fatalf("sessions = %v, want 2", list)
		}
		var other string
		for _, s := range list {
			m := s.(map[string]any)
			if m["current"] == false {
				other = m["id"].(string)
			}
			if m["address"] != "127.0.0.1" || m["device"] == "" {
				t.Fatalf("session lacks device or address: %v", m)
			}
		}
		// Another account cannot revoke it; the owner can, and the laptop is signed out.
		admin.Must(404, "DELETE", "/api/v1/sessions/"+other, nil)
		dr.Must(200, "DELETE", "/api/v1/sessions/"+other, nil)
		laptop.Must(401, "GET", "/api/v1/me", nil)
		dr.Must(200, "GET", "/api/v1/me", nil)

		// Disabling the account ends its live sessions at once and stops sign-in.
		dr.Must(403, "POST", "/api/v1/admin/staff/"+drID+"/disable", nil)
		admin.Must(200, "POST", "/api/v1/admin/staff/"+drID+"/disable", nil)
		dr.Must(401, "GET", "/api/v1/me", nil)
		e.Clock.Advance(31 * time.Second)
		dr.Must(401, "POST", "/api/v1/auth/login", map[string]string{"email": dr.Email, "password": dr.PW})
		if last := e.LastAudit(); last[0] != "auth.login" || last[1] != "failure" {
			t.Fatalf("disabled sign-in not audited as a failure: %v", last)
		}
	})
}
