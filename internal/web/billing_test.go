package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// TestBillingPages: a billing account lands on its list; a clinician adds the charge for an
// ended visit from the patient's charges page (a bad code is said in words beside the form);
// billing submits it and downloads it only after confirming a second factor; the patient reads
// it in words, without codes.
func TestBillingPages(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, drID := e.Clinician(admin, "dr@haven.test")
	patient, pid := e.Patient(dr, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+1 555 0100 123", Email: "ada@example.test"})
	clerk, _ := e.Staff(admin, "clerk@haven.test", "billing")
	at := e.Clock.Now().Add(-2 * time.Hour)
	if _, err := e.Srv.DB().ExecContext(context.Background(), `INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at, ended_at)
		VALUES ('visit-1', $1, $2, 'scheduled', 'ended', $3, $4, $1, $3, $4)`, drID, pid, at.UnixNano(), at.Add(20*time.Minute).UnixNano()); err != nil {
		t.Fatal(err)
	}
	do := func(c *servertest.Client, method, path string, form url.Values) (int, http.Header, string) {
		t.Helper()
		var resp *http.Response
		var err error
		if method == "POST" {
			resp, err = c.HTTP.PostForm(e.TS.URL+path, form)
		} else {
			resp, err = c.HTTP.Get(e.TS.URL + path)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	if code, h, _ := do(clerk, "GET", "/", nil); code != http.StatusSeeOther || h.Get("Location") != "/billing" {
		t.Fatalf("billing's start page = %d → %q", code, h.Get("Location"))
	}
	page := "/clinician/patients/" + pid + "/charges"
	if code, _, body := do(dr, "GET", page, nil); code != 200 || !strings.Contains(body, `value="visit-1"`) {
		t.Fatalf("charges page = %d %.500s", code, body)
	}
	form := url.Values{"visitId": {"visit-1"}, "procedureCodes": {"9921"}, "diagnosisCodes": {"J06.9"}, "amount": {"$125"}}
	if code, _, body := do(dr, "POST", page, form); code != http.StatusUnprocessableEntity || !strings.Contains(body, "Procedure codes: a code is not in the expected form") {
		t.Fatalf("bad code = %d %.800s", code, body)
	}
	form.Set("procedureCodes", "99213")
	if code, h, _ := do(dr, "POST", page, form); code != http.StatusSeeOther || h.Get("Location") != page+"?done=added" {
		t.Fatalf("add charge = %d → %q", code, h.Get("Location"))
	}
	if code, _, body := do(clerk, "GET", "/billing", nil); code != 200 || !strings.Contains(body, "Ada Canary") || !strings.Contains(body, "$125.00") || !strings.Contains(body, "J06.9") {
		t.Fatalf("billing list = %d %.800s", code, body)
	}
	id := clerk.List(200, "GET", "/api/v1/charges", nil)[0].(map[string]any)["id"].(string)
	if code, h, _ := do(clerk, "POST", "/billing/charges/"+id+"/status", url.Values{"status": {"submitted"}}); code != http.StatusSeeOther || h.Get("Location") != "/billing?done=status" {
		t.Fatalf("submit = %d → %q", code, h.Get("Location"))
	}
	if code, _, body := do(patient, "GET", "/patient/charges", nil); code != 200 || !strings.Contains(body, "Video visit") || !strings.Contains(body, "$125.00") ||
		!strings.Contains(body, "Billed, waiting for payment") || strings.Contains(body, "J06.9") {
		t.Fatalf("patient's charges = %d %.800s", code, body)
	}
	e.Clock.Advance(6 * time.Minute)
	code, h, _ := do(clerk, "GET", "/billing/export?format=csv", nil)
	if want := "/step-up?next=" + url.QueryEscape("/billing/export?format=csv"); code != http.StatusSeeOther || h.Get("Location") != want {
		t.Fatalf("export without step-up = %d → %q, want %q", code, h.Get("Location"), want)
	}
	if code, h, _ := do(clerk, "POST", "/step-up", url.Values{"code": {clerk.Code()}, "next": {"/billing/export?format=csv"}}); code != http.StatusSeeOther || h.Get("Location") != "/billing/export?format=csv" {
		t.Fatalf("step-up = %d → %q", code, h.Get("Location"))
	}
	code, h, body := do(clerk, "GET", "/billing/export?format=csv", nil)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") || !strings.Contains(body, "Ada Canary,1980-02-29,99213,J06.9,125.00,USD,submitted") {
		t.Fatalf("export = %d %v %q", code, h, body)
	}
	if code, _, _ := do(dr, "GET", "/billing", nil); code != http.StatusForbidden {
		t.Fatalf("clinician on /billing = %d, want 403", code)
	}
}
