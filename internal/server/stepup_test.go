package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// TestStepUpAndRecoveryCodes: sensitive acts need a second factor from the last five minutes;
// recovery codes are regenerated only after step-up, shown once, and each works once.
func TestStepUpAndRecoveryCodes(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()

		t.Run("step-up required after five minutes", func(t *testing.T) {
			e.Clock.Advance(6 * time.Minute)
			code, _, raw := admin.Do("POST", "/api/v1/admin/staff", map[string]string{"email": "late@haven.test", "name": "Dr Late", "role": "clinician"})
			if code != http.StatusForbidden || !strings.Contains(string(raw), "step-up") {
				t.Fatalf("invite without a recent second factor = %d %s", code, raw)
			}
			admin.Must(http.StatusForbidden, "POST", "/api/v1/recovery-codes", nil)
			admin.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/step-up", map[string]string{"code": "000000"})
			if last := e.LastAudit(); last[0] != "auth.step-up" || last[1] != "failure" {
				t.Fatalf("failed step-up not audited: %v", last)
			}
			e.Clock.Advance(31 * time.Second)
			admin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": admin.Code()})
			admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "late@haven.test", "name": "Dr Late", "role": "clinician"})
		})

		t.Run("recovery codes", func(t *testing.T) {
			m := admin.Must(201, "POST", "/api/v1/recovery-codes", nil)
			codes := m["codes"].([]any)
			if len(codes) != 10 {
				t.Fatalf("got %d codes", len(codes))
			}
			if n := admin.Must(200, "GET", "/api/v1/recovery-codes", nil)["remaining"]; n != float64(10) {
				t.Fatalf("remaining = %v", n)
			}
			first := codes[0].(string)
			// Sign in on a new device with a recovery code instead of the authenticator.
			c := e.Client()
			c.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
			c.Must(200, "POST", "/api/v1/auth/totp", map[string]string{"code": strings.ToLower(first)})
			c.Must(200, "GET", "/api/v1/me", nil)
			// replay: the same code is refused the second time.
			d := e.Client()
			d.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
			d.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/totp", map[string]string{"code": first})
			if n := admin.Must(200, "GET", "/api/v1/recovery-codes", nil)["remaining"]; n != float64(9) {
				t.Fatalf("remaining after one use = %v", n)
			}
			// Codes are stored as MACs, never in clear.
			var stored int
			e.Srv.DB().QueryRow(`SELECT COUNT(*) FROM recovery_codes`).Scan(&stored)
			if stored != 10 {
				t.Fatalf("%d codes stored", stored)
			}
		})
	})
}

func TestPasswordChange(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		other := e.Client()
		other.Email, other.PW, other.Secret = admin.Email, admin.PW, admin.Secret
		other.Login()
		admin.Must(http.StatusUnauthorized, "POST", "/api/v1/password", map[string]string{"current": "not it", "new": "a brand new passphrase"})
		admin.Must(http.StatusUnprocessableEntity, "POST", "/api/v1/password", map[string]string{"current": admin.PW, "new": "password123"})
		e.Clock.Advance(6 * time.Minute)
		admin.Must(http.StatusForbidden, "POST", "/api/v1/password", map[string]string{"current": admin.PW, "new": "a brand new passphrase"})
		e.Clock.Advance(31 * time.Second)
		admin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": admin.Code()})
		admin.Must(200, "POST", "/api/v1/password", map[string]string{"current": admin.PW, "new": "a brand new passphrase"})
		admin.Must(200, "GET", "/api/v1/me", nil)                     // this session continues
		other.Must(http.StatusUnauthorized, "GET", "/api/v1/me", nil) // the others end
		c := e.Client()
		c.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
		c.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": "a brand new passphrase"})
	})
}
