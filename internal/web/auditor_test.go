package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"haven/internal/server/servertest"
)

// TestAuditorSearchRefusesDatesItCannotRead stops a fail-open in the trail search: a date that
// did not parse was dropped, which widened the search (or the FHIR export) to every day. It is
// refused, naming the field by its label, and nothing is searched or exported.
func TestAuditorSearchRefusesDatesItCannotRead(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	po, _ := e.Staff(admin, "privacy@haven.test", "auditor")
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		resp, err := po.HTTP.PostForm(e.TS.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct{ field, from, to string }{
		{"From", "24/11/2026", ""},
		{"From", "yesterday", "2026-11-24"},
		{"To", "2026-11-24", "2026-13-01"},
	} {
		form := url.Values{"action": {"account.invite"}, "from": {tc.from}, "to": {tc.to}}
		if code, body := post("/auditor/search", form); code != http.StatusUnprocessableEntity || !strings.Contains(body, tc.field+":") || strings.Contains(body, `id="trail"`) {
			t.Errorf("search from=%q to=%q = %d, want 422 naming %s and no results", tc.from, tc.to, code, tc.field)
		}
		if code, body := post("/auditor/export", form); code != http.StatusUnprocessableEntity || strings.Contains(body, "AuditEvent") {
			t.Errorf("export from=%q to=%q = %d, want 422 and no export", tc.from, tc.to, code)
		}
	}
	// Empty dates still mean no bound, and good ones still search.
	if code, body := post("/auditor/search", url.Values{"action": {"account.invite"}, "from": {"2026-11-24"}}); code != http.StatusOK || !strings.Contains(body, `id="trail"`) {
		t.Fatalf("search with a good date = %d", code)
	}
}
