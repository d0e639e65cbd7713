package server_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"haven/internal/audit"
	"haven/internal/identity/totp"
	"haven/internal/server/servertest"
)

// TestAttackTable runs one row per attack on authentication and sessions, each subtest named
// after its attack, on SQLite and PostgreSQL. A row fails if the safeguard it names is removed.
// The timing side of enumeration is measured by a benchmark, not asserted here.
func TestAttackTable(t *testing.T) {
	for _, row := range []struct {
		attack string
		run    func(t *testing.T, e *servertest.Env)
	}{
		{"replay/totp-code-used-twice", attackTOTPReplay},
		{"replay/totp-code-two-steps-off", attackTOTPTwoStepsOff},
		{"guessing/password-on-the-common-list", attackCommonPassword},
		{"guessing/common-password-with-trivial-changes", attackGuessablePassword},
		{"guessing/password-built-on-context-words", attackContextPassword},
		{"truncation/64-character-unicode-password", attackLongUnicodePassword},
		{"enumeration/unknown-and-known-accounts-answer-alike", attackEnumeration},
		{"enumeration/unknown-and-known-phone-numbers-answer-alike", attackPhoneEnumeration},
		{"fixation/token-before-second-factor", attackFixation},
		{"stolen-session/idle-expiry", attackIdleExpiry},
		{"stolen-session/absolute-expiry", attackAbsoluteExpiry},
		{"stolen-session/logout-replay", attackLogoutReplay},
		{"stolen-session/disabled-account", attackDisabledAccount},
		{"step-up/stale-second-factor", attackStaleStepUp},
		{"reset/does-not-bypass-second-factor", attackResetBypass},
		{"csrf/every-state-changing-route", attackCSRF},
		{"guessing/backoff-and-100-failure-lock", attackBackoffAndLock},
	} {
		t.Run(row.attack, func(t *testing.T) { forEachStore(t, row.run) })
	}
}

func attackTOTPReplay(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	e.Clock.Advance(31 * time.Second)
	code := admin.Code()
	admin.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
	admin.Must(200, "POST", "/api/v1/auth/totp", map[string]string{"code": code})

	// The same code, in the same 30-second step, on a new session: refused and audited.
	other := e.Client()
	other.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
	other.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/totp", map[string]string{"code": code})
	if last := e.LastAudit(); last[0] != "auth.second-factor" || last[1] != audit.Failure {
		t.Fatalf("replay not audited as a failure: %v", last)
	}
}

func attackTOTPTwoStepsOff(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	at := func(d time.Duration) string {
		code, err := totp.Code(admin.Secret, e.Clock.Now().Add(d))
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	e.Clock.Advance(5 * time.Minute)
	c := e.Client()
	c.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
	for _, off := range []time.Duration{-60 * time.Second, 60 * time.Second} {
		c.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/totp", map[string]string{"code": at(off)})
	}
	// One step off is the tolerance RFC 6238 recommends for clock drift.
	c.Must(200, "POST", "/api/v1/auth/totp", map[string]string{"code": at(-30 * time.Second)})
}

func attackCommonPassword(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	for _, pw := range []string{"iloveyou", "sunshine", "Password1", "qwertyuiop"} {
		m := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": strings.ToLower(pw) + "@haven.test", "name": "Dr Common", "role": "clinician"})
		_, body, raw := e.Client().Do("POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, m["url"].(string)), "password": pw})
		if msg, _ := body["error"].(string); !strings.Contains(msg, "commonly used") {
			t.Fatalf("%q was not refused as common: %s", pw, raw)
		}
	}
}

// attackGuessablePassword: a common password with a capital, digits or a symbol added is not on
// the list but is among the first an attacker tries; it is refused (422) as too easy to guess,
// with the reason, and the invitation still works for a better one.
func attackGuessablePassword(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	m := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "guess@haven.test", "name": "Dr Guess", "role": "clinician"})
	token := servertest.TokenOf(t, m["url"].(string))
	for _, pw := range []string{"Password1!", "password12345", "iloveyou1234"} {
		code, body, raw := e.Client().Do("POST", "/api/v1/invites/activate", map[string]string{"token": token, "password": pw})
		if msg, _ := body["error"].(string); code != http.StatusUnprocessableEntity || !strings.Contains(msg, "too easy to guess: it is a commonly used password with small changes") {
			t.Fatalf("%q: %d %s, want 422 refusing it as too easy to guess", pw, code, raw)
		}
	}
	e.Client().Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": token, "password": "dana's purple harbour sunrise"})
}

// attackContextPassword: a password built on the person's name, e-mail address or the service's
// name is among the first an attacker tries (ASVS V6.2.11); it is refused with a reason, and the
// invitation still works for a better one.
func attackContextPassword(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	m := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "dana.whitfield@haven.test", "name": "Dana Whitfield", "role": "clinician"})
	token := servertest.TokenOf(t, m["url"].(string))
	for _, pw := range []string{"Whitfield2026!", "dana.whitfield", "HavenHaven2026", "havenpassword"} {
		_, body, raw := e.Client().Do("POST", "/api/v1/invites/activate", map[string]string{"token": token, "password": pw})
		if msg, _ := body["error"].(string); !strings.Contains(msg, "built on your name") {
			t.Fatalf("%q was not refused as built on context words: %s", pw, raw)
		}
	}
	e.Client().Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": token, "password": "dana's purple harbour sunrise"})
}

func attackLongUnicodePassword(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	// 64 characters, several outside ASCII, in composed form (NFC).
	pw := []rune(strings.Repeat("Crème brûlée über Ångström 東京 ✓ ", 3))[:64]
	composed := norm.NFC.String(string(pw))
	m := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "long@haven.test", "name": "Dr Long", "role": "clinician"})
	c := e.Client()
	c.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, m["url"].(string)), "password": composed})
	// The same password as another keyboard sends it (decomposed, NFD) signs in.
	decomposed := norm.NFD.String(composed)
	if decomposed == composed {
		t.Fatal("test password has no decomposable characters")
	}
	e.Client().Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": "long@haven.test", "password": decomposed})
	// Never truncated: the first 63 characters are a different password.
	e.Client().Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": "long@haven.test", "password": string([]rune(composed)[:63])})
}

func attackEnumeration(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	params := servertest.FastIdentity().PasswordParams
	try := func(email string) (int, string, uint64) {
		before := e.Srv.Identity().PasswordHashRuns(params)
		code, _, raw := e.Client().Do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": "not the password"})
		body := regexp.MustCompile(`"requestId":"[^"]*"`).ReplaceAllString(string(raw), "")
		return code, body, e.Srv.Identity().PasswordHashRuns(params) - before
	}
	knownCode, knownBody, knownHashes := try(admin.Email)
	unknownCode, unknownBody, unknownHashes := try("nobody@haven.test")
	if knownCode != unknownCode || knownBody != unknownBody {
		t.Fatalf("known account: %d %s; unknown: %d %s", knownCode, knownBody, unknownCode, unknownBody)
	}
	// Both paths run one argon2id evaluation at the same cost (the unknown one against a dummy hash).
	if knownHashes != 1 || unknownHashes != 1 {
		t.Fatalf("argon2id runs: known account %d, unknown %d; want 1 each", knownHashes, unknownHashes)
	}
}

// attackPhoneEnumeration: a phone number a patient signs in with and one no one does answer a
// wrong password alike, and alike to an unknown e-mail address, after one argon2id run each.
func attackPhoneEnumeration(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "dr@haven.test")
	phonePatient(t, e, dr, "Pau Phone", "+34 612 345 678")
	params := servertest.FastIdentity().PasswordParams
	try := func(body map[string]string) (string, uint64) {
		before := e.Srv.Identity().PasswordHashRuns(params)
		code, _, raw := e.Client().Do("POST", "/api/v1/auth/login", body)
		answer := strconv.Itoa(code) + " " + regexp.MustCompile(`"requestId":"[^"]*"`).ReplaceAllString(string(raw), "")
		return answer, e.Srv.Identity().PasswordHashRuns(params) - before
	}
	known, knownHashes := try(map[string]string{"phone": "+34 612 345 678", "password": "not the passphrase"})
	for _, other := range []map[string]string{
		{"phone": "+34 699 999 999", "password": "not the passphrase"},
		{"email": "nobody@haven.test", "password": "not the passphrase"},
	} {
		if answer, hashes := try(other); answer != known || hashes != 1 || knownHashes != 1 {
			t.Fatalf("known number: %s (%d argon2id runs); %v: %s (%d runs)", known, knownHashes, other, answer, hashes)
		}
	}
}

func attackFixation(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	e.Clock.Advance(31 * time.Second)
	admin.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
	before := admin.SessionCookie()
	admin.Must(200, "POST", "/api/v1/auth/totp", map[string]string{"code": admin.Code()})
	if admin.SessionCookie() == before {
		t.Fatal("the token was not replaced when sign-in completed")
	}
	// Whoever knew (or planted) the token from before the second factor holds nothing.
	e.ClientWithToken(before).Must(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
	e.ClientWithToken("attacker-chosen-token").Must(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
	admin.Must(200, "GET", "/api/v1/me", nil)
}

func attackIdleExpiry(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	e.Clock.Advance(14 * time.Minute)
	admin.Must(200, "GET", "/api/v1/me", nil)
	e.Clock.Advance(16 * time.Minute) // staff idle timeout: 15 minutes
	admin.Must(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
}

func attackAbsoluteExpiry(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	for elapsed := time.Duration(0); elapsed < 12*time.Hour-10*time.Minute; elapsed += 10 * time.Minute {
		e.Clock.Advance(10 * time.Minute)
		admin.Must(200, "GET", "/api/v1/me", nil)
	}
	e.Clock.Advance(11 * time.Minute) // active all along, but 12 hours after sign-in
	admin.Must(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
}

func attackLogoutReplay(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	token := admin.SessionCookie()
	admin.Must(200, "POST", "/api/v1/auth/logout", nil)
	e.ClientWithToken(token).Must(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
}

func attackDisabledAccount(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	dr, drID := e.Clinician(admin, "dr@haven.test")
	dr.Must(200, "GET", "/api/v1/patients", nil)
	admin.Must(200, "POST", "/api/v1/admin/staff/"+drID+"/disable", nil)
	dr.Must(http.StatusUnauthorized, "GET", "/api/v1/patients", nil)
	e.Client().Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": dr.Email, "password": dr.PW})
}

// attackStaleStepUp: each sensitive act is refused to a session whose last second factor is
// more than 5 minutes old, and allowed again after a step-up.
func attackStaleStepUp(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	dr, drID := e.Clinician(admin, "dr@haven.test")
	po, _ := e.Staff(admin, "po@haven.test", "auditor")
	_, pid := e.Patient(dr, ada)
	acts := []struct {
		who          *servertest.Client
		method, path string
		body         any
	}{
		{admin, "POST", "/api/v1/password", map[string]string{"current": admin.PW, "new": "another admin passphrase"}},
		{admin, "GET", "/api/v1/auth/totp/enrolment", nil},
		{admin, "DELETE", "/api/v1/totp", nil},
		{admin, "POST", "/api/v1/passkeys/options", nil},
		{admin, "DELETE", "/api/v1/passkeys/some-passkey", nil},
		{admin, "POST", "/api/v1/recovery-codes", nil},
		{admin, "POST", "/api/v1/admin/staff", map[string]string{"email": "new@haven.test", "name": "Dr New", "role": "clinician"}},
		{admin, "POST", "/api/v1/admin/staff/" + drID + "/password-reset", nil},
		{admin, "POST", "/api/v1/admin/staff/" + drID + "/disable", nil},
		{admin, "POST", "/api/v1/admin/staff/" + drID + "/enable", nil},
		{admin, "POST", "/api/v1/admin/staff/" + drID + "/invitation", nil},
		{admin, "PUT", "/api/v1/admin/staff/" + drID + "/role", map[string]string{"role": "auditor"}},
		{admin, "PUT", "/api/v1/email", map[string]string{"email": "ada.admin@haven.test"}},
		{dr, "POST", "/api/v1/patients/" + pid + "/sign-in-link", nil},
		{po, "POST", "/api/v1/audit/export/fhir", map[string]string{}},
	}
	e.Clock.Advance(6 * time.Minute)
	for _, c := range []*servertest.Client{admin, dr, po} {
		c.Must(200, "GET", "/api/v1/me", nil) // keep the sessions alive
	}
	for _, a := range acts {
		t.Run(a.method+" "+a.path, func(t *testing.T) {
			code, body, raw := a.who.Do(a.method, a.path, a.body)
			if msg, _ := body["error"].(string); code != http.StatusForbidden || !strings.HasSuffix(msg, "(step-up)") {
				t.Errorf("with a stale second factor = %d %s, want 403 (step-up)", code, raw)
			}
		})
	}
	// After a step-up the same act goes through.
	admin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": admin.Code()})
	admin.Must(201, "POST", "/api/v1/admin/staff/"+drID+"/password-reset", nil)
}

func attackResetBypass(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	_, drID := e.Clinician(admin, "dr@haven.test")
	c := e.Client()
	if m := c.Must(200, "POST", "/api/v1/password-resets/complete", map[string]string{"token": issueReset(t, admin, drID), "password": "attacker's new passphrase"}); m["stage"] != "second-factor" {
		t.Fatalf("a reset link signed in to stage %v", m["stage"])
	}
	// Holding the link (and so the password) is not enough: every PHI request is refused.
	c.Must(http.StatusForbidden, "GET", "/api/v1/patients", nil)
	c.Must(http.StatusForbidden, "GET", "/api/v1/me", nil)
	c.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/totp", map[string]string{"code": "000000"})
}

// attackCSRF sends every state-changing route, of the API and of the browser UI, as a browser
// would from another site: refused with 403 before any handler runs (nothing is audited).
func attackCSRF(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	var paths []string
	for _, rt := range e.Srv.APIRoutes() {
		if rt.Method != http.MethodGet {
			paths = append(paths, rt.Method+" /api/v1"+rt.Path)
		}
	}
	for _, p := range e.Srv.WebRoutes() {
		if !strings.HasPrefix(p, "GET ") {
			paths = append(paths, p)
		}
	}
	if len(paths) < 40 {
		t.Fatalf("only %d state-changing routes found", len(paths))
	}
	wildcard := regexp.MustCompile(`\{[a-z]+\}`)
	entries := len(e.AuditRows())
	for _, p := range paths {
		method, path, _ := strings.Cut(p, " ")
		path = wildcard.ReplaceAllString(path, "x")
		t.Run(p, func(t *testing.T) {
			for _, h := range []map[string]string{
				{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
				{"Origin": "https://evil.example"}, // an older browser: Origin only
			} {
				req, _ := http.NewRequest(method, e.TS.URL+path, bytes.NewReader([]byte(`{}`)))
				req.Header.Set("Content-Type", "application/json")
				for k, v := range h {
					req.Header.Set(k, v)
				}
				resp, err := admin.HTTP.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden {
					t.Errorf("from another site (%v) = %d, want 403", h, resp.StatusCode)
				}
			}
		})
	}
	if n := len(e.AuditRows()); n != entries {
		t.Errorf("cross-site requests reached handlers: %d audit entries appended", n-entries)
	}
	// The same request from Haven's own pages is not refused by this layer.
	req, _ := http.NewRequest("POST", e.TS.URL+"/api/v1/auth/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := admin.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("same-origin logout = %d", resp.StatusCode)
	}
}

// attackBackoffAndLock: after five failures every attempt waits, 1 s doubling with each further
// failure (unknown accounts alike, so the backoff reveals nothing), and is told how long in
// Retry-After and in words that say the same; 100 consecutive failures lock the account until a
// password reset (TestPasswordReset unlocks one).
func attackBackoffAndLock(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	c := e.Client()
	// waits checks that an attempt with the right password is refused for wantSecs seconds.
	waits := func(email string, wantSecs int, wantWords string) {
		t.Helper()
		code, h, body, raw := c.DoHeader("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": admin.PW})
		if code != http.StatusTooManyRequests {
			t.Fatalf("attempt during the backoff = %d %s, want 429", code, raw)
		}
		if got := h.Get("Retry-After"); got != strconv.Itoa(wantSecs) {
			t.Fatalf("Retry-After = %q, want %d", got, wantSecs)
		}
		if want := "Too many attempts. Wait " + wantWords + " and try again."; body["error"] != want {
			t.Fatalf("message = %q, want %q", body["error"], want)
		}
		if last := e.LastAudit(); last[0] != "auth.login" || last[1] != audit.Failure {
			t.Fatalf("a throttled attempt was not audited: %v", last)
		}
	}
	for _, email := range []string{admin.Email, "nobody@haven.test"} {
		for range 5 {
			c.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": "wrong passphrase"})
		}
		// The sixth attempt waits, even with the right password, for a known and an unknown
		// account alike.
		waits(email, 1, "1 second")
		e.Clock.Advance(time.Second)
		c.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": "wrong passphrase"})
		// 1.5 s of the doubled wait are left: the header and the words round up.
		e.Clock.Advance(500 * time.Millisecond)
		waits(email, 2, "2 seconds")
	}
	e.Clock.Advance(2 * time.Second)
	c.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})

	dr, _ := e.Clinician(admin, "dr@haven.test")
	for range 100 {
		e.Clock.Advance(16 * time.Minute)
		c.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": dr.Email, "password": "wrong passphrase"})
	}
	e.Srv.WaitBackground() // failures are counted after the answer
	var status string
	e.Srv.DB().QueryRow(`SELECT status FROM accounts WHERE role = 'clinician'`).Scan(&status)
	if status != "locked" {
		t.Fatalf("status after 100 failures = %q", status)
	}
	e.Clock.Advance(16 * time.Minute)
	c.Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": dr.Email, "password": dr.PW})
	if last := e.LastAudit(); last[0] != "auth.login" || last[1] != audit.Failure {
		t.Fatalf("sign-in to the locked account not audited as a failure: %v", last)
	}
}
