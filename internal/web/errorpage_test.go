package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"haven/internal/server/servertest"
)

// TestErrorPagesLeadBack: 403, 404 and 410 are pages like the rest, with a heading in words, a
// sentence on what to do next and a link home; no internal field name reaches a form.
func TestErrorPagesLeadBack(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "dr@haven.test")
	for _, tc := range []struct {
		name    string
		c       *servertest.Client
		path    string
		status  int
		heading string
	}{
		{"no such page", e.Client(), "/no-such-page", 404, "Page not found"},
		{"another role's page", admin, "/clinician", 403, "You do not have access to this"},
		{"a used or unknown link", e.Client(), "/invite?token=not-a-token", 410, "This link no longer works"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := page(t, e, tc.c, "GET", tc.path, nil)
			if code != tc.status || !strings.Contains(body, "<h1>"+tc.heading+"</h1>") || !strings.Contains(body, `id="error-home" href="/"`) ||
				!strings.Contains(body, `href="/static/haven.css"`) {
				t.Fatalf("GET %s = %d:\n%s", tc.path, code, body)
			}
		})
	}
	code, _, body := page(t, e, dr, "POST", "/clinician/patients/new", url.Values{"name": {"Ada Canary"}, "birthDate": {"2999-01-01"},
		"phone": {"+1 555 0100"}, "email": {"ada@example.test"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Date of birth: enter") || strings.Contains(body, "birthDate:") {
		t.Fatalf("a bad birth date = %d:\n%s", code, body)
	}
	code, _, body = page(t, e, dr, "POST", "/clinician/search", url.Values{"q": {"  "}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Enter a name, phone or date of birth to search.") {
		t.Fatalf("an empty search = %d:\n%s", code, body)
	}
}

// TestRedirectsAreNotFailures: the UI's redirects (303 through the error path) leave one line
// each in the server's log with their status, never "request failed".
func TestRedirectsAreNotFailures(t *testing.T) {
	e := servertest.New(t, "")
	anon := e.Client()
	if code, loc, _ := page(t, e, anon, "GET", "/admin", nil); code != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("GET /admin without a session = %d → %q", code, loc)
	}
	log := string(e.Log.Bytes())
	if strings.Contains(log, "request failed") {
		t.Fatalf("a redirect was logged as a failure:\n%s", log)
	}
	if n := strings.Count(log, `"route":"GET /admin","status":303`); n != 1 {
		t.Fatalf("%d lines for the redirect, want 1:\n%s", n, log)
	}
}
