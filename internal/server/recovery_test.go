package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

var recoveryCodeShape = regexp.MustCompile(`^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$`)

// TestFirstEnrolmentRecoveryCodes is the lock-out a lost phone would cause: the answer that
// completes an account's first second-factor enrolment carries its ten recovery codes, once;
// each works once at sign-in, typed as people type them (lower case, without dashes, with
// spaces); a later enrolment carries none. A first passkey comes with codes too.
func TestFirstEnrolmentRecoveryCodes(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		codes := admin.RecoveryCodes
		if len(codes) != 10 {
			t.Fatalf("first TOTP enrolment answered %d recovery codes, want 10", len(codes))
		}
		seen := map[string]bool{}
		for _, c := range codes {
			if !recoveryCodeShape.MatchString(c) || seen[c] {
				t.Fatalf("code %q: not XXXX-XXXX-XXXX-XXXX, or repeated", c)
			}
			seen[c] = true
		}
		if n := admin.Must(200, "GET", "/api/v1/recovery-codes", nil)["remaining"]; n != float64(10) {
			t.Fatalf("remaining = %v, want 10", n)
		}

		typed := []func(string) string{
			func(c string) string { return c },
			strings.ToLower,
			func(c string) string { return strings.ReplaceAll(strings.ToLower(c), "-", "") },
			func(c string) string { return strings.ReplaceAll(c, "-", " ") },
		}
		for i, code := range codes {
			c := e.Client()
			c.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
			if m := c.Must(200, "POST", "/api/v1/auth/totp", map[string]string{"code": typed[i%len(typed)](code)}); m["stage"] != "full" {
				t.Fatalf("code #%d: stage %v", i, m["stage"])
			}
			c.Must(200, "GET", "/api/v1/me", nil)
			again := e.Client()
			again.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
			again.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/totp", map[string]string{"code": strings.ToLower(code)})
		}
		if n := admin.Must(200, "GET", "/api/v1/recovery-codes", nil)["remaining"]; n != float64(0) {
			t.Fatalf("remaining after using all = %v", n)
		}

		// A second factor, even with every code used, comes with none.
		code, answer := admin.RegisterPasskeyAnswer(&servertest.Authenticator{Origin: e.BaseURL}, "Phone")
		if _, has := answer["recoveryCodes"]; code != http.StatusCreated || has {
			t.Fatalf("second factor = %d %v, want 201 without recoveryCodes", code, answer)
		}

		// A clinician enrols a passkey first: 201, signed in, ten codes; an app later: none.
		m := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "pk-first@haven.test", "name": "Dr First", "role": "clinician"})
		clin := e.Client()
		clin.Email, clin.PW = "pk-first@haven.test", "staff passphrase"
		if s := clin.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, m["url"].(string)), "password": clin.PW}); s["stage"] != "enrol" {
			t.Fatalf("after activation: %v", s)
		}
		code, answer = clin.RegisterPasskeyAnswer(&servertest.Authenticator{Origin: e.BaseURL}, "Laptop")
		if first := servertest.Strings(answer["recoveryCodes"]); code != http.StatusCreated || answer["stage"] != "full" || len(first) != 10 {
			t.Fatalf("first passkey = %d %v, want 201, stage full and 10 codes", code, answer)
		}
		clin.Must(200, "GET", "/api/v1/me", nil)
		clin.Secret = clin.Must(200, "GET", "/api/v1/auth/totp/enrolment", nil)["secret"].(string)
		e.Clock.Advance(31 * time.Second)
		if later := clin.Must(200, "POST", "/api/v1/auth/totp/enrolment", map[string]string{"code": clin.Code()}); later["stage"] != "full" {
			t.Fatalf("an app after a passkey: %v", later)
		} else if _, has := later["recoveryCodes"]; has {
			t.Fatalf("an app after a passkey carried recovery codes: %v", later)
		}
	})
}
