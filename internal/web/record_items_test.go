package web_test

import (
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// TestRecordPageShowsTheRecordAtAGlance: a nurse in the patient's care opens the record page:
// allergies, problems, medications, the latest vitals with a trend drawn as an accessible
// inline SVG (role img, a title, and a table of the same readings), links to the record's
// documents, prescriptions and charges; records an allergy with the page's form; is refused
// a problem; a wrong weight comes back with its field marked. The patient sees their own
// record with its chart and records their blood pressure.
func TestRecordPageShowsTheRecordAtAGlance(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "dr@haven.test")
	nurse, nurseID := e.Staff(admin, "nurse@haven.test", "nurse")
	patient, pid := e.Patient(dr, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+1 555 0100 123", Email: "ada.canary@example.test"})
	admin.Must(200, "POST", "/api/v1/admin/care-team", map[string]string{"patientId": pid, "clinicianId": nurseID})
	items := "/api/v1/patients/" + pid + "/"
	dr.Must(201, "POST", items+"allergies", map[string]any{"text": "Penicillin", "reaction": "hives", "severity": "severe"})
	dr.Must(201, "POST", items+"conditions", map[string]any{"text": "Hypertension"})
	dr.Must(201, "POST", items+"medications", map[string]any{"text": "Lisinopril 10 mg", "dosage": "once a day"})
	for i, w := range []float64{72, 71.5, 70.8} {
		at := e.Clock.Now().Add(-time.Duration(3-i) * 24 * time.Hour).Format(time.RFC3339)
		dr.Must(201, "POST", items+"observations", map[string]any{"code": map[string]string{"code": "29463-7"}, "value": w, "effectiveAt": at})
	}
	get := func(c *servertest.Client, path string) (int, string) {
		t.Helper()
		resp, err := c.HTTP.Get(e.TS.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	post := func(c *servertest.Client, path string, form url.Values) (int, string) {
		t.Helper()
		resp, err := c.HTTP.PostForm(e.TS.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, list := get(nurse, "/clinician"); code != 200 || !strings.Contains(list, "Ada Canary") || strings.Contains(list, `href="/clinician/patients/new"`) {
		t.Fatalf("the nurse's patient list = %d (the patient shown, no registration offered)", code)
	}
	record := "/clinician/patients/" + pid
	before := len(e.AuditRows())
	code, page := get(nurse, record)
	if code != 200 {
		t.Fatalf("the nurse's record page = %d", code)
	}
	if n := len(e.AuditRows()) - before; n != 1 {
		t.Fatalf("one view of the record page left %d audit entries, want 1", n)
	}
	for _, want := range []string{`class="severe">Penicillin`, "hives", "Hypertension", "Lisinopril 10 mg", "70.8 kg",
		`<svg role="img" aria-labelledby="chart-294637-title"`, `<title id="chart-294637-title">Weight trend: weight, 3 readings; the latest 70.8 kg</title>`,
		"Weight readings as a table", `<polyline points="`,
		`href="/clinician/patients/` + pid + `/documents"`, `href="/clinician/patients/` + pid + `/prescriptions"`, `href="/clinician/patients/` + pid + `/charges"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the record page lacks %q", want)
		}
	}
	if strings.Contains(page, `action="`+record+`/notes"`) || strings.Contains(page, `action="`+record+`/items/conditions"`) {
		t.Error("the nurse is offered a note or a problem form")
	}
	if code, _ := post(nurse, record+"/items/allergies", url.Values{"text": {"Latex"}, "reaction": {"rash"}}); code != 303 {
		t.Fatalf("the nurse's allergy form = %d, want 303", code)
	}
	if _, page := get(nurse, record); !strings.Contains(page, "Latex") {
		t.Fatal("the recorded allergy is not on the page")
	}
	if code, _ := post(nurse, record+"/items/immunizations", url.Values{"text": {"Tetanus"}, "date": {"2025-03-14"}}); code != 303 {
		t.Fatalf("the nurse's immunization form = %d, want 303", code)
	}
	if _, page := get(nurse, record); !strings.Contains(page, "14 Mar 2025") {
		t.Fatal("the immunization's date is not on the page")
	}
	if code, page := post(nurse, record+"/items/allergies/x/status", url.Values{"status": {""}}); code != 422 || !strings.Contains(page, "Choose what to change") {
		t.Fatalf("a change with nothing chosen = %d", code)
	}
	if code, _ := post(nurse, record+"/items/conditions", url.Values{"text": {"Asthma"}}); code != 403 {
		t.Fatalf("the nurse's problem form = %d, want 403", code)
	}
	code, page = post(nurse, record+"/items/observations", url.Values{"vital": {"29463-7"}, "value": {"700"}})
	if code != 422 || !strings.Contains(page, "Enter a weight between 0.3 and 500 kg.") || !strings.Contains(page, `id="observations-value" name="value" inputmode="decimal" autocomplete="off" aria-invalid="true"`) {
		t.Fatalf("a wrong weight = %d:\n%s", code, page)
	}

	code, home := get(patient, "/patient")
	if code != 200 || !strings.Contains(home, `<svg role="img"`) || !strings.Contains(home, "Penicillin") || !strings.Contains(home, `href="/patient/prescriptions"`) {
		t.Fatalf("the patient's page = %d", code)
	}
	if code, _ := post(patient, "/patient/vitals", url.Values{"vital": {"85354-9"}, "systolic": {"141"}, "diastolic": {"92"}}); code != 303 {
		t.Fatalf("the patient's own reading = %d, want 303", code)
	}
	if _, home := get(patient, "/patient?recorded=1"); !strings.Contains(home, "Your reading is saved") || !strings.Contains(home, "141/92 mmHg") {
		t.Fatal("the patient's reading is not shown")
	}
	if _, page := get(dr, record); !strings.Contains(page, "141/92 mmHg") || !strings.Contains(page, "(patient-reported)") {
		t.Fatal("the clinician does not see the patient's reading, marked")
	}
}
