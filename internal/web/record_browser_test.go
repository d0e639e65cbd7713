package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"haven/internal/server/servertest"
)

// TestBrowserRecordAtAGlance: in Chromium, a nurse signs in, opens a patient's record (the
// summary with its vitals trend drawn as inline SVG), records an allergy with the page's form;
// the patient, on a 375 px phone, sees their record with the chart and records their own blood
// pressure. Every page is checked with axe-core, the charts and forms included.
func TestBrowserRecordAtAGlance(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "dr@haven.test")
	nurse, nurseID := e.Staff(admin, "nurse@haven.test", "nurse")
	patient, pid := e.Patient(dr, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+1 555 0100 123", Email: "ada.canary@example.test"})
	admin.Must(200, "POST", "/api/v1/admin/care-team", map[string]string{"patientId": pid, "clinicianId": nurseID})
	items := "/api/v1/patients/" + pid + "/"
	dr.Must(201, "POST", items+"conditions", map[string]any{"text": "Hypertension"})
	dr.Must(201, "POST", items+"medications", map[string]any{"text": "Lisinopril 10 mg", "dosage": "once a day"})
	dr.Must(201, "POST", items+"immunizations", map[string]any{"text": "Influenza vaccine", "lot": "FLU-26"})
	for i, bp := range [][2]int{{142, 91}, {136, 88}, {129, 84}} {
		at := e.Clock.Now().Add(-time.Duration(3-i) * 24 * time.Hour).Format(time.RFC3339)
		dr.Must(201, "POST", items+"observations", map[string]any{"code": map[string]string{"code": "85354-9"}, "systolic": bp[0], "diastolic": bp[1], "effectiveAt": at})
		dr.Must(201, "POST", items+"observations", map[string]any{"code": map[string]string{"code": "29463-7"}, "value": 72 - i, "effectiveAt": at})
	}

	b := newBrowser(t, e)
	b.do(chromedp.EmulateViewport(1280, 900))
	b.signIn(person{Email: nurse.Email, PW: nurse.PW, Secret: nurse.Secret}, "My patients")
	b.visit("/clinician/patients/"+pid, "Patient record")
	if n := b.count(`svg[role="img"] title`); n != 2 {
		t.Fatalf("%d charts with a title, want 2 (blood pressure, weight)", n)
	}
	b.do(chromedp.Click(chromedp.CSS(`#allergies details.add summary`)))
	b.fill("#allergies-text", "Penicillin", "#allergies-reaction", "hives")
	b.submit(`form[action="/clinician/patients/`+pid+`/items/allergies"]`, "Patient record")
	if got := b.text("#allergies .items"); !strings.Contains(got, "Penicillin") || !strings.Contains(got, "hives") {
		t.Fatalf("the allergy list reads %q", got)
	}
	b.noInternalCodes("Patient record")
	// The nurse marks the medication stopped: it leaves the summary.
	b.do(chromedp.SetValue(chromedp.CSS(`#medications select[name="status"]`), "stopped"))
	b.submit(`#medications form.inline`, "Patient record")
	if got := b.text("#medications"); !strings.Contains(got, "No current medications") {
		t.Fatalf("after stopping the medication the section reads %q", got)
	}
	b.screenshot("record")

	p := b.another()
	p.do(chromedp.EmulateViewport(375, 812))
	p.signIn(person{Email: patient.Email, PW: patient.PW, Secret: patient.Secret}, "My record")
	if n := p.count(`svg[role="img"]`); n != 2 {
		t.Fatalf("the patient sees %d charts, want 2", n)
	}
	p.fill("#observations-systolic", "131", "#observations-diastolic", "85")
	p.submit(`form[action="/patient/vitals"]`, "My record")
	if got := p.text(`[role="status"]`); !strings.Contains(got, "Your reading is saved") {
		t.Fatalf("after the reading: %q", got)
	}
	p.noInternalCodes("My record")
	p.screenshot("patient-record")
}
