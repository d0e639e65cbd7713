package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// TestPagesNeedTheRightSession: without a session every page sends the browser to sign in; a
// signed-in person of another role is refused.
func TestPagesNeedTheRightSession(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "dr@haven.test")
	anon := e.Client()
	get := func(c *servertest.Client, path string) (int, string) {
		resp, err := c.HTTP.Get(e.TS.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	for _, path := range []string{"/admin", "/clinician", "/clinician/patients/new", "/clinician/patients/x", "/patient", "/"} {
		if code, loc := get(anon, path); code != http.StatusSeeOther || loc != "/login" {
			t.Errorf("GET %s without a session = %d → %q, want 303 → /login", path, code, loc)
		}
	}
	for _, tc := range []struct {
		who  *servertest.Client
		path string
	}{{admin, "/clinician"}, {admin, "/patient"}, {admin, "/clinician/patients/x"}, {dr, "/admin"}, {dr, "/patient"}} {
		if code, _ := get(tc.who, tc.path); code != http.StatusForbidden {
			t.Errorf("GET %s as the wrong role = %d, want 403", tc.path, code)
		}
	}
	if code, loc := get(admin, "/"); code != http.StatusSeeOther || loc != "/admin" {
		t.Errorf("admin's start page = %d → %q", code, loc)
	}
}

// TestTemplatesHaveNoInlineScriptOrStyle keeps the templates within the strict CSP.
func TestTemplatesHaveNoInlineScriptOrStyle(t *testing.T) {
	patterns := []*regexp.Regexp{
		regexp.MustCompile(`(?i)<style`), regexp.MustCompile(`(?i)\sstyle=`), regexp.MustCompile(`(?i)\son[a-z]+=`),
		regexp.MustCompile(`(?i)javascript:`), regexp.MustCompile(`(?i)<script>`), regexp.MustCompile(`(?i)<script\s+[^>]*>\s*[^<\s]`),
	}
	err := filepath.WalkDir("templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, p := range patterns {
			if loc := p.FindIndex(b); loc != nil {
				t.Errorf("%s: inline script or style %q", path, strings.TrimSpace(string(b[loc[0]:min(len(b), loc[1]+20)])))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAuditorDownloadsFHIRAuditEvents: the privacy officer's page exports the trail, filtered by
// date, as FHIR AuditEvent NDJSON; no one else may.
func TestAuditorDownloadsFHIRAuditEvents(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "dr@haven.test")
	po, _ := e.Staff(admin, "privacy@haven.test", "auditor")
	post := func(c *servertest.Client, form url.Values) (int, string) {
		resp, err := c.HTTP.PostForm(e.TS.URL+"/auditor/export", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	today := e.Clock.Now().Format("2006-01-02")
	code, body := post(po, url.Values{"action": {"account.invite"}, "from": {today}, "to": {today}})
	if code != http.StatusOK || !strings.Contains(body, `"resourceType":"AuditEvent"`) || strings.Count(body, "\n") != 2 {
		t.Fatalf("export = %d %.300s", code, body)
	}
	if code, body := post(po, url.Values{"action": {"account.invite"}, "from": {"2020-01-01"}, "to": {"2020-01-02"}}); code != 200 || body != "" {
		t.Fatalf("export outside the dates = %d %q", code, body)
	}
	if code, _ := post(dr, url.Values{}); code != http.StatusForbidden {
		t.Fatalf("clinician export = %d, want 403", code)
	}
}

// TestStepUpPage: a sensitive act without a recent second factor goes through /step-up, which
// returns only to paths on this site (no open redirect).
func TestStepUpPage(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	e.Clock.Advance(6 * time.Minute)
	resp, err := admin.HTTP.PostForm(e.TS.URL+"/admin/staff", url.Values{"name": {"Dr X"}, "email": {"x@haven.test"}, "role": {"clinician"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/step-up?next=%2Fadmin" {
		t.Fatalf("invite without step-up = %d → %q", resp.StatusCode, loc)
	}
	for next, want := range map[string]string{"/admin": "/admin", "//evil.example/x": "/", "https://evil.example": "/", "/\\evil": "/"} {
		e.Clock.Advance(31 * time.Second)
		resp, err := admin.HTTP.PostForm(e.TS.URL+"/step-up", url.Values{"code": {admin.Code()}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != want {
			t.Errorf("step-up with next=%q went to %q, want %q", next, loc, want)
		}
	}
}

// TestSignInPageSaysHowLongToWait: the sixth attempt after five failures is refused on the
// sign-in page with 429, and the page and Retry-After give the same wait.
func TestSignInPageSaysHowLongToWait(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	c := e.Client()
	post := func(pw string) (int, string, string) {
		t.Helper()
		resp, err := c.HTTP.PostForm(e.TS.URL+"/login", url.Values{"email": {admin.Email}, "password": {pw}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
	}
	for range 5 {
		if code, _, _ := post("wrong passphrase"); code != http.StatusUnprocessableEntity {
			t.Fatalf("wrong password = %d, want 422 with the form", code)
		}
	}
	code, retry, page := post(admin.PW)
	if code != http.StatusTooManyRequests || retry != "1" || !strings.Contains(page, "Too many attempts. Wait 1 second and try again.") {
		t.Fatalf("sixth attempt = %d, Retry-After %q; want 429, 1 and the same wait on the page:\n%s", code, retry, page)
	}
	if !strings.Contains(page, `name="password"`) {
		t.Fatalf("the throttled answer is not the sign-in form:\n%s", page)
	}
}
