package server_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// exportRecord is a patient whose record holds one canary of every kind the export covers.
type exportRecord struct {
	e        *servertest.Env
	clin     *servertest.Client
	patient  *servertest.Client
	pid      string
	canaries []string
}

func newExportRecord(t *testing.T, e *servertest.Env) exportRecord {
	t.Helper()
	admin := e.Admin()
	clin, _ := e.Clinician(admin, "export-dr@haven.test")
	patient, pid := e.Patient(clin, ada)
	r := exportRecord{e: e, clin: clin, patient: patient, pid: pid,
		canaries: []string{ada.Name, ada.BirthDate, ada.Email, "CANARY-PROBLEM", "CANARY-ALLERGY", "CANARY-REACTION", "CANARY-MED", "CANARY-DOSAGE",
			"CANARY-VACCINE", "CANARY-LOT", "CANARY-NOTE", "CANARY-ADDENDUM", "CANARY-DOC.pdf", "CANARY-RX"}}
	base := "/api/v1/patients/" + pid + "/"
	clin.Must(201, "POST", base+"conditions", map[string]any{"text": "CANARY-PROBLEM asthma"})
	clin.Must(201, "POST", base+"allergies", map[string]any{"text": "CANARY-ALLERGY penicillin", "reaction": "CANARY-REACTION hives", "severity": "moderate", "category": "medication"})
	clin.Must(201, "POST", base+"medications", map[string]any{"text": "CANARY-MED lisinopril", "dosage": "CANARY-DOSAGE once a day"})
	clin.Must(201, "POST", base+"immunizations", map[string]any{"text": "CANARY-VACCINE influenza", "lot": "CANARY-LOT"})
	clin.Must(201, "POST", base+"observations", map[string]any{"code": map[string]string{"code": "8867-4"}, "value": 73, "unit": "/min"})
	note := clin.Must(201, "POST", base+"notes", map[string]string{"body": "CANARY-NOTE synthetic"})["id"].(string)
	clin.Must(201, "POST", "/api/v1/notes/"+note+"/addenda", map[string]string{"body": "CANARY-ADDENDUM synthetic"})
	if code, _, raw := uploadDoc(t, e, clin, pid, "CANARY-DOC.pdf", "application/pdf", []byte("%PDF-1.4 synthetic export")); code != 201 {
		t.Fatalf("upload = %d %s", code, raw)
	}
	rx := clin.Must(201, "POST", "/api/v1/prescriptions", map[string]any{"patientId": pid, "medication": "CANARY-RX amoxicillin", "quantity": "21 capsules"})
	e.Clock.Advance(31 * time.Second)
	clin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": clin.Code()})
	clin.Must(200, "POST", "/api/v1/prescriptions/"+rx["id"].(string)+"/signature", map[string]string{"method": "key"})
	return r
}

// stepUp gives the patient a fresh second factor.
func (r exportRecord) stepUp() {
	r.e.Clock.Advance(31 * time.Second)
	r.patient.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": r.patient.Code()})
}

// TestExportNeedsStepUp: downloading one's whole record asks for a second factor from the last
// five minutes, and the refusal is recorded; staff cannot use the route at all.
func TestExportNeedsStepUp(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		r := newExportRecord(t, e)
		e.Clock.Advance(6 * time.Minute)
		code, _, raw := r.patient.DoRaw("GET", "/api/v1/me/export?format=html", nil)
		if code != http.StatusForbidden || !strings.Contains(string(raw), "step-up") || strings.Contains(string(raw), "CANARY") {
			t.Fatalf("export without a recent second factor = %d %s", code, raw)
		}
		if last := e.LastAudit(); last[0] != "record.export" || last[1] != "deny" || last[3] != r.pid {
			t.Fatalf("refused export not recorded: %v", last)
		}
		r.stepUp()
		if code, _, _ := r.patient.DoRaw("GET", "/api/v1/me/export", nil); code != 200 {
			t.Fatalf("export after step-up = %d", code)
		}
		// A clinician, even in the patient's care and freshly stepped up, has no own record to export.
		e.Clock.Advance(31 * time.Second)
		r.clin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": r.clin.Code()})
		if code, _, raw := r.clin.DoRaw("GET", "/api/v1/me/export", nil); code != http.StatusForbidden || strings.Contains(string(raw), "CANARY") {
			t.Fatalf("clinician export = %d %s", code, raw)
		}
	})
}

// TestExportHoldsTheWholeRecord: the readable document and the JSON Bundle hold every kind of
// entry (demographics, problems, allergies, medications, vitals, immunizations, notes with
// addenda, documents' names, prescriptions), and only the patient's own record.
func TestExportHoldsTheWholeRecord(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		r := newExportRecord(t, e)
		other, otherID := e.Patient(r.clin, servertest.PatientIn{Name: "Ben Elsewhere", BirthDate: "1975-05-05", Phone: "+1 555 0100 456", Email: "ben.elsewhere@example.test"})
		r.clin.Must(201, "POST", "/api/v1/patients/"+otherID+"/conditions", map[string]any{"text": "OTHER-PATIENT-CANARY"})
		r.stepUp()

		code, h, doc := r.patient.DoRaw("GET", "/api/v1/me/export?format=html", nil)
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("html export = %d %v", code, h)
		}
		html := string(doc)
		for _, c := range append(r.canaries, "73 beats a minute", "Added") {
			if !strings.Contains(html, c) {
				t.Errorf("html export lacks %q", c)
			}
		}
		if strings.Contains(strings.ToLower(html), "<script") || strings.Contains(html, "OTHER-PATIENT") || strings.Contains(html, "http://") || strings.Contains(html, "https://") {
			t.Error("html export holds a script, another patient's record or an external reference")
		}

		code, h, raw := r.patient.DoRaw("GET", "/api/v1/me/export?format=json", nil)
		if code != 200 || h.Get("Content-Type") != "application/fhir+json" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
			t.Fatalf("json export = %d %v", code, h)
		}
		var bundle struct {
			ResourceType, Type string
			Entry              []struct{ Resource map[string]any }
		}
		if err := json.Unmarshal(raw, &bundle); err != nil || bundle.ResourceType != "Bundle" || bundle.Type != "collection" {
			t.Fatalf("json export is not a collection Bundle: %v %.200s", err, raw)
		}
		servertest.CheckFHIR(t, raw)
		kinds := map[string]int{}
		for _, en := range bundle.Entry {
			kinds[en.Resource["resourceType"].(string)]++
		}
		for _, k := range []string{"Patient", "Condition", "AllergyIntolerance", "MedicationStatement", "Observation", "Immunization", "DocumentReference", "MedicationRequest"} {
			if kinds[k] == 0 {
				t.Errorf("bundle has no %s: %v", k, kinds)
			}
		}
		for _, c := range []string{"CANARY-PROBLEM", "CANARY-REACTION", "CANARY-DOSAGE", "CANARY-LOT", "CANARY-DOC.pdf", "CANARY-RX", "8867-4", "http://loinc.org"} {
			if !strings.Contains(string(raw), c) {
				t.Errorf("json export lacks %q", c)
			}
		}
		if strings.Contains(string(raw), "OTHER-PATIENT") {
			t.Error("json export holds another patient's record")
		}
		_ = other

		code, h, raw = r.patient.DoRaw("GET", "/api/v1/me/export?format=zip", nil)
		if code != 200 || h.Get("Content-Type") != "application/zip" {
			t.Fatalf("zip export = %d %v", code, h)
		}
		zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		files := map[string]string{}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			files[f.Name] = string(b)
		}
		if !strings.Contains(files["health-record.html"], "CANARY-ADDENDUM") || !strings.Contains(files["health-record.json"], "CANARY-RX") ||
			files["documents/01-CANARY-DOC.pdf"] != "%PDF-1.4 synthetic export" || len(files) != 3 {
			t.Fatalf("zip export holds %d files: %v", len(files), slices.Collect(maps.Keys(files)))
		}
		servertest.CheckFHIR(t, []byte(files["health-record.json"]))
	})
}

// TestExportAudited: one export is one entry, in the patient's own access log in words.
func TestExportAudited(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		r := newExportRecord(t, e)
		r.stepUp()
		before := countAction(e, "record.export")
		r.patient.Must(200, "GET", "/api/v1/me/export?format=html", nil)
		if got := countAction(e, "record.export"); got != before+1 {
			t.Fatalf("one export appended %d record.export entries, want 1", got-before)
		}
		if last := e.LastAudit(); last[0] != "record.export" || last[1] != "allow" || last[3] != r.pid {
			t.Fatalf("export entry = %v", last)
		}
		found := false
		for _, ev := range r.patient.List(200, "GET", "/api/v1/me/access-log", nil) {
			if m := ev.(map[string]any); m["what"] == "downloaded your whole record" && m["you"] == true {
				found = true
			}
		}
		if !found {
			t.Fatal("the export is not in the patient's access log")
		}
	})
}
