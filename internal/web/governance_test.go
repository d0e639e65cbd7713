package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// TestCompliancePageRenders: administrators and the privacy officer read the compliance report
// in words (no internal status codes); a clinician is refused.
func TestCompliancePageRenders(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	auditor, _ := e.Staff(admin, "po@haven.test", "auditor")
	clin, _ := e.Clinician(admin, "grace@haven.test")
	for _, c := range []*servertest.Client{admin, auditor} {
		code, _, body := page(t, e, c, "GET", "/admin/compliance", nil)
		if code != 200 {
			t.Fatalf("compliance page = %d", code)
		}
		for _, want := range []string{"Compliance report", "§164.312(d)", "Every staff member signs in with a second factor", "Passed", "Failed", "no successful backup recorded", `aria-current="page"`} {
			if !strings.Contains(body, want) {
				t.Errorf("compliance page lacks %q", want)
			}
		}
		if strings.Contains(body, ">pass<") || strings.Contains(body, ">fail<") {
			t.Error("outcomes are not in words")
		}
	}
	if code, _, _ := page(t, e, clin, "GET", "/admin/compliance", nil); code != 403 {
		t.Fatalf("a clinician reads the compliance report: %d", code)
	}
}

// TestExportThroughStepUp: the patient's page offers the download; without a recent second
// factor the browser confirms it first and lands on a page with the download one click away;
// the download is an attachment of the readable record.
func TestExportThroughStepUp(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	clin, _ := e.Clinician(admin, "grace@haven.test")
	p, _ := e.Patient(clin, servertest.PatientIn{Name: "Ada Export", BirthDate: "1980-02-29", Phone: "+1 555 0100 123", Email: "ada.export@example.test"})
	if _, _, body := page(t, e, p, "GET", "/patient", nil); !strings.Contains(body, `href="/patient/export?format=html"`) {
		t.Fatal("the patient's page has no download")
	}
	e.Clock.Advance(6 * time.Minute)
	code, loc, _ := page(t, e, p, "GET", "/patient/export?format=html", nil)
	if code != 303 || loc != "/step-up?next="+url.QueryEscape("/patient/export/ready?format=html") {
		t.Fatalf("export without step-up = %d → %q", code, loc)
	}
	e.Clock.Advance(31 * time.Second)
	code, loc, _ = page(t, e, p, "POST", "/step-up", url.Values{"code": {p.Code()}, "next": {"/patient/export/ready?format=html"}})
	if code != 303 || loc != "/patient/export/ready?format=html" {
		t.Fatalf("step-up = %d → %q", code, loc)
	}
	if _, _, body := page(t, e, p, "GET", loc, nil); !strings.Contains(body, `href="/patient/export?format=html"`) {
		t.Fatal("the ready page has no download")
	}
	resp, err := p.HTTP.Get(e.TS.URL + "/patient/export?format=html")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("download = %d %v", resp.StatusCode, resp.Header)
	}
}
