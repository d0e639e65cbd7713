package fhir_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// TestClinicianReadsPrescriptionsAndDocuments: a clinician reads a patient's prescriptions as
// MedicationRequests (the signed one active, the draft a draft, RxNorm-coded, with directions,
// quantity and refills), searches them by status, code and date, reads the patient's
// documents as DocumentReferences whose attachment URL is the Binary, and downloads the
// Binary: the bytes as uploaded, as an attachment, or as base64 in FHIR JSON. The patient
// sees the signed prescription and not the draft; another patient is refused.
func TestClinicianReadsPrescriptionsAndDocuments(t *testing.T) {
	forEachDocStore(t, func(t *testing.T, e *servertest.Env) {
		c := newDocClinic(t, e)
		signed := c.dr.Must(201, "POST", "/api/v1/prescriptions", map[string]any{"patientId": c.adaID, "medication": "Amoxicillin",
			"code": "308182", "strength": "500 mg", "form": "capsule", "dose": "1 capsule", "route": "oral", "frequency": "three times a day",
			"quantity": "21 capsules", "refills": 1})["id"].(string)
		e.Clock.Advance(31 * time.Second)
		c.dr.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": c.dr.Code()})
		c.dr.Must(200, "POST", "/api/v1/prescriptions/"+signed+"/signature", map[string]string{"method": "key"})
		e.Clock.Advance(10 * time.Minute)
		draft := c.dr.Must(201, "POST", "/api/v1/prescriptions", map[string]any{"patientId": c.adaID, "medication": "Ibuprofen",
			"quantity": "as needed"})["id"].(string)

		mr := docJSON(t, e, c.dr, "/fhir/R4/MedicationRequest/"+signed, http.StatusOK)
		med := mr["medicationCodeableConcept"].(map[string]any)
		coding := med["coding"].([]any)[0].(map[string]any)
		disp := mr["dispenseRequest"].(map[string]any)
		if mr["status"] != "active" || mr["intent"] != "order" || coding["system"] != "http://www.nlm.nih.gov/research/umls/rxnorm" || coding["code"] != "308182" ||
			mr["subject"].(map[string]any)["reference"] != "Patient/"+c.adaID ||
			mr["requester"].(map[string]any)["reference"] != "Practitioner/"+c.drID ||
			disp["numberOfRepeatsAllowed"] != float64(1) || disp["quantity"].(map[string]any)["value"] != float64(21) ||
			!strings.Contains(mr["dosageInstruction"].([]any)[0].(map[string]any)["text"].(string), "three times a day") {
			t.Fatalf("signed MedicationRequest = %v", mr)
		}
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"patient=Patient/" + c.adaID, []string{draft, signed}},
			{"subject=" + c.adaID + "&status=active", []string{signed}},
			{"patient=" + c.adaID + "&status=draft", []string{draft}},
			{"patient=" + c.adaID + "&code=http://www.nlm.nih.gov/research/umls/rxnorm|308182", []string{signed}},
			{"patient=" + c.adaID + "&authoredon=ge" + e.Clock.Now().Add(-time.Minute).Format(time.RFC3339), []string{draft}},
			{"patient=" + c.adaID + "&status=completed", nil},
		} {
			if got := docIDs(docSearch(t, e, c.dr, "/fhir/R4/MedicationRequest?"+tc.query)); !slices.Equal(got, tc.want) {
				t.Errorf("MedicationRequest?%s = %v, want %v", tc.query, got, tc.want)
			}
		}
		if got := docIDs(docSearch(t, e, c.ada, "/fhir/R4/MedicationRequest")); !slices.Equal(got, []string{signed}) {
			t.Errorf("the patient's own MedicationRequests = %v, want the signed one only", got)
		}
		docJSON(t, e, c.bo, "/fhir/R4/MedicationRequest/"+signed, http.StatusForbidden)
		docJSON(t, e, c.dr, "/fhir/R4/MedicationRequest", http.StatusBadRequest) // no patient named

		docID, pdf := docUploadPDF(t, e, c.dr, c.adaID)
		dr := docJSON(t, e, c.dr, "/fhir/R4/DocumentReference/"+docID, http.StatusOK)
		att := dr["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)
		if dr["status"] != "current" || dr["subject"].(map[string]any)["reference"] != "Patient/"+c.adaID || att["contentType"] != "application/pdf" ||
			att["url"] != e.BaseURL+"/fhir/R4/Binary/"+docID || att["size"] != float64(len(pdf)) || att["title"] != "Lab letter.pdf" || att["creation"] == nil {
			t.Fatalf("DocumentReference = %v", dr)
		}
		today := e.Clock.Now().Format(time.DateOnly)
		if got := docIDs(docSearch(t, e, c.dr, "/fhir/R4/DocumentReference?patient="+c.adaID+"&date="+today)); !slices.Equal(got, []string{docID}) {
			t.Errorf("DocumentReference by date = %v", got)
		}
		if got := docSearch(t, e, c.dr, "/fhir/R4/DocumentReference?patient="+c.adaID+"&date=lt2026-01-01"); len(got) != 0 {
			t.Errorf("DocumentReference before the upload = %v", got)
		}

		code, h, raw := docGet(t, e, c.dr, "/fhir/R4/Binary/"+docID, "")
		if code != http.StatusOK || !bytes.Equal(raw, pdf) || h.Get("Content-Type") != "application/pdf" ||
			!strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("Binary download = %d %v (%d bytes, want %d)", code, h, len(raw), len(pdf))
		}
		bin := docJSON(t, e, c.dr, "/fhir/R4/Binary/"+docID, http.StatusOK)
		data, err := base64.StdEncoding.DecodeString(bin["data"].(string))
		if bin["resourceType"] != "Binary" || bin["contentType"] != "application/pdf" || err != nil || !bytes.Equal(data, pdf) {
			t.Fatalf("Binary as FHIR JSON = %.300v", bin)
		}
		if code, _, _ := docGet(t, e, c.bo, "/fhir/R4/Binary/"+docID, ""); code != http.StatusForbidden {
			t.Fatalf("another patient downloads the Binary: %d, want 403", code)
		}
		docJSON(t, e, c.dr, "/fhir/R4/Binary/nosuchdocument", http.StatusNotFound)
		if got := docIDs(docSearch(t, e, c.ada, "/fhir/R4/DocumentReference")); !slices.Equal(got, []string{docID}) {
			t.Errorf("the patient's own DocumentReferences = %v", got)
		}
	})
}

// TestPatientReadsOwnConsent: a patient who accepted the telehealth consent reads it as an
// active Consent to treatment naming the version and carrying its words; another patient's
// search is refused; a patient who accepted none has none.
func TestPatientReadsOwnConsent(t *testing.T) {
	forEachDocStore(t, func(t *testing.T, e *servertest.Env) {
		c := newDocClinic(t, e)
		if got := docSearch(t, e, c.ada, "/fhir/R4/Consent"); len(got) != 0 {
			t.Fatalf("Consent before accepting = %v", got)
		}
		version := e.Client().Must(200, "GET", "/api/v1/consent/telehealth", nil)["version"].(string)
		c.ada.Must(200, "POST", "/api/v1/me/consent/telehealth", map[string]any{"version": version})
		got := docSearch(t, e, c.ada, "/fhir/R4/Consent?patient=Patient/"+c.adaID+"&status=active")
		if len(got) != 1 {
			t.Fatalf("own Consent = %v", got)
		}
		cr := got[0]
		id := c.adaID + "." + version
		src := cr["sourceAttachment"].(map[string]any)
		text, _ := base64.StdEncoding.DecodeString(src["data"].(string))
		scope := cr["scope"].(map[string]any)["coding"].([]any)[0].(map[string]any)
		if cr["id"] != id || cr["status"] != "active" || scope["code"] != "treatment" || cr["patient"].(map[string]any)["reference"] != "Patient/"+c.adaID ||
			cr["dateTime"] != e.Clock.Now().UTC().Format(time.RFC3339) || !strings.Contains(src["title"].(string), version) || len(text) == 0 || cr["policyRule"] == nil {
			t.Fatalf("Consent = %v", cr)
		}
		if read := docJSON(t, e, c.ada, "/fhir/R4/Consent/"+id, http.StatusOK); read["id"] != id {
			t.Fatalf("Consent read = %v", read)
		}
		docJSON(t, e, c.ada, "/fhir/R4/Consent/"+c.adaID+".1999-01", http.StatusNotFound)
		docJSON(t, e, c.bo, "/fhir/R4/Consent?patient="+c.adaID, http.StatusForbidden)
		if got := docIDs(docSearch(t, e, c.dr, "/fhir/R4/Consent?patient="+c.adaID)); !slices.Equal(got, []string{id}) {
			t.Errorf("the clinician's Consent search = %v", got)
		}
	})
}
