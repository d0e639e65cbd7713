package web_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"haven/internal/server/servertest"
)

// TestPatientAccessLogOverHTTP: the patient's home page shows the latest lines grouped and
// links to the whole log, which pages back; the API pages by ?before= and ?limit= and answers
// as before without them; an entry is reported from its own page, the privacy officer closes
// the report with a finding (not without one), and the patient reads it there. Another
// patient's entry is not found.
func TestPatientAccessLogOverHTTP(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	clin, _ := e.Clinician(admin, "dr@haven.test")
	patient, pid := e.Patient(clin, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+1 555 0100 123", Email: "ada@example.test"})
	_, other := e.Patient(clin, servertest.PatientIn{Name: "Bob Canary", BirthDate: "1970-01-01", Phone: "+1 555 0100 124", Email: "bob@example.test"})
	po, _ := e.Staff(admin, "privacy@haven.test", "auditor")
	for range 200 {
		clin.Must(200, "GET", "/api/v1/patients/"+pid, nil)
	}
	for range 4 {
		clin.List(200, "GET", "/api/v1/patients", nil)
	}
	page := func(c *servertest.Client, path string) (int, string, string) {
		t.Helper()
		resp, err := c.HTTP.Get(e.TS.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	post := func(c *servertest.Client, path string, form url.Values) (int, string, string) {
		t.Helper()
		resp, err := c.HTTP.PostForm(e.TS.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}

	code, _, home := page(patient, "/patient")
	if code != 200 || !strings.Contains(home, `href="/patient/access-log"`) || strings.Count(home, `href="/patient/access-log/`) != 8 {
		t.Fatalf("home page = %d, %d lines, link to the whole log: %v", code, strings.Count(home, `href="/patient/access-log/`), strings.Contains(home, `href="/patient/access-log"`))
	}
	if !strings.Contains(home, "saw you in their list of patients (4 times)") || !strings.Contains(home, "opened your record") {
		t.Fatalf("home page lines are not grouped, in words:\n%s", home)
	}
	older := regexp.MustCompile(`href="/patient/access-log\?before=([0-9]+)"`)
	code, _, first := page(patient, "/patient/access-log")
	m := older.FindStringSubmatch(first)
	if code != 200 || m == nil || strings.Contains(first, "Newest entries") {
		t.Fatalf("the first page of the log = %d, older link %v", code, m)
	}
	code, _, second := page(patient, "/patient/access-log?before="+m[1])
	if code != 200 || !strings.Contains(second, "Newest entries") || !strings.Contains(second, "opened your record") {
		t.Fatalf("the older page = %d:\n%s", code, second)
	}
	if code, _, _ := page(patient, "/patient/access-log?before=soon"); code != http.StatusBadRequest {
		t.Fatalf("a page link that is not a number = %d, want 400", code)
	}

	// The API: as before without a query; paged with one.
	all := patient.List(200, "GET", "/api/v1/me/access-log", nil)
	if len(all) != 200 {
		t.Fatalf("the API's log = %d items, want the newest 200", len(all))
	}
	seqOf := func(v any) int { return int(v.(map[string]any)["seq"].(float64)) }
	p1 := patient.List(200, "GET", "/api/v1/me/access-log?limit=5", nil)
	p2 := patient.List(200, "GET", fmt.Sprintf("/api/v1/me/access-log?limit=5&before=%d", seqOf(p1[4])), nil)
	if len(p1) != 5 || len(p2) != 5 || seqOf(p1[0]) != seqOf(all[0]) || seqOf(p2[0]) != seqOf(all[5]) {
		t.Fatalf("API pages: %v then %v", p1, p2)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "before=0", "before=x"} {
		if code, _, _ := patient.Do("GET", "/api/v1/me/access-log?"+q, nil); code != http.StatusBadRequest {
			t.Errorf("?%s = %d, want 400", q, code)
		}
	}

	// Report one of the clinician's reads from its own page.
	var seq int
	for _, v := range all {
		if ev := v.(map[string]any); ev["what"] == "opened your record" && ev["you"] == false {
			seq = seqOf(v)
			break
		}
	}
	entry := fmt.Sprintf("/patient/access-log/%d", seq)
	if code, _, body := page(patient, entry); code != 200 || !strings.Contains(body, `id="report"`) {
		t.Fatalf("the entry's page = %d, report form: %v", code, strings.Contains(body, `id="report"`))
	}
	if code, loc, _ := post(patient, entry+"/report", nil); code != http.StatusSeeOther || loc != entry+"?reported=1" {
		t.Fatalf("report = %d → %q", code, loc)
	}
	if code, _, body := page(patient, entry); code != 200 || strings.Contains(body, `id="report"`) || !strings.Contains(body, "will look into it") {
		t.Fatalf("the reported entry's page = %d:\n%s", code, body)
	}
	otherLog := po.List(200, "GET", "/api/v1/patients/"+other+"/access-log?limit=1", nil)
	if code, _, _ := page(patient, fmt.Sprintf("/patient/access-log/%d", seqOf(otherLog[0]))); code != http.StatusNotFound {
		t.Fatalf("another patient's entry = %d, want 404", code)
	}

	// The privacy officer closes it from its page, with a finding and a note.
	reviews := po.List(200, "GET", "/api/v1/audit/reviews", nil)
	id := reviews[0].(map[string]any)["id"].(string)
	if code, _, body := page(po, "/auditor/reviews/"+id); code != 200 || !strings.Contains(body, "Ada Canary") || !strings.Contains(body, "opened a patient&#39;s record") {
		t.Fatalf("the report's page = %d:\n%s", code, body)
	}
	for _, form := range []url.Values{{}, {"outcome": {"justified"}}, {"note": {"a note"}}, {"outcome": {"perhaps"}, "note": {"a note"}}} {
		if code, _, _ := post(po, "/auditor/reviews/"+id+"/resolve", form); code != http.StatusUnprocessableEntity {
			t.Fatalf("closing with %v = %d, want 422", form, code)
		}
	}
	if code, _, _ := po.Do("POST", "/api/v1/audit/reviews/"+id+"/resolve", map[string]string{"outcome": "perhaps", "note": "x"}); code != http.StatusUnprocessableEntity {
		t.Fatalf("the API closing with an unknown finding = %d, want 422", code)
	}
	code, loc, _ := post(po, "/auditor/reviews/"+id+"/resolve", url.Values{"outcome": {"justified"}, "note": {"Dr Canary covered your clinician's list."}})
	if code != http.StatusSeeOther || loc != "/auditor?resolved=justified" {
		t.Fatalf("closing = %d → %q", code, loc)
	}
	if code, _, body := page(patient, entry); code != 200 || !strings.Contains(body, "found the access was justified") || !strings.Contains(body, "covered your clinician") {
		t.Fatalf("the patient's entry after the finding = %d:\n%s", code, body)
	}
	ev := patient.List(200, "GET", fmt.Sprintf("/api/v1/me/access-log?limit=1&before=%d", seq+1), nil)[0].(map[string]any)
	if r, _ := ev["review"].(map[string]any); r == nil || r["outcome"] != "justified" || r["status"] != "resolved" {
		t.Fatalf("the API's entry after the finding: %v", ev)
	}
}
