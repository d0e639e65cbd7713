package server_test

import (
	"net/http"
	"strings"
	"testing"

	"haven/internal/server"
	"haven/internal/server/servertest"
)

// register has clin register a patient (named after the address, so that no two are taken for
// one person registered twice) and returns the patient's activation token.
func register(t *testing.T, clin *servertest.Client, email string) string {
	t.Helper()
	m := clin.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "Pat " + strings.SplitN(email, "@", 2)[0], "birthDate": "1990-01-01", "phone": "+1 555 0100 999", "email": email})
	return servertest.TokenOf(t, m["url"].(string))
}

// TestPatientPasswordAlone: a patient whose password has 15+ characters may sign in with it
// alone, unless the organisation requires MFA for patients; a shorter one needs a second factor.
// Adding a first factor later needs no step-up, and from then on it is asked for.
func TestPatientPasswordAlone(t *testing.T) {
	const long = "correct horse battery staple 42"
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, _ := e.Clinician(admin, "dr@haven.test")

		p := e.Client()
		p.Email, p.PW = "long@example.test", long
		if m := p.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": register(t, clin, p.Email), "password": long}); m["stage"] != "full" {
			t.Fatalf("activation with a 15+ character password: stage %v", m["stage"])
		}
		p.Must(200, "GET", "/api/v1/me/record", nil)
		// Sensitive acts still need a second factor: there is none to step up with.
		p.Must(http.StatusForbidden, "POST", "/api/v1/recovery-codes", nil)

		q := e.Client()
		q.Email, q.PW = "short@example.test", "tulip garden"
		if m := q.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": register(t, clin, q.Email), "password": q.PW}); m["stage"] != "enrol" {
			t.Fatalf("activation with a short password: stage %v", m["stage"])
		}
		q.Must(http.StatusForbidden, "GET", "/api/v1/me/record", nil)

		// The long-password patient adds an authenticator app without step-up (none to use)...
		p.Enrol()
		// ...and is asked for it at the next sign-in.
		c := e.Client()
		if m := c.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": p.Email, "password": long}); m["stage"] != "second-factor" {
			t.Fatalf("sign-in after enrolling: stage %v", m["stage"])
		}
	})
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, _ := e.Clinician(admin, "dr@haven.test")
		p := e.Client()
		if m := p.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": register(t, clin, "long@example.test"), "password": long}); m["stage"] != "enrol" {
			t.Fatalf("with patient MFA required: stage %v", m["stage"])
		}
	}, func(c *server.Config) { c.Identity.RequirePatientMFA = true })
}
