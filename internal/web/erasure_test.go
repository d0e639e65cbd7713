package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// TestErasureJourneyInTheBrowserPages: a patient finds "Ask to erase my record", reads what
// is destroyed and what the law keeps, and asks; the privacy officer sees the request, is sent
// to confirm it is them before approving, and then sees the record erased.
func TestErasureJourneyInTheBrowserPages(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "erase-dr@haven.test")
	po, _ := e.Staff(admin, "erase-po@haven.test", "auditor")
	patient, _ := e.Patient(dr, servertest.PatientIn{Name: "Eve Erasable", BirthDate: "1988-08-08", Phone: "+1 555 0100 888", Email: "eve@example.test"})
	call := func(c *servertest.Client, method, path string, form url.Values) (int, string, string) {
		t.Helper()
		req, err := http.NewRequest(method, e.TS.URL+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		if method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", e.TS.URL)
		}
		resp, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	if _, _, body := call(patient, "GET", "/patient", nil); !strings.Contains(body, `href="/patient/erasure"`) {
		t.Fatal("the patient's page has no link to ask for an erasure")
	}
	_, _, body := call(patient, "GET", "/patient/erasure", nil)
	for _, want := range []string{"can never be opened again", "six years", "bills", "legal hold"} {
		if !strings.Contains(body, want) {
			t.Errorf("the confirmation page does not say %q", want)
		}
	}
	if code, _, body := call(patient, "POST", "/patient/erasure", url.Values{"confirm": {"yes"}}); code != 200 || !strings.Contains(body, "Your request is sent") {
		t.Fatalf("asking = %d", code)
	}

	_, _, page := call(po, "GET", "/auditor/governance", nil)
	if !strings.Contains(page, "Waiting for your decision") || !strings.Contains(page, "Approve and erase") {
		t.Fatalf("the privacy officer's page does not offer the request:\n%s", page)
	}
	i := strings.Index(page, `action="/auditor/erasure-requests/`)
	approve := page[i+len(`action="`):]
	approve = approve[:strings.Index(approve, `"`)]
	e.Clock.Advance(6 * time.Minute) // the sign-in's factor is no longer fresh
	code, loc, _ := call(po, "POST", approve, nil)
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/step-up") {
		t.Fatalf("approving without a fresh factor = %d to %q, want the step-up page", code, loc)
	}
	if code, _, _ := call(po, "POST", "/step-up", url.Values{"code": {po.Code()}, "next": {"/auditor/governance"}}); code != http.StatusSeeOther {
		t.Fatalf("step-up = %d", code)
	}
	// A hold placed by the patient's name stops the approval; lifted, it is offered again.
	if code, _, body := call(po, "POST", "/auditor/legal-holds", url.Values{"patient": {"Nobody Known"}, "reason": {"litigation"}}); code != http.StatusUnprocessableEntity || !strings.Contains(body, "o patient has this name") {
		t.Fatalf("a hold on an unknown name = %d %s", code, body)
	}
	if code, loc, _ := call(po, "POST", "/auditor/legal-holds", url.Values{"patient": {"Eve Erasable"}, "reason": {"litigation"}}); code != http.StatusSeeOther || !strings.Contains(loc, "done=held") {
		t.Fatalf("placing a hold = %d to %q", code, loc)
	}
	_, _, page = call(po, "GET", "/auditor/governance", nil)
	if !strings.Contains(page, "a legal hold is on") || !strings.Contains(page, "Eve Erasable: Litigation") || strings.Contains(page, "Approve and erase") {
		t.Fatalf("under a hold the page shows:\n%s", page)
	}
	i = strings.Index(page, `action="/auditor/legal-holds/`)
	lift := page[i+len(`action="`):]
	lift = lift[:strings.Index(lift, `"`)]
	if code, loc, _ := call(po, "POST", lift, nil); code != http.StatusSeeOther || !strings.Contains(loc, "done=lifted") {
		t.Fatalf("lifting = %d to %q", code, loc)
	}
	if code, loc, _ := call(po, "POST", approve, nil); code != http.StatusSeeOther || !strings.Contains(loc, "done=approved") {
		t.Fatalf("approving = %d to %q", code, loc)
	}
	if _, _, page := call(po, "GET", "/auditor/governance?done=approved", nil); !strings.Contains(page, "The record was erased") || !strings.Contains(page, "Erased ") {
		t.Fatal("the page does not say the record was erased")
	}
}
