package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"haven/internal/server/servertest"
)

// TestBrowserExportAndCompliance: a patient on a phone asks for their record, confirms it is
// them and lands one click from the download; the privacy officer reads the compliance report.
// Every page is checked with axe.
func TestBrowserExportAndCompliance(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	e, poP, patP := clinicWithPatient(t)

	pat := newBrowserFor(t, e, 3*time.Minute)
	pat.do(chromedp.EmulateViewport(375, 800))
	pat.signIn(patP, "My record")
	e.Clock.Advance(6 * time.Minute)
	pat.follow(chromedp.Click(chromedp.CSS("#export-html")), "Confirm it is you")
	e.Clock.Advance(31 * time.Second)
	pat.fill("#code", pat.code(patP.Secret))
	pat.submit(`form[action="/step-up"]`, "Your record is ready to download")
	if href := pat.text("#export-download"); !strings.Contains(href, "Download my record") {
		t.Fatalf("the ready page: %q", href)
	}
	pat.noInternalCodes("export ready")

	po := pat.another()
	po.do(chromedp.EmulateViewport(1280, 900))
	po.signIn(poP, "Privacy review")
	po.visit("/admin/compliance", "Compliance report")
	if row := po.text("#check-authentication"); !strings.Contains(row, "Passed") {
		t.Fatalf("authentication row: %q", row)
	}
	if row := po.text("#check-backup"); !strings.Contains(row, "Failed") {
		t.Fatalf("backup row: %q", row)
	}
	po.noInternalCodes("compliance report")
	po.screenshot("compliance-report")
}

// clinicWithPatient is a clinic where a clinician registered Ada, who activated her account,
// and a privacy officer: the server, the officer and Ada, ready to sign in.
func clinicWithPatient(t *testing.T) (e *servertest.Env, officer, patient person) {
	t.Helper()
	withMail, inbox := servertest.WithMail(t)
	e = servertest.New(t, "", withMail)
	admin := e.Admin()
	drP := staffByMail(t, e, admin, inbox, "Dr Grace Hopper", "grace@haven.test", "clinician")
	officer = staffByMail(t, e, admin, inbox, "Pat Privacy", "privacy@haven.test", "auditor")
	dr := e.Client()
	dr.Email, dr.PW, dr.Secret = drP.Email, drP.PW, drP.Secret
	dr.Login()
	reg := dr.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "Ada Canary", "birthDate": "1980-02-29", "phone": "+1 555 0100 123", "email": "ada.canary@example.test"})
	patient = person{Name: "Ada Canary", Email: "ada.canary@example.test", PW: "patient pw 12", ID: reg["patientId"].(string)}
	patient.Secret = activate(t, e, linkFor(t, inbox, reg, patient.Email), patient.Email, patient.PW)
	return e, officer, patient
}
