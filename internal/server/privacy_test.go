package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"haven/internal/server/servertest"
)

// TestPatientAccessLogAndReview: a patient sees which clinician opened their record, reading
// the log is itself audited, an unrecognised access goes to the privacy officer, who sees the
// trail but no clinical content.
func TestPatientAccessLogAndReview(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, drID := e.Clinician(admin, "grace@haven.test")
		p, pid := e.Patient(dr, ada)
		p2, _ := e.Patient(dr, servertest.PatientIn{Name: "Bo Other", BirthDate: "1990-01-01", Phone: "+1 555 0100 999", Email: "bo@example.test"})
		po, _ := e.Staff(admin, "privacy@haven.test", "auditor")

		dr.Must(200, "GET", "/api/v1/patients/"+pid, nil)
		reads := countAction(e, "accesslog.read")
		log := p.List(200, "GET", "/api/v1/me/access-log", nil)
		if got := countAction(e, "accesslog.read"); got != reads+1 {
			t.Fatalf("reading the access log appended %d entries, want 1", got-reads)
		}
		var opened map[string]any
		for _, ev := range log {
			m := ev.(map[string]any)
			if m["what"] == "opened your record" && m["who"] == "Dr grace" {
				opened = m
				break
			}
		}
		if opened == nil {
			t.Fatalf("the clinician's read is not in the patient's access log: %v", log)
		}
		seq := strconv.FormatInt(int64(opened["seq"].(float64)), 10)

		// Another patient cannot report it; the patient can.
		p2.Must(http.StatusForbidden, "POST", "/api/v1/me/access-log/"+seq+"/report", nil)
		p.Must(http.StatusCreated, "POST", "/api/v1/me/access-log/"+seq+"/report", nil)

		reviews := po.List(200, "GET", "/api/v1/audit/reviews", nil)
		if len(reviews) != 1 || reviews[0].(map[string]any)["entry"].(map[string]any)["actorId"] != drID {
			t.Fatalf("privacy officer's queue: %v", reviews)
		}
		po.List(200, "GET", "/api/v1/patients/"+pid+"/access-log", nil)
		if l := po.List(200, "POST", "/api/v1/audit/search", map[string]string{"actorId": drID, "action": "record.read"}); len(l) == 0 {
			t.Fatal("audit search found nothing")
		}
		po.Must(200, "POST", "/api/v1/audit/reviews/"+reviews[0].(map[string]any)["id"].(string)+"/resolve", nil)
		if l := po.List(200, "GET", "/api/v1/audit/reviews", nil); len(l) != 0 {
			t.Fatalf("resolved review still open: %v", l)
		}

		// Minimum necessary: no clinical content for the privacy officer, no access logs or
		// review queue for clinicians and administrators.
		po.Must(http.StatusForbidden, "GET", "/api/v1/patients/"+pid, nil)
		dr.Must(http.StatusForbidden, "GET", "/api/v1/patients/"+pid+"/access-log", nil)
		admin.Must(http.StatusForbidden, "GET", "/api/v1/patients/"+pid+"/access-log", nil)
		dr.Must(http.StatusForbidden, "GET", "/api/v1/audit/reviews", nil)
		admin.Must(http.StatusForbidden, "POST", "/api/v1/audit/search", map[string]string{})
	})
}

func countAction(e *servertest.Env, action string) int {
	n := 0
	for _, r := range e.AuditRows() {
		if r[0] == action {
			n++
		}
	}
	return n
}

func TestAuditEventExportIsFHIR(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, drID := e.Clinician(admin, "dr@haven.test")
	_, pid := e.Patient(dr, ada)
	dr.Must(200, "GET", "/api/v1/patients/"+pid, nil)
	po, _ := e.Staff(admin, "privacy@haven.test", "auditor")
	code, _, raw := po.Do("POST", "/api/v1/audit/export/fhir", map[string]string{"patientId": pid, "action": "record.read"})
	if code != 200 {
		t.Fatalf("export = %d %s", code, raw)
	}
	lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	if len(lines) == 0 {
		t.Fatal("no events")
	}
	var ev map[string]any
	if err := json.Unmarshal(lines[0], &ev); err != nil {
		t.Fatal(err)
	}
	agent := ev["agent"].([]any)[0].(map[string]any)["who"].(map[string]any)["identifier"].(map[string]any)["value"]
	if ev["resourceType"] != "AuditEvent" || ev["action"] != "R" || ev["outcome"] != "0" || agent != drID {
		t.Fatalf("not a FHIR AuditEvent of the clinician's read: %s", lines[0])
	}
	if !bytes.Contains(lines[0], []byte(`"code":"TREAT"`)) {
		t.Fatalf("purpose of use missing: %s", lines[0])
	}
	if !bytes.Contains(lines[0], []byte(`"reference":"Patient/`+pid+`"`)) {
		t.Fatalf("the patient is not an entity: %s", lines[0])
	}
	dr.Must(http.StatusForbidden, "POST", "/api/v1/audit/export/fhir", map[string]string{})
}
