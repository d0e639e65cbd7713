package server_test

import (
	"strings"
	"testing"

	"haven/internal/server/servertest"
)

// TestNurseRecordsVitalsInTheirCare: a nurse in a patient's care team records vitals,
// allergies, medications and immunizations and reads the record; outside the care team every
// one of those is refused (403) and recorded; a problem (condition.write) is refused them even
// in it. Each refusal is decided before the body is read.
func TestNurseRecordsVitalsInTheirCare(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "dr@haven.test")
		nurse, nurseID := e.Staff(admin, "nurse@haven.test", "nurse")
		_, pid := e.Patient(dr, ada)
		_, other := e.Patient(dr, servertest.PatientIn{Name: "Ben Other", BirthDate: "1975-05-05", Phone: "+1 555 0100 456", Email: "ben.other@example.test"})
		admin.Must(200, "POST", "/api/v1/admin/care-team", map[string]string{"patientId": pid, "clinicianId": nurseID})

		writes := []struct {
			kind string
			body map[string]any
		}{
			{"observations", map[string]any{"code": map[string]string{"code": "85354-9"}, "systolic": 128, "diastolic": 82}},
			{"observations", map[string]any{"code": map[string]string{"code": "8867-4"}, "value": 72, "unit": "/min"}},
			{"allergies", map[string]any{"text": "Penicillin", "reaction": "hives", "severity": "moderate", "category": "medication"}},
			{"medications", map[string]any{"text": "Lisinopril 10 mg tablet", "dosage": "once a day"}},
			{"immunizations", map[string]any{"text": "Influenza vaccine", "lot": "FLU-26"}},
		}
		for _, w := range writes {
			it := nurse.Must(201, "POST", "/api/v1/patients/"+pid+"/"+w.kind, w.body)
			if it["recordedBy"] != nurseID || it["patientReported"] == true {
				t.Fatalf("%s recorded as %v", w.kind, it)
			}
			if code, _, _ := nurse.Do("POST", "/api/v1/patients/"+other+"/"+w.kind, w.body); code != 403 {
				t.Fatalf("a nurse recorded %s outside their care: %d", w.kind, code)
			}
			if last := e.LastAudit(); last[1] != "deny" || last[3] != other {
				t.Fatalf("the refusal is not the last entry: %v", last)
			}
		}
		// Refused before the body is read: a body that is not even JSON gets the same 403.
		if code, _, _ := nurse.DoRaw("POST", "/api/v1/patients/"+other+"/allergies", strings.NewReader("{not json")); code != 403 {
			t.Fatalf("a nurse outside the care team got %d for a broken body, want 403", code)
		}
		if code, _, _ := nurse.Do("POST", "/api/v1/patients/"+pid+"/conditions", map[string]any{"text": "Hypertension"}); code != 403 {
			t.Fatalf("a nurse recorded a problem: %d", code)
		}
		if last := e.LastAudit(); last[0] != "condition.write" || last[1] != "deny" {
			t.Fatalf("the refused problem is not recorded: %v", last)
		}
		if code, _, _ := nurse.Do("GET", "/api/v1/patients/"+other+"/summary", nil); code != 403 {
			t.Fatalf("a nurse read a record outside their care: %d", code)
		}
		s := nurse.Must(200, "GET", "/api/v1/patients/"+pid+"/summary", nil)
		if n := len(s["latestVitals"].([]any)); n != 2 {
			t.Fatalf("%d latest vitals, want 2", n)
		}
		if a := s["allergies"].([]any); len(a) != 1 || a[0].(map[string]any)["reaction"] != "hives" {
			t.Fatalf("allergies %v", a)
		}
		hr := nurse.List(200, "GET", "/api/v1/patients/"+pid+"/observations?code=8867-4", nil)
		if len(hr) != 1 || hr[0].(map[string]any)["unit"] != "/min" {
			t.Fatalf("heart rates %v", hr)
		}
		// The nurse stops the medication; the clinician resolves nothing they did not record…
		med := nurse.List(200, "GET", "/api/v1/patients/"+pid+"/medications", nil)[0].(map[string]any)
		stopped := nurse.Must(200, "PATCH", "/api/v1/patients/"+pid+"/medications/"+med["id"].(string), map[string]string{"status": "stopped"})
		if stopped["status"] != "stopped" {
			t.Fatalf("stopped = %v", stopped)
		}
		if n := len(nurse.Must(200, "GET", "/api/v1/patients/"+pid+"/summary", nil)["medications"].([]any)); n != 0 {
			t.Fatalf("a stopped medication is still current (%d)", n)
		}
	})
}

// TestPatientRecordsOwnBloodPressure: a patient records their own blood pressure, marked
// patient-reported, cannot record an allergy, cannot change their reading, and cannot write
// to another's record.
func TestPatientRecordsOwnBloodPressure(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "dr@haven.test")
		p, pid := e.Patient(dr, ada)
		_, other := e.Patient(dr, servertest.PatientIn{Name: "Ben Other", BirthDate: "1975-05-05", Phone: "+1 555 0100 456", Email: "ben.other@example.test"})
		bp := map[string]any{"code": map[string]string{"code": "85354-9"}, "systolic": 141, "diastolic": 92}
		it := p.Must(201, "POST", "/api/v1/patients/"+pid+"/observations", bp)
		if it["patientReported"] != true || it["unit"] != "mm[Hg]" || len(it["components"].([]any)) != 2 {
			t.Fatalf("own reading = %v", it)
		}
		if code, _, _ := p.Do("POST", "/api/v1/patients/"+pid+"/allergies", map[string]any{"text": "Peanut"}); code != 403 {
			t.Fatalf("a patient recorded an allergy: %d", code)
		}
		if code, _, _ := p.Do("PATCH", "/api/v1/patients/"+pid+"/observations/"+it["id"].(string), map[string]any{"status": "entered-in-error"}); code != 403 {
			t.Fatalf("a patient changed a reading: %d", code)
		}
		if code, _, _ := p.Do("POST", "/api/v1/patients/"+other+"/observations", bp); code != 403 {
			t.Fatalf("a patient wrote to another's record: %d", code)
		}
		s := p.Must(200, "GET", "/api/v1/patients/"+pid+"/summary", nil)
		if v := s["latestVitals"].([]any); len(v) != 1 || v[0].(map[string]any)["patientReported"] != true {
			t.Fatalf("the patient's summary: %v", v)
		}
		// The clinician sees it marked, and may mark it entered in error.
		got := dr.List(200, "GET", "/api/v1/patients/"+pid+"/observations", nil)
		if len(got) != 1 || got[0].(map[string]any)["patientReported"] != true {
			t.Fatalf("the clinician's list: %v", got)
		}
		dr.Must(200, "PATCH", "/api/v1/patients/"+pid+"/observations/"+it["id"].(string), map[string]any{"status": "entered-in-error"})
	})
}

// TestRecordItemFieldErrors: a value out of range or a missing name is a 422 naming its
// field in words; an item of another kind is a 404.
func TestRecordItemFieldErrors(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "dr@haven.test")
		_, pid := e.Patient(dr, ada)
		cases := []struct {
			kind  string
			body  map[string]any
			field string
		}{
			{"observations", map[string]any{"code": map[string]string{"code": "29463-7"}, "value": 700}, "value: enter a weight between 0.3 and 500 kg"},
			{"observations", map[string]any{"code": map[string]string{"code": "8310-5"}, "value": 98.6}, "value: enter a temperature between"},
			{"observations", map[string]any{"code": map[string]string{"code": "85354-9"}, "systolic": 120}, "diastolic: enter the diastolic pressure"},
			{"observations", map[string]any{"code": map[string]string{"code": "0000-0"}, "value": 1}, "code: choose what was measured"},
			{"allergies", map[string]any{"text": ""}, "text: write the name"},
			{"allergies", map[string]any{"text": "Peanut", "severity": "awful"}, "severity: choose one of"},
			{"conditions", map[string]any{"text": "Asthma", "dosage": "twice"}, "dosage: only a medication"},
		}
		for _, c := range cases {
			code, m, _ := dr.Do("POST", "/api/v1/patients/"+pid+"/"+c.kind, c.body)
			if msg, _ := m["error"].(string); code != 422 || !strings.HasPrefix(msg, c.field) {
				t.Errorf("%s %v = %d %q, want 422 %q…", c.kind, c.body, code, msg, c.field)
			}
		}
		cond := dr.Must(201, "POST", "/api/v1/patients/"+pid+"/conditions", map[string]any{"text": "Asthma"})
		if code, _, _ := dr.Do("PATCH", "/api/v1/patients/"+pid+"/allergies/"+cond["id"].(string), map[string]any{"status": "inactive"}); code != 404 {
			t.Fatalf("a condition changed as an allergy: %d", code)
		}
		if code, m, _ := dr.Do("PATCH", "/api/v1/patients/"+pid+"/conditions/"+cond["id"].(string), map[string]any{"status": "stopped"}); code != 422 || !strings.HasPrefix(m["error"].(string), "status: choose one of: active, resolved, entered-in-error") {
			t.Fatalf("a wrong status = %d %v", code, m)
		}
		dr.Must(200, "PATCH", "/api/v1/patients/"+pid+"/conditions/"+cond["id"].(string), map[string]any{"status": "resolved"})
	})
}
