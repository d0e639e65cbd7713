package fhir_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// TestPrivacyOfficerSearchesAuditEvents: the privacy officer searches the trail as
// AuditEvents by patient, date (with prefixes), agent, Haven action, action code and outcome,
// and reads one by its index; each names the patient by reference and the clinician as the
// Practitioner, and a refusal is a minor failure. A clinician is refused the trail.
func TestPrivacyOfficerSearchesAuditEvents(t *testing.T) {
	forEachDocStore(t, func(t *testing.T, e *servertest.Env) {
		c := newDocClinic(t, e)
		docSearch(t, e, c.dr, "/fhir/R4/MedicationRequest?patient="+c.adaID)
		docJSON(t, e, c.bo, "/fhir/R4/MedicationRequest?patient="+c.adaID, http.StatusForbidden)
		e.Clock.Advance(time.Minute)

		all := docSearch(t, e, c.privacy, "/fhir/R4/AuditEvent?patient=Patient/"+c.adaID+"&_count=100")
		var read, refused map[string]any
		for _, ev := range all {
			if ev["entity"] == nil || !slices.ContainsFunc(ev["entity"].([]any), func(en any) bool {
				return en.(map[string]any)["what"].(map[string]any)["reference"] == "Patient/"+c.adaID
			}) {
				t.Fatalf("AuditEvent of the patient's search names no patient: %v", ev)
			}
			if ev["subtype"].([]any)[0].(map[string]any)["code"] == "prescription.read" {
				if ev["outcome"] == "0" {
					read = ev
				} else {
					refused = ev
				}
			}
		}
		if read == nil || refused == nil {
			t.Fatalf("the patient's AuditEvents = %v, want the clinician's read and the other patient's refusal", docIDs(all))
		}
		agent := read["agent"].([]any)[0].(map[string]any)
		typ := read["type"].(map[string]any)
		if read["action"] != "R" || agent["who"].(map[string]any)["reference"] != "Practitioner/"+c.drID || agent["requestor"] != true ||
			typ["code"] != "110110" || read["source"].(map[string]any)["observer"] == nil || refused["outcome"] != "4" {
			t.Fatalf("AuditEvents = %v and %v", read, refused)
		}
		if got := docJSON(t, e, c.privacy, "/fhir/R4/AuditEvent/"+read["id"].(string), http.StatusOK); got["id"] != read["id"] || got["recorded"] != read["recorded"] {
			t.Fatalf("AuditEvent read = %v, want %v", got, read)
		}
		today := e.Clock.Now().Format(time.DateOnly)
		p := "/fhir/R4/AuditEvent?_count=100&patient=" + c.adaID
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"&subtype=prescription.read", []string{refused["id"].(string), read["id"].(string)}},
			{"&subtype=prescription.read&outcome=4", []string{refused["id"].(string)}},
			{"&action=prescription.read&outcome=allow", []string{read["id"].(string)}},
			{"&subtype=prescription.read&agent=Practitioner/" + c.drID, []string{read["id"].(string)}},
			{"&subtype=prescription.read&date=" + today + "&date=ge" + today, []string{refused["id"].(string), read["id"].(string)}},
			{"&subtype=prescription.read&date=lt" + today, nil},
			{"&action=C&subtype=prescription.read", nil},
		} {
			if got := docIDs(docSearch(t, e, c.privacy, p+tc.query)); !slices.Equal(got, tc.want) {
				t.Errorf("AuditEvent?%s = %v, want %v", tc.query, got, tc.want)
			}
		}
		if n := len(docSearch(t, e, c.privacy, "/fhir/R4/AuditEvent?date=ge"+today+"&_count=100")); n <= len(all) {
			t.Errorf("AuditEvents of the day = %d, want more than the patient's %d", n, len(all))
		}
		docJSON(t, e, c.privacy, "/fhir/R4/AuditEvent/0", http.StatusNotFound)
		docJSON(t, e, c.privacy, "/fhir/R4/AuditEvent?date=yesterday", http.StatusBadRequest)
		docJSON(t, e, c.privacy, "/fhir/R4/AuditEvent/not-an-index", http.StatusNotFound)
		docJSON(t, e, c.dr, "/fhir/R4/AuditEvent?patient="+c.adaID, http.StatusForbidden)
		docJSON(t, e, c.dr, "/fhir/R4/AuditEvent/"+read["id"].(string), http.StatusForbidden)
		docJSON(t, e, c.dr, "/fhir/R4/AuditEvent/not-an-index", http.StatusForbidden)
	})
}
