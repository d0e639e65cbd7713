package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"haven/internal/server"
	"haven/internal/server/servertest"
)

// TestPasskeys: register several, name and remove them; sign in without a password; use one as
// the second factor and for step-up; a ceremony answers once; an assertion for another origin
// is refused; the organisation can require passkeys for staff.
func TestPasskeys(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "pk@haven.test")
		other, otherID := e.Clinician(admin, "other@haven.test")
		phone := &servertest.Authenticator{Origin: e.BaseURL}
		laptop := &servertest.Authenticator{Origin: e.BaseURL}

		t.Run("adding a passkey needs step-up", func(t *testing.T) {
			e.Clock.Advance(6 * time.Minute)
			clin.Must(http.StatusForbidden, "POST", "/api/v1/passkeys/options", nil)
			e.Clock.Advance(31 * time.Second)
			clin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": clin.Code()})
			if code := clin.RegisterPasskey(phone, "Phone"); code != http.StatusCreated {
				t.Fatalf("register = %d", code)
			}
			if code := clin.RegisterPasskey(laptop, "Laptop"); code != http.StatusCreated {
				t.Fatalf("register second = %d", code)
			}
			if l := clin.List(200, "GET", "/api/v1/passkeys", nil); len(l) != 2 {
				t.Fatalf("passkeys = %v", l)
			}
			clin.Must(200, "PATCH", "/api/v1/passkeys/"+passkeyID(t, clin, "Laptop"), map[string]string{"name": "Work laptop"})
			passkeyID(t, clin, "Work laptop")
		})

		t.Run("passwordless sign-in", func(t *testing.T) {
			c := e.Client()
			if code := c.PasskeySignIn(phone); code != 200 {
				t.Fatalf("passkey sign-in = %d", code)
			}
			if m := c.Must(200, "GET", "/api/v1/me", nil); m["email"] != "pk@haven.test" {
				t.Fatalf("signed in as %v", m)
			}
			// A passkey with user verification is a fresh second factor: step-up acts are allowed.
			c.Must(200, "GET", "/api/v1/recovery-codes", nil)
			c.Must(201, "POST", "/api/v1/recovery-codes", nil)
			if last := e.LastAudit(); last[0] != "auth.recovery-codes" {
				t.Fatalf("last audit = %v", last)
			}
		})

		t.Run("second factor and step-up", func(t *testing.T) {
			c := e.Client()
			c.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": clin.Email, "password": clin.PW})
			c.Must(http.StatusForbidden, "GET", "/api/v1/me", nil)
			if code := c.PasskeyVerify(laptop); code != 200 {
				t.Fatalf("passkey second factor = %d", code)
			}
			c.Must(200, "GET", "/api/v1/me", nil)
			e.Clock.Advance(6 * time.Minute)
			c.Must(http.StatusForbidden, "POST", "/api/v1/recovery-codes", nil)
			if code := c.PasskeyVerify(laptop); code != 200 {
				t.Fatalf("passkey step-up = %d", code)
			}
			c.Must(201, "POST", "/api/v1/recovery-codes", nil)
		})

		t.Run("replayed ceremony and foreign origin", func(t *testing.T) {
			c := e.Client()
			opts := c.Must(200, "POST", "/api/v1/auth/passkeys/sign-in/options", nil)
			cred, _ := phone.Get(opts["publicKey"])
			body := map[string]any{"ceremony": opts["ceremony"], "credential": cred}
			c.Must(200, "POST", "/api/v1/auth/passkeys/sign-in", body)
			d := e.Client()
			d.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/passkeys/sign-in", body)

			phish := &servertest.Authenticator{Origin: "https://haven.example.net"}
			*phish = *phone
			phish.Origin = "https://haven.example.net"
			if code := d.PasskeySignIn(phish); code != http.StatusUnauthorized {
				t.Fatalf("assertion for another origin = %d", code)
			}
			if last := e.LastAudit(); last[0] != "auth.login" || last[1] != "failure" {
				t.Fatalf("failed passkey sign-in not audited: %v", last)
			}
		})

		t.Run("ceremony expires after five minutes", func(t *testing.T) {
			c := e.Client()
			opts := c.Must(200, "POST", "/api/v1/auth/passkeys/sign-in/options", nil)
			cred, _ := phone.Get(opts["publicKey"])
			e.Clock.Advance(5*time.Minute + time.Second)
			c.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/passkeys/sign-in", map[string]any{"ceremony": opts["ceremony"], "credential": cred})
		})

		t.Run("a passkey row moved to another account does not open", func(t *testing.T) {
			other.Login()
			if _, err := e.Srv.DB().Exec(`UPDATE passkeys SET account_id = $1 WHERE id = $2`, otherID, passkeyID(t, clin, "Work laptop")); err != nil {
				t.Fatal(err)
			}
			if code, _, _ := other.Do("GET", "/api/v1/passkeys", nil); code == 200 {
				t.Fatal("a passkey moved onto another account was listed as theirs")
			}
			if code, _, _ := other.Do("POST", "/api/v1/auth/passkeys/verify/options", nil); code == 200 {
				t.Fatal("a passkey moved onto another account was offered for its verification")
			}
			e.Srv.DB().Exec(`UPDATE passkeys SET account_id = $1 WHERE account_id = $2`, clinID, otherID)
		})

		t.Run("remove needs step-up and keeps a factor", func(t *testing.T) {
			id := passkeyID(t, clin, "Phone")
			e.Clock.Advance(6 * time.Minute)
			clin.Must(http.StatusForbidden, "DELETE", "/api/v1/passkeys/"+id, nil)
			e.Clock.Advance(31 * time.Second)
			clin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": clin.Code()})
			clin.Must(200, "DELETE", "/api/v1/passkeys/"+id, nil)
			clin.Must(http.StatusNotFound, "DELETE", "/api/v1/passkeys/"+id, nil)
			clin.Must(200, "DELETE", "/api/v1/totp", nil)
			last := clin.List(200, "GET", "/api/v1/passkeys", nil)[0].(map[string]any)["id"].(string)
			clin.Must(http.StatusConflict, "DELETE", "/api/v1/passkeys/"+last, nil)
			// With TOTP gone, a password sign-in needs the passkey.
			c := e.Client()
			e.Clock.Advance(31 * time.Second)
			c.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": clin.Email, "password": clin.PW})
			c.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/totp", map[string]string{"code": clin.Code()})
			if code := c.PasskeyVerify(laptop); code != 200 {
				t.Fatalf("passkey second factor = %d", code)
			}
		})
	})
}

// TestWorkforcePasskeyPolicy: with passkeys required for staff, staff enrol a passkey (TOTP is
// refused), and TOTP and recovery codes cannot complete a staff sign-in; patients keep TOTP.
func TestWorkforcePasskeyPolicy(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		m := servertest.SetupLink.FindSubmatch(e.Log.Bytes())
		admin := e.Client()
		admin.Email, admin.PW = "admin@haven.test", "admin passphrase 1"
		admin.Must(201, "POST", "/api/v1/setup", map[string]string{"token": string(m[1]), "email": admin.Email, "name": "Ada Admin", "password": admin.PW})
		admin.Must(http.StatusForbidden, "GET", "/api/v1/auth/totp/enrolment", nil)
		key := &servertest.Authenticator{Origin: e.BaseURL}
		if code := admin.RegisterPasskey(key, "Security key"); code != http.StatusCreated {
			t.Fatalf("passkey enrolment = %d", code)
		}
		admin.Must(200, "GET", "/api/v1/me", nil)
		admin.Must(http.StatusForbidden, "POST", "/api/v1/auth/step-up", map[string]string{"code": "123456"})
		admin.Must(201, "POST", "/api/v1/recovery-codes", nil) // fresh from the passkey
		codes := admin.Must(201, "POST", "/api/v1/recovery-codes", nil)["codes"].([]any)

		c := e.Client()
		c.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
		c.Must(http.StatusForbidden, "POST", "/api/v1/auth/totp", map[string]string{"code": codes[0].(string)})
		if code := c.PasskeyVerify(key); code != 200 {
			t.Fatalf("passkey second factor = %d", code)
		}
		c.Must(200, "GET", "/api/v1/me", nil)
	}, func(c *server.Config) { c.Identity.RequireWorkforcePasskey = true })
}

// passkeyID finds the client's passkey called name.
func passkeyID(t *testing.T, c *servertest.Client, name string) string {
	t.Helper()
	for _, p := range c.List(200, "GET", "/api/v1/passkeys", nil) {
		if p := p.(map[string]any); p["name"] == name {
			return p["id"].(string)
		}
	}
	t.Fatalf("no passkey named %q", name)
	return ""
}

// TestConcurrentFactorRemoval: removing the authenticator app and the only passkey at the same
// moment cannot leave an account without a second factor; exactly one removal wins.
//
// The test holds the account row while both requests start; that needs real time to pass.
func TestConcurrentFactorRemoval(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		for round := range 3 {
			clin, clinID := e.Clinician(admin, fmt.Sprintf("dr%d@haven.test", round))
			if code := clin.RegisterPasskey(&servertest.Authenticator{Origin: e.BaseURL}, "Phone"); code != http.StatusCreated {
				t.Fatalf("register = %d", code)
			}
			id := passkeyID(t, clin, "Phone")
			// Hold the account row (a write lock on SQLite) so that both removals are in
			// flight together when it is released: without the removals' own row lock, on
			// PostgreSQL each would read two factors and delete one.
			hold, err := e.Srv.DB().Begin()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := hold.Exec(`UPDATE accounts SET failed_logins = failed_logins WHERE id = $1`, clinID); err != nil {
				t.Fatal(err)
			}
			codes := make(chan int, 2)
			for _, path := range []string{"/api/v1/totp", "/api/v1/passkeys/" + id} {
				go func() {
					req, _ := http.NewRequest("DELETE", e.TS.URL+path, nil)
					resp, err := clin.HTTP.Do(req)
					if err != nil {
						codes <- 0
						return
					}
					resp.Body.Close()
					codes <- resp.StatusCode
				}()
			}
			time.Sleep(300 * time.Millisecond)
			hold.Rollback()
			got := []int{<-codes, <-codes}
			slices.Sort(got)
			if got[0] != http.StatusOK || got[1] != http.StatusConflict {
				t.Fatalf("round %d: concurrent removals answered %v, want one 200 and one 409", round, got)
			}
			var factors int
			if err := e.Srv.DB().QueryRow(`SELECT (SELECT COUNT(*) FROM passkeys WHERE account_id = $1) +
				(SELECT COUNT(*) FROM accounts WHERE id = $1 AND totp_secret_ct IS NOT NULL)`, clinID).Scan(&factors); err != nil {
				t.Fatal(err)
			}
			if factors != 1 {
				t.Fatalf("round %d: %d second factors left, want 1", round, factors)
			}
		}
	})
}
