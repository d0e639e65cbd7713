package fhir_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// TestPatientReadsOwnClaims: a patient reads their own billed charges as Claims (the export's
// mapping: professional, ICD-10-CM diagnosis, CPT item, the total), never a draft; searching
// another patient's is refused. The billing role searches by status and date; a nurse, who has
// no right to charges, is refused with an OperationOutcome.
func TestPatientReadsOwnClaims(t *testing.T) {
	forEachDocStore(t, func(t *testing.T, e *servertest.Env) {
		c := newDocClinic(t, e)
		visits := 0
		charge := func(patientID string) string {
			visits++
			v := docEndedVisit(t, e, c.drID, patientID, e.Clock.Now().Add(-time.Duration(visits)*time.Hour))
			return c.dr.Must(201, "POST", "/api/v1/charges", map[string]any{"visitId": v, "procedureCodes": []string{"99213"},
				"diagnosisCodes": []string{"J06.9"}, "amount": 12500})["id"].(string)
		}
		billed, bos := charge(c.adaID), charge(c.boID)
		c.clerk.Must(200, "PATCH", "/api/v1/charges/"+billed, map[string]string{"status": "submitted"})
		c.clerk.Must(200, "PATCH", "/api/v1/charges/"+bos, map[string]string{"status": "submitted"})
		e.Clock.Advance(time.Minute)
		void, draft := charge(c.adaID), charge(c.adaID)
		c.clerk.Must(200, "PATCH", "/api/v1/charges/"+void, map[string]string{"status": "void"})

		got := docSearch(t, e, c.ada, "/fhir/R4/Claim")
		if !slices.Equal(docIDs(got), []string{billed}) {
			t.Fatalf("the patient's Claims = %v, want %s only", docIDs(got), billed)
		}
		cl := got[0]
		item := cl["item"].([]any)[0].(map[string]any)
		diag := cl["diagnosis"].([]any)[0].(map[string]any)["diagnosisCodeableConcept"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		if cl["status"] != "active" || cl["use"] != "claim" || cl["patient"].(map[string]any)["reference"] != "Patient/"+c.adaID ||
			cl["provider"].(map[string]any)["reference"] != "Practitioner/"+c.drID || diag["code"] != "J06.9" ||
			item["productOrService"].(map[string]any)["coding"].([]any)[0].(map[string]any)["code"] != "99213" ||
			cl["total"].(map[string]any)["value"] != 125.0 || cl["meta"] == nil {
			t.Fatalf("Claim = %v", cl)
		}
		if read := docJSON(t, e, c.ada, "/fhir/R4/Claim/"+billed, http.StatusOK); read["id"] != billed {
			t.Fatalf("Claim read = %v", read)
		}
		docJSON(t, e, c.ada, "/fhir/R4/Claim/"+draft, http.StatusNotFound)
		docJSON(t, e, c.ada, "/fhir/R4/Claim/"+bos, http.StatusForbidden)
		docJSON(t, e, c.ada, "/fhir/R4/Claim?patient=Patient/"+c.boID, http.StatusForbidden)
		if last := e.LastAudit(); last[0] != "charge.read" || last[1] != "deny" || last[3] != c.boID {
			t.Fatalf("the refused search is recorded as %v, want a refused charge.read of the other patient", last)
		}

		for _, tc := range []struct {
			query string
			want  int
		}{
			{"", 4},
			{"?patient=" + c.adaID, 3},
			{"?patient=" + c.adaID + "&status=draft", 1},
			{"?status=cancelled&_id=" + void, 1},
			{"?status=active", 2},
			{"?created=ge" + e.Clock.Now().Add(-30*time.Second).Format(time.RFC3339), 2},
			{"?created=lt2026-01-01", 0},
		} {
			if got := docSearch(t, e, c.clerk, "/fhir/R4/Claim"+tc.query); len(got) != tc.want {
				t.Errorf("billing's Claim%s = %v, want %d", tc.query, docIDs(got), tc.want)
			}
		}
		docJSON(t, e, c.nurse, "/fhir/R4/Claim?patient="+c.adaID, http.StatusForbidden)
		docJSON(t, e, c.nurse, "/fhir/R4/Claim/"+billed, http.StatusForbidden)
	})
}
