package server_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// chargeBody is a valid charge for visit.
func chargeBody(visit string) map[string]any {
	return map[string]any{"visitId": visit, "procedureCodes": []string{"99213"}, "diagnosisCodes": []string{"J06.9"}, "amount": 12500}
}

// billingClinic is a clinician with two patients, an ended visit each, and a billing clerk.
type billingClinic struct {
	dr, ada, bo, clerk *servertest.Client
	drID, adaID, boID  string
}

func newBillingClinic(t *testing.T, e *servertest.Env) billingClinic {
	t.Helper()
	admin := e.Admin()
	var c billingClinic
	c.dr, c.drID = e.Clinician(admin, "dr-billing@haven.test")
	c.ada, c.adaID = e.Patient(c.dr, ada)
	c.bo, c.boID = e.Patient(c.dr, servertest.PatientIn{Name: "Bo Reed", BirthDate: "1990-05-06", Phone: "+1 555 0100 456", Email: "bo.reed@example.test"})
	c.clerk, _ = e.Staff(admin, "clerk@haven.test", "billing")
	return c
}

// TestBillingSeesNoClinicalContent: minimum necessary. A billing account is refused the record
// (its notes, the summary and every kind of structured item), documents and their downloads,
// prescriptions, note writes and patient search, and each refusal is recorded and shows nothing
// of what it guards; it reads the charges and the demographics a claim needs.
func TestBillingSeesNoClinicalContent(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newBillingClinic(t, e)
		c.dr.Must(201, "POST", "/api/v1/patients/"+c.adaID+"/notes", map[string]string{"body": "synthetic note billing must not read"})
		v := endedVisit(t, e, c.drID, c.adaID, e.Clock.Now().Add(-2*time.Hour))
		c.dr.Must(201, "POST", "/api/v1/charges", chargeBody(v))
		// Clinical content of every kind, each with the canary billing must never see.
		c.dr.Must(201, "POST", "/api/v1/patients/"+c.adaID+"/allergies", map[string]string{"text": "synthetic note allergy"})
		c.dr.Must(201, "POST", "/api/v1/patients/"+c.adaID+"/observations", map[string]any{"code": map[string]string{"code": "8867-4"}, "value": 64, "note": "synthetic note reading"})
		c.dr.Must(201, "POST", "/api/v1/patients/"+c.adaID+"/conditions", map[string]string{"text": "synthetic note problem"})
		doc := c.dr.Must(201, "POST", "/api/v1/prescriptions", map[string]any{"patientId": c.adaID, "medication": "synthetic note drug", "quantity": "1"})
		_, upload, _ := uploadDoc(t, e, c.dr, c.adaID, "synthetic note.pdf", "application/pdf", []byte("%PDF-1.4 synthetic note"))
		pid := "/api/v1/patients/" + c.adaID
		for _, r := range []struct {
			method, path string
			body         any
		}{
			{"GET", pid, nil},
			{"GET", pid + "/summary", nil},
			{"GET", pid + "/allergies", nil},
			{"GET", pid + "/conditions", nil},
			{"GET", pid + "/medications", nil},
			{"GET", pid + "/observations", nil},
			{"GET", pid + "/immunizations", nil},
			{"GET", pid + "/documents", nil},
			{"GET", pid + "/documents/" + upload["id"].(string), nil},
			{"GET", "/api/v1/prescriptions?patientId=" + c.adaID, nil},
			{"GET", "/api/v1/prescriptions/" + doc["id"].(string), nil},
			{"POST", pid + "/notes", map[string]string{"body": "billing writes a note"}},
			{"POST", "/api/v1/patients/search", map[string]string{"q": "Ada"}},
			{"GET", "/api/v1/me/record", nil},
		} {
			if code, _, raw := c.clerk.Do(r.method, r.path, r.body); code != http.StatusForbidden || bytes.Contains(raw, []byte("synthetic note")) {
				t.Errorf("billing %s %s = %d %.200s, want 403", r.method, r.path, code, raw)
			}
		}
		list := c.clerk.List(200, "GET", "/api/v1/charges", nil)
		if len(list) != 1 || list[0].(map[string]any)["patientName"] != ada.Name {
			t.Fatalf("billing's charges = %v", list)
		}
		demo := c.clerk.Must(200, "GET", "/api/v1/patients/"+c.adaID+"/demographics", nil)
		if demo["name"] != ada.Name || demo["birthDate"] != ada.BirthDate {
			t.Fatalf("billing's demographics = %v", demo)
		}
		if _, ok := demo["notes"]; ok {
			t.Fatalf("demographics carry notes: %v", demo)
		}
	})
}

// TestPatientSeesOwnCharges: a patient lists and opens their own billed charges, never a draft
// and never another patient's, whatever they name.
func TestPatientSeesOwnCharges(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newBillingClinic(t, e)
		mine := c.dr.Must(201, "POST", "/api/v1/charges", chargeBody(endedVisit(t, e, c.drID, c.adaID, e.Clock.Now().Add(-2*time.Hour))))["id"].(string)
		theirs := c.dr.Must(201, "POST", "/api/v1/charges", chargeBody(endedVisit(t, e, c.drID, c.boID, e.Clock.Now().Add(-3*time.Hour))))["id"].(string)
		if l := c.ada.List(200, "GET", "/api/v1/charges", nil); len(l) != 0 {
			t.Fatalf("a draft shown to its patient: %v", l)
		}
		for _, id := range []string{mine, theirs} {
			c.clerk.Must(200, "PATCH", "/api/v1/charges/"+id, map[string]string{"status": "submitted"})
		}
		l := c.ada.List(200, "GET", "/api/v1/charges?patientId="+c.boID, nil)
		if len(l) != 1 || l[0].(map[string]any)["id"] != mine {
			t.Fatalf("Ada's charges = %v, want hers only", l)
		}
		c.ada.Must(200, "GET", "/api/v1/charges/"+mine, nil)
		if code, _, _ := c.ada.Do("GET", "/api/v1/charges/"+theirs, nil); code != http.StatusForbidden {
			t.Fatalf("Ada opens Bo's charge: %d, want 403", code)
		}
		if l := c.bo.List(200, "GET", "/api/v1/charges", nil); len(l) != 1 || l[0].(map[string]any)["id"] != theirs {
			t.Fatalf("Bo's charges = %v", l)
		}
	})
}

// TestOneChargePerVisit: a second live charge for a visit is a conflict in words; a visit that
// has not ended has nothing to charge.
func TestOneChargePerVisit(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newBillingClinic(t, e)
		v := endedVisit(t, e, c.drID, c.adaID, e.Clock.Now().Add(-2*time.Hour))
		first := c.dr.Must(201, "POST", "/api/v1/charges", chargeBody(v))
		if code, m, _ := c.clerk.Do("POST", "/api/v1/charges", chargeBody(v)); code != http.StatusConflict || !strings.Contains(m["error"].(string), "already has a charge") {
			t.Fatalf("second charge = %d %v, want 409", code, m)
		}
		c.clerk.Must(200, "PATCH", "/api/v1/charges/"+first["id"].(string), map[string]string{"status": "void"})
		c.clerk.Must(201, "POST", "/api/v1/charges", chargeBody(v))
		booked := bookVisit(t, e, c.drID, c.adaID, e.Clock.Now().Add(2*time.Hour))
		if code, _, raw := c.dr.Do("POST", "/api/v1/charges", chargeBody(booked)); code != http.StatusConflict {
			t.Fatalf("charge for a booked visit = %d %s, want 409", code, raw)
		}
	})
}

// TestChargeStatusTransitions: an illegal move answers 409 saying what to do; a bad code or
// status is a 422 naming the field.
func TestChargeStatusTransitions(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newBillingClinic(t, e)
		id := c.dr.Must(201, "POST", "/api/v1/charges", chargeBody(endedVisit(t, e, c.drID, c.adaID, e.Clock.Now().Add(-2*time.Hour))))["id"].(string)
		code, m, _ := c.clerk.Do("PATCH", "/api/v1/charges/"+id, map[string]string{"status": "paid"})
		if code != http.StatusConflict || !strings.Contains(m["error"].(string), "submit it first") {
			t.Fatalf("draft → paid = %d %v, want 409 in words", code, m)
		}
		c.dr.Must(200, "PATCH", "/api/v1/charges/"+id, map[string]any{"diagnosisCodes": []string{"J06.9", "R05.9"}})
		c.clerk.Must(200, "PATCH", "/api/v1/charges/"+id, map[string]string{"status": "submitted"})
		if code, _, _ := c.dr.Do("PATCH", "/api/v1/charges/"+id, map[string]any{"amount": 1}); code != http.StatusConflict {
			t.Fatalf("amount on a submitted charge = %d, want 409", code)
		}
		if got := c.clerk.Must(200, "PATCH", "/api/v1/charges/"+id, map[string]string{"status": "paid"}); got["status"] != "paid" {
			t.Fatalf("submitted → paid = %v", got)
		}
		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"visitId": "x", "procedureCodes": []string{"99213"}, "diagnosisCodes": []string{"J06.9"}, "amount": 100}, ""},
			{map[string]any{"visitId": endedVisit(t, e, c.drID, c.adaID, e.Clock.Now().Add(-4*time.Hour)), "procedureCodes": []string{"992"}, "diagnosisCodes": []string{"J06.9"}, "amount": 100}, "procedureCodes"},
			{map[string]any{"visitId": endedVisit(t, e, c.drID, c.adaID, e.Clock.Now().Add(-5*time.Hour)), "procedureCodes": []string{"99213"}, "diagnosisCodes": []string{"flu"}, "amount": 100}, "diagnosisCodes"},
		} {
			code, m, raw := c.clerk.Do("POST", "/api/v1/charges", tc.body)
			if tc.field == "" {
				if code != http.StatusNotFound {
					t.Errorf("no such visit = %d %s, want 404", code, raw)
				}
				continue
			}
			if code != http.StatusUnprocessableEntity || !strings.HasPrefix(m["error"].(string), tc.field+":") {
				t.Errorf("bad %s = %d %s, want 422 naming it", tc.field, code, raw)
			}
		}
	})
}

// TestChargeExportNeedsStepUp: an export leaves Haven, so it needs a second factor from the
// last five minutes; a clinician may not export at all.
func TestChargeExportNeedsStepUp(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newBillingClinic(t, e)
		e.Clock.Advance(6 * time.Minute)
		code, m, _ := c.clerk.Do("GET", "/api/v1/charges/export?format=csv", nil)
		if code != http.StatusForbidden || !strings.Contains(m["error"].(string), "(step-up)") {
			t.Fatalf("stale export = %d %v, want 403 step-up", code, m)
		}
		c.clerk.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": c.clerk.Code()})
		if code, _, raw := c.clerk.DoRaw("GET", "/api/v1/charges/export?format=csv", nil); code != http.StatusOK {
			t.Fatalf("export after step-up = %d %s", code, raw)
		}
		c.dr.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": c.dr.Code()})
		if code, _, _ := c.dr.Do("GET", "/api/v1/charges/export?format=csv", nil); code != http.StatusForbidden {
			t.Fatalf("clinician export = %d, want 403", code)
		}
	})
}

// TestChargeExportCSV: an attachment with one row per live charge and the claim's
// demographics; a patient name typed as a spreadsheet formula comes out as text.
func TestChargeExportCSV(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newBillingClinic(t, e)
		evil := servertest.PatientIn{Name: "=HYPERLINK(\"http://evil.example\";\"Ada\")", BirthDate: "1970-01-02", Phone: "+1 555 0100 999", Email: "formula@example.test"}
		_, evilID := e.Patient(c.dr, evil)
		id := c.dr.Must(201, "POST", "/api/v1/charges", chargeBody(endedVisit(t, e, c.drID, evilID, e.Clock.Now().Add(-2*time.Hour))))["id"].(string)
		code, h, raw := c.clerk.DoRaw("GET", "/api/v1/charges/export?format=csv", nil)
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("export = %d %v", code, h)
		}
		recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		if err != nil || len(recs) != 2 {
			t.Fatalf("csv %q: %v", raw, err)
		}
		row := recs[1]
		if row[0] != id || row[2] != evilID || row[3] != "'"+evil.Name || row[4] != evil.BirthDate || row[5] != "99213" || row[6] != "J06.9" || row[7] != "125.00" || row[8] != "USD" || row[9] != "draft" {
			t.Fatalf("row = %q", row)
		}
	})
}

// TestChargeExportFHIRClaim: the FHIR export is a Bundle of R4 Claims carrying every element
// R4 requires, with the code systems named.
func TestChargeExportFHIRClaim(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		c := newBillingClinic(t, e)
		id := c.dr.Must(201, "POST", "/api/v1/charges", chargeBody(endedVisit(t, e, c.drID, c.adaID, e.Clock.Now().Add(-2*time.Hour))))["id"].(string)
		code, h, raw := c.clerk.DoRaw("GET", "/api/v1/charges/export?format=fhir", nil)
		if code != 200 || h.Get("Content-Type") != "application/fhir+json" {
			t.Fatalf("export = %d %v %s", code, h, raw)
		}
		var b struct {
			ResourceType, Type string
			Entry              []struct{ Resource map[string]any }
		}
		if err := json.Unmarshal(raw, &b); err != nil || b.ResourceType != "Bundle" || b.Type != "collection" || len(b.Entry) != 1 {
			t.Fatalf("bundle %s: %v", raw, err)
		}
		cl := b.Entry[0].Resource
		for _, f := range []string{"status", "type", "use", "patient", "created", "provider", "priority", "insurance", "diagnosis", "item", "total"} {
			if cl[f] == nil {
				t.Errorf("claim lacks %s", f)
			}
		}
		if cl["id"] != id || cl["patient"].(map[string]any)["reference"] != "Patient/"+c.adaID || cl["provider"].(map[string]any)["reference"] != "Practitioner/"+c.drID {
			t.Errorf("claim = %v", cl)
		}
		for _, want := range []string{"http://hl7.org/fhir/sid/icd-10-cm", "http://www.ama-assn.org/go/cpt", `"J06.9"`, `"99213"`} {
			if !bytes.Contains(raw, []byte(want)) {
				t.Errorf("claim lacks %s", want)
			}
		}
	})
}
