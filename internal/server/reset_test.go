package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// TestPasswordReset: an administrator issues a staff member a reset link after a step-up; the
// link works once, for 30 minutes, replaces earlier links, ends the account's sessions, lifts
// the lock that 100 failures put on it, and leaves the session at the second factor.
func TestPasswordReset(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, drID := e.Clinician(admin, "dr@haven.test")
		other := e.Client()
		other.Email, other.PW, other.Secret = dr.Email, dr.PW, dr.Secret
		other.Login()

		first := issueReset(t, admin, drID)
		token := issueReset(t, admin, drID)
		const next = "a fresh passphrase 7"
		e.Client().Must(http.StatusGone, "POST", "/api/v1/password-resets/complete", map[string]string{"token": first, "password": next})

		// The password policy applies, and a refused password keeps the link usable.
		e.Client().Must(http.StatusUnprocessableEntity, "POST", "/api/v1/password-resets/complete", map[string]string{"token": token, "password": "password123"})

		c := e.Client()
		if m := c.Must(200, "POST", "/api/v1/password-resets/complete", map[string]string{"token": token, "password": next}); m["stage"] != "second-factor" {
			t.Fatalf("after a reset the session is at %v, want second-factor", m["stage"])
		}
		c.Must(http.StatusForbidden, "GET", "/api/v1/patients", nil)
		c.Secret = dr.Secret
		e.Clock.Advance(31 * time.Second) // the last code was used by the other session
		c.Must(200, "POST", "/api/v1/auth/totp", map[string]string{"code": c.Code()})
		c.Must(200, "GET", "/api/v1/patients", nil)

		e.Client().Must(http.StatusGone, "POST", "/api/v1/password-resets/complete", map[string]string{"token": token, "password": "another passphrase"})
		other.Must(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		e.Client().Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": dr.Email, "password": dr.PW})

		// Expiry: 30 minutes.
		late := issueReset(t, admin, drID)
		e.Clock.Advance(31 * time.Minute)
		e.Client().Must(http.StatusGone, "POST", "/api/v1/password-resets/complete", map[string]string{"token": late, "password": next + "!"})

		// Step-up: an administrator who confirmed a factor more than 5 minutes ago is asked again.
		admin.Login()
		e.Clock.Advance(6 * time.Minute)
		admin.Must(http.StatusForbidden, "POST", "/api/v1/admin/staff/"+drID+"/password-reset", nil)
		admin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": admin.Code()})
		var adminID string
		e.Srv.DB().QueryRow(`SELECT id FROM accounts WHERE role = 'admin'`).Scan(&adminID)
		admin.Must(http.StatusUnprocessableEntity, "POST", "/api/v1/admin/staff/"+adminID+"/password-reset", nil)

		// A disabled account gets no link; a locked one does, and the reset unlocks it.
		admin.Must(200, "POST", "/api/v1/admin/staff/"+drID+"/disable", nil)
		admin.Must(http.StatusUnprocessableEntity, "POST", "/api/v1/admin/staff/"+drID+"/password-reset", nil)

		nurse, nurseID := e.Clinician(admin, "nurse@haven.test")
		for range 100 {
			e.Clock.Advance(16 * time.Minute)
			e.Client().Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": nurse.Email, "password": "wrong passphrase"})
		}
		e.Srv.WaitBackground() // failures are counted after the answer
		admin.Login()
		unlock := issueReset(t, admin, nurseID)
		e.Clock.Advance(time.Minute)
		nurse.Must(200, "POST", "/api/v1/password-resets/complete", map[string]string{"token": unlock, "password": next})
		nurse.Must(200, "POST", "/api/v1/auth/totp", map[string]string{"code": nurse.Code()})
		nurse.Must(200, "GET", "/api/v1/patients", nil)

		// Patients: a clinician in the care team may send a sign-in link; no one else.
		pat, pid := e.Patient(nurse, ada)
		gp, _ := e.Clinician(admin, "gp@haven.test")
		gp.Must(http.StatusForbidden, "POST", "/api/v1/patients/"+pid+"/sign-in-link", nil)
		admin.Must(http.StatusForbidden, "POST", "/api/v1/patients/"+pid+"/sign-in-link", nil)
		patLink := servertest.TokenOf(t, nurse.Must(201, "POST", "/api/v1/patients/"+pid+"/sign-in-link", nil)["url"].(string))
		if m := e.Client().Must(200, "POST", "/api/v1/password-resets/complete", map[string]string{"token": patLink, "password": "patient reset 12"}); m["stage"] != "second-factor" {
			t.Fatalf("patient with an authenticator reset to stage %v", m["stage"])
		}
		pat.Must(http.StatusUnauthorized, "GET", "/api/v1/me", nil)

		// Without e-mail nobody can ask for their own reset: the link would go to whoever asked.
		e.Client().Must(http.StatusConflict, "POST", "/api/v1/password-resets", map[string]string{"email": nurse.Email})

		// No link or token reaches the audit log or the server log.
		for _, tok := range []string{first, token, late, unlock} {
			if strings.Contains(string(e.Log.Bytes()), tok) {
				t.Fatal("a reset token was logged")
			}
			var n int
			e.Srv.DB().QueryRow(`SELECT COUNT(*) FROM audit_entries WHERE reason LIKE '%' || $1 || '%' OR resource_id = $1`, tok).Scan(&n)
			if n != 0 {
				t.Fatal("a reset token was audited")
			}
		}
	})
}

// issueReset has admin issue account id a reset link, without e-mail, and returns its token.
func issueReset(t *testing.T, admin *servertest.Client, id string) string {
	t.Helper()
	m := admin.Must(201, "POST", "/api/v1/admin/staff/"+id+"/password-reset", nil)
	if m["emailed"] != false {
		t.Fatalf("without SMTP the link must come back to the issuer: %v", m)
	}
	return servertest.TokenOf(t, m["url"].(string))
}
