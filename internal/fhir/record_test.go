package fhir_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"haven/internal/server/servertest"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// recClient speaks FHIR JSON as one signed-in person.
type recClient struct {
	t *testing.T
	e *servertest.Env
	c *servertest.Client
}

// do sends a FHIR request (body marshalled as JSON unless nil) with extra headers as
// name, value pairs, and decodes the answer.
func (x recClient) do(method, path string, body any, header ...string) (int, http.Header, map[string]any) {
	x.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			x.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	if !strings.HasPrefix(path, "http") {
		path = x.e.TS.URL + path
	} else {
		// A next link names the server's base URL (localhost); send it to the test server.
		u, _ := url.Parse(path)
		path = x.e.TS.URL + u.RequestURI()
	}
	req, err := http.NewRequest(method, path, rd)
	if err != nil {
		x.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := x.c.HTTP.Do(req)
	if err != nil {
		x.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		x.t.Fatalf("%s %s = %d, not JSON: %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, resp.Header, m
}

// must is do that fails the test unless the status is want.
func (x recClient) must(want int, method, path string, body any, header ...string) map[string]any {
	x.t.Helper()
	code, _, m := x.do(method, path, body, header...)
	if code != want {
		x.t.Fatalf("%s %s = %d %v, want %d", method, path, code, m, want)
	}
	return m
}

// entries are a searchset's resources.
func recEntries(t *testing.T, b map[string]any) []map[string]any {
	t.Helper()
	if b["resourceType"] != "Bundle" || b["type"] != "searchset" {
		t.Fatalf("not a searchset: %v", b)
	}
	var out []map[string]any
	for _, e := range asList(b["entry"]) {
		out = append(out, e.(map[string]any)["resource"].(map[string]any))
	}
	return out
}

func asList(v any) []any { l, _ := v.([]any); return l }

func recNext(b map[string]any) string {
	for _, l := range asList(b["link"]) {
		if m := l.(map[string]any); m["relation"] == "next" {
			return m["url"].(string)
		}
	}
	return ""
}

// recOutcome fails unless m is an OperationOutcome.
func recOutcome(t *testing.T, what string, m map[string]any) {
	t.Helper()
	if m["resourceType"] != "OperationOutcome" || len(asList(m["issue"])) == 0 {
		t.Errorf("%s: answer is not an OperationOutcome: %v", what, m)
	}
}

// recWorld is a clinic: a clinician caring for two patients, Ada and Bob, and Ada's record.
type recWorld struct {
	e          *servertest.Env
	dr, ada    recClient
	adaID      string
	bobID      string
	drID       string
	drJSON     *servertest.Client
	adaSession *servertest.Client
}

func recSetup(t *testing.T, d store.Dialect) recWorld {
	e := servertest.New(t, storetest.DSN(t, d))
	admin := e.Admin()
	dr, drID := e.Clinician(admin, "dr.fhir@haven.test")
	ada, adaID := e.Patient(dr, servertest.PatientIn{Name: "Ada Quill Lovelace", BirthDate: "1980-02-29", Phone: "+34 612 345 678", Email: "ada@haven.test"})
	_, bobID := e.Patient(dr, servertest.PatientIn{Name: "Bob Stone", BirthDate: "1975-06-01", Phone: "+34 612 345 679", Email: "bob@haven.test"})
	items := "/api/v1/patients/" + adaID + "/"
	dr.Must(201, "POST", items+"observations", map[string]any{"code": map[string]string{"code": "8867-4"}, "value": 64})
	dr.Must(201, "POST", items+"observations", map[string]any{"code": map[string]string{"code": "85354-9"}, "systolic": 120, "diastolic": 80})
	dr.Must(201, "POST", items+"conditions", map[string]any{"text": "Asthma", "code": map[string]string{"system": "http://snomed.info/sct", "code": "195967001", "display": "Asthma"}})
	dr.Must(201, "POST", items+"allergies", map[string]any{"text": "Penicillin", "reaction": "hives", "severity": "moderate", "category": "medication"})
	dr.Must(201, "POST", items+"medications", map[string]any{"text": "Salbutamol inhaler", "dosage": "2 puffs as needed"})
	dr.Must(201, "POST", items+"immunizations", map[string]any{"text": "Influenza vaccine", "lot": "AB123"})
	ada.Must(201, "POST", items+"observations", map[string]any{"code": map[string]string{"code": "29463-7"}, "value": 61.5})
	return recWorld{e: e, dr: recClient{t, e, dr}, ada: recClient{t, e, ada}, adaID: adaID, bobID: bobID, drID: drID, drJSON: dr, adaSession: ada}
}

// TestPatientReadsOwnRecordAsFHIR: a patient's session reads their own Patient and every
// part of their structured record as FHIR, in the shapes R4 defines.
func TestPatientReadsOwnRecordAsFHIR(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			w := recSetup(t, d)
			p := w.ada.must(200, "GET", "/fhir/R4/Patient/"+w.adaID, nil)
			name := asList(p["name"])[0].(map[string]any)
			if p["id"] != w.adaID || p["birthDate"] != "1980-02-29" || name["family"] != "Lovelace" || name["text"] != "Ada Quill Lovelace" ||
				strings.Join(servertest.Strings(name["given"]), " ") != "Ada Quill" || len(asList(p["telecom"])) != 2 {
				t.Errorf("Patient = %v", p)
			}
			id := asList(p["identifier"])[0].(map[string]any)
			if id["value"] != w.adaID || !strings.HasSuffix(id["system"].(string), "/fhir/patient-id") {
				t.Errorf("Patient.identifier = %v", id)
			}
			obs := recEntries(t, w.ada.must(200, "GET", "/fhir/R4/Observation", nil))
			if len(obs) != 3 {
				t.Fatalf("own Observations = %d, want 3", len(obs))
			}
			var bp, weight map[string]any
			for _, o := range obs {
				switch asList(o["code"].(map[string]any)["coding"])[0].(map[string]any)["code"] {
				case "85354-9":
					bp = o
				case "29463-7":
					weight = o
				}
			}
			comps := asList(bp["component"])
			if bp["status"] != "final" || len(comps) != 2 || bp["valueQuantity"] != nil ||
				asList(comps[0].(map[string]any)["code"].(map[string]any)["coding"])[0].(map[string]any)["code"] != "8480-6" ||
				comps[1].(map[string]any)["valueQuantity"].(map[string]any)["code"] != "mm[Hg]" {
				t.Errorf("blood pressure = %v", bp)
			}
			cat := asList(asList(bp["category"])[0].(map[string]any)["coding"])[0].(map[string]any)
			if cat["code"] != "vital-signs" {
				t.Errorf("blood pressure category = %v", cat)
			}
			perf := asList(weight["performer"])
			if len(perf) != 1 || perf[0].(map[string]any)["reference"] != "Patient/"+w.adaID {
				t.Errorf("a patient's own reading names them as performer: %v", weight)
			}
			q := weight["valueQuantity"].(map[string]any)
			if q["value"] != 61.5 || q["system"] != "http://unitsofmeasure.org" || q["code"] != "kg" {
				t.Errorf("weight valueQuantity = %v", q)
			}
			if got := recEntries(t, w.ada.must(200, "GET", "/fhir/R4/Observation?code=http://loinc.org|8867-4", nil)); len(got) != 1 {
				t.Errorf("Observation?code=8867-4 = %d entries, want 1", len(got))
			}
			for typ, want := range map[string]int{"Condition": 1, "AllergyIntolerance": 1, "MedicationStatement": 1, "Immunization": 1} {
				got := recEntries(t, w.ada.must(200, "GET", "/fhir/R4/"+typ+"?patient=Patient/"+w.adaID, nil))
				if len(got) != want {
					t.Errorf("%s = %d entries, want %d", typ, len(got), want)
				}
			}
			all := recEntries(t, w.ada.must(200, "GET", "/fhir/R4/AllergyIntolerance", nil))[0]
			if all["clinicalStatus"] == nil || asList(all["reaction"])[0].(map[string]any)["severity"] != "moderate" {
				t.Errorf("AllergyIntolerance = %v", all)
			}
			// Read by id, as a bundle's fullUrl names it.
			one := w.ada.must(200, "GET", "/fhir/R4/Observation/"+obs[0]["id"].(string), nil)
			if one["id"] != obs[0]["id"] {
				t.Errorf("Observation read = %v", one)
			}
			// An id of another type is not found.
			code, _, m := w.ada.do("GET", "/fhir/R4/Condition/"+obs[0]["id"].(string), nil)
			if code != 404 {
				t.Errorf("Condition/<an observation's id> = %d, want 404", code)
			}
			recOutcome(t, "404", m)
			ev := recEntries(t, w.ada.must(200, "GET", "/fhir/R4/Patient/"+w.adaID+"/$everything?_count=100", nil))
			if len(ev) != 8 || ev[0]["resourceType"] != "Patient" {
				t.Errorf("$everything = %d resources, want 8 beginning with the Patient", len(ev))
			}
			// Searching Patient as a patient finds their own record only.
			if got := recEntries(t, w.ada.must(200, "GET", "/fhir/R4/Patient", nil)); len(got) != 1 || got[0]["id"] != w.adaID {
				t.Errorf("Patient search by a patient = %v", got)
			}
			if got := recEntries(t, w.ada.must(200, "GET", "/fhir/R4/Patient?name=bob", nil)); len(got) != 0 {
				t.Errorf("Patient?name=bob by Ada = %v, want nothing", got)
			}
			for q, want := range map[string]int{"date=ge2026-11-24": 3, "date=lt2026-11-24": 0, "date=2026-11": 3, "category=vital-signs&status=final": 3, "status=entered-in-error": 0} {
				if got := recEntries(t, w.ada.must(200, "GET", "/fhir/R4/Observation?"+q, nil)); len(got) != want {
					t.Errorf("Observation?%s = %d entries, want %d", q, len(got), want)
				}
			}
			// A patient records their own reading as FHIR: it is marked patient-reported. They
			// write no problem list, and nothing in another's record.
			made := w.ada.must(201, "POST", "/fhir/R4/Observation", map[string]any{"resourceType": "Observation", "status": "final",
				"code":    map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "2339-0"}}},
				"subject": map[string]any{"reference": "Patient/" + w.adaID}, "valueQuantity": map[string]any{"value": 95, "code": "mg/dL"}})
			if perf := asList(made["performer"]); len(perf) != 1 || perf[0].(map[string]any)["reference"] != "Patient/"+w.adaID {
				t.Errorf("a patient's FHIR reading = %v, want them as performer", made)
			}
			code, _, m = w.ada.do("POST", "/fhir/R4/Condition", map[string]any{"resourceType": "Condition",
				"subject": map[string]any{"reference": "Patient/" + w.adaID}, "code": map[string]any{"text": "Self-diagnosed"}})
			if code != http.StatusForbidden {
				t.Errorf("a patient writing a Condition = %d %v, want 403", code, m)
			}
			code, _, m = w.ada.do("POST", "/fhir/R4/Observation", map[string]any{"resourceType": "Observation", "status": "final",
				"code":    map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "29463-7"}}},
				"subject": map[string]any{"reference": "Patient/" + w.bobID}, "valueQuantity": map[string]any{"value": 80}})
			if code != http.StatusForbidden || w.e.LastAudit()[1] != "deny" {
				t.Errorf("a patient writing in another's record = %d %v, want 403 and a refusal audited", code, m)
			}
		})
	}
}

// TestPatientReadingAnotherIsRefusedAndAudited: the attack is a patient reading another
// patient's record through FHIR by guessing or learning their id. It is refused (403
// OperationOutcome) and the refusal is in the audit trail.
func TestPatientReadingAnotherIsRefusedAndAudited(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			w := recSetup(t, d)
			for _, path := range []string{"/fhir/R4/Patient/" + w.bobID, "/fhir/R4/Observation?patient=" + w.bobID, "/fhir/R4/Patient/" + w.bobID + "/$everything"} {
				code, _, m := w.ada.do("GET", path, nil)
				if code != http.StatusForbidden {
					t.Errorf("GET %s by another patient = %d %v, want 403", path, code, m)
				}
				recOutcome(t, path, m)
				if last := w.e.LastAudit(); last[1] != "deny" || last[3] != w.bobID {
					t.Errorf("GET %s: last audit entry = %v, want a refusal on Bob's record", path, last)
				}
			}
		})
	}
}

// TestClinicianSearchesReadsAndWrites: a clinician finds a patient in their care by name
// (through the blind index) and birth date, reads them, records an Observation and a
// Condition, updates each with If-Match, and a stale If-Match is 412.
func TestClinicianSearchesReadsAndWrites(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			w := recSetup(t, d)
			dr := w.dr
			for _, q := range []string{"name=lovel", "name=ada%20quill", "name=ADA&name=lovelace", "birthdate=1980-02-29", "birthdate=eq1980-02-29",
				"identifier=" + url.QueryEscape(w.e.BaseURL+"/fhir/patient-id|"+w.adaID), "_id=" + w.adaID, "name=ada&birthdate=1980-02-29"} {
				got := recEntries(t, dr.must(200, "GET", "/fhir/R4/Patient?"+q, nil))
				if len(got) != 1 || got[0]["id"] != w.adaID {
					t.Errorf("Patient?%s = %d entries, want Ada alone", q, len(got))
				}
			}
			if got := recEntries(t, dr.must(200, "GET", "/fhir/R4/Patient?name=ada&birthdate=1975-06-01", nil)); len(got) != 0 {
				t.Errorf("name and birthdate of two patients = %d entries, want 0", len(got))
			}
			for _, q := range []string{"", "?birthdate=ge1980-01-01", "?birthdate=1980", "?given=ada", "?name=1980-02-29", "?name=ada@haven.test", "?name=a%20b%20c%20d%20e%20f%20g%20h%20i", "?name=ada&_lastUpdated=ge2026"} {
				code, _, m := dr.do("GET", "/fhir/R4/Patient"+q, nil)
				if code != http.StatusBadRequest {
					t.Errorf("Patient%s = %d, want 400", q, code)
				}
				recOutcome(t, q, m)
			}
			dr.must(200, "GET", "/fhir/R4/Patient/"+w.adaID, nil)

			// Create an Observation: 201, Location, ETag W/"1".
			obs := map[string]any{"resourceType": "Observation", "status": "final",
				"category": []any{map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}}}},
				"code":     map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "8867-4"}}},
				"subject":  map[string]any{"reference": "Patient/" + w.adaID}, "effectiveDateTime": "2026-11-24T08:00:00Z",
				"valueQuantity": map[string]any{"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}}
			code, h, made := dr.do("POST", "/fhir/R4/Observation", obs)
			if code != http.StatusCreated || h.Get("ETag") != `W/"1"` || !strings.Contains(h.Get("Location"), "/fhir/R4/Observation/") {
				t.Fatalf("create Observation = %d %v (ETag %q, Location %q)", code, made, h.Get("ETag"), h.Get("Location"))
			}
			id := made["id"].(string)
			perf := asList(made["performer"])
			if made["meta"].(map[string]any)["versionId"] != "1" || made["effectiveDateTime"] != "2026-11-24T08:00:00Z" ||
				len(perf) != 1 || perf[0].(map[string]any)["reference"] != "Practitioner/"+w.drID {
				t.Errorf("created Observation = %v", made)
			}
			// Update with the right version: 200, version 2.
			obs["id"] = id
			obs["note"] = []any{map[string]any{"text": "after a walk"}}
			code, h, upd := dr.do("PUT", "/fhir/R4/Observation/"+id, obs, "If-Match", `W/"1"`)
			if code != 200 || upd["meta"].(map[string]any)["versionId"] != "2" || h.Get("ETag") != `W/"2"` {
				t.Fatalf("update with If-Match 1 = %d %v", code, upd)
			}
			// A stale version is 412 with an OperationOutcome.
			code, _, m := dr.do("PUT", "/fhir/R4/Observation/"+id, obs, "If-Match", `W/"1"`)
			if code != http.StatusPreconditionFailed {
				t.Errorf("update with a stale If-Match = %d %v, want 412", code, m)
			}
			recOutcome(t, "412", m)
			// A measurement is not rewritten: 422 naming the element.
			obs["valueQuantity"].(map[string]any)["value"] = 90
			code, _, m = dr.do("PUT", "/fhir/R4/Observation/"+id, obs, "If-Match", `W/"2"`)
			if code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(m), "Observation.valueQuantity") {
				t.Errorf("update of the value = %d %v, want 422 naming Observation.valueQuantity", code, m)
			}
			// Withdrawn: entered-in-error, version 3.
			obs["valueQuantity"].(map[string]any)["value"] = 72
			obs["status"] = "entered-in-error"
			upd = dr.must(200, "PUT", "/fhir/R4/Observation/"+id, obs, "If-Match", `W/"2"`)
			if upd["status"] != "entered-in-error" || upd["meta"].(map[string]any)["versionId"] != "3" {
				t.Errorf("withdrawn Observation = %v", upd)
			}
			if got := dr.must(200, "GET", "/fhir/R4/Observation/"+id, nil); got["meta"].(map[string]any)["versionId"] != "3" {
				t.Errorf("read after updates = %v", got)
			}

			// A Condition: created, then resolved.
			cond := map[string]any{"resourceType": "Condition", "subject": map[string]any{"reference": "Patient/" + w.adaID},
				"clinicalStatus": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}}},
				"code":           map[string]any{"text": "Migraine"}, "onsetDateTime": "2024-05"}
			made = dr.must(201, "POST", "/fhir/R4/Condition", cond)
			cond["id"] = made["id"]
			cond["clinicalStatus"] = map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved"}}}
			cond["onsetDateTime"] = "2023"
			dr.must(200, "PUT", "/fhir/R4/Condition/"+made["id"].(string), cond, "If-Match", `W/"1"`)
			res := recEntries(t, dr.must(200, "GET", "/fhir/R4/Condition?patient="+w.adaID+"&clinical-status=resolved", nil))
			if len(res) != 1 || res[0]["code"].(map[string]any)["text"] != "Migraine" || res[0]["onsetDateTime"] != "2023-01-01T00:00:00Z" {
				t.Errorf("resolved conditions = %v", res)
			}
			if got := recEntries(t, dr.must(200, "GET", "/fhir/R4/Condition?subject=Patient/"+w.adaID+"&onset-date=lt2025", nil)); len(got) != 1 {
				t.Errorf("Condition?onset-date=lt2025 = %d, want 1", len(got))
			}

			// An AllergyIntolerance.
			all := map[string]any{"resourceType": "AllergyIntolerance", "patient": map[string]any{"reference": "Patient/" + w.adaID},
				"code":     map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "227493005", "display": "Cashew nuts"}}},
				"category": []any{"food"}, "reaction": []any{map[string]any{"manifestation": []any{map[string]any{"text": "swelling"}}, "severity": "severe"}}}
			made = dr.must(201, "POST", "/fhir/R4/AllergyIntolerance", all)
			if made["code"].(map[string]any)["text"] != "Cashew nuts" || asList(made["reaction"])[0].(map[string]any)["severity"] != "severe" {
				t.Errorf("created AllergyIntolerance = %v", made)
			}

			// Bad bodies: each names what to fix.
			for _, bad := range []struct {
				body map[string]any
				want int
				elem string
			}{
				{map[string]any{"resourceType": "Condition"}, 422, "Condition.subject"},
				{map[string]any{"resourceType": "Observation", "status": "final", "subject": map[string]any{"reference": "Patient/" + w.adaID},
					"code": map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "1234-5"}}}}, 422, "Observation.code"},
				{map[string]any{"resourceType": "Observation", "status": "final", "subject": map[string]any{"reference": "Group/x"}}, 422, "Observation.subject"},
				{map[string]any{"resourceType": "Observation", "status": 3}, 400, "Observation.status"},
				{map[string]any{"resourceType": "Patient"}, 400, "resourceType"},
				{map[string]any{"resourceType": "Observation", "status": "final", "subject": map[string]any{"reference": "Patient/" + w.adaID},
					"code":          map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "8867-4"}}},
					"valueQuantity": map[string]any{"value": 72, "system": "http://unitsofmeasure.org", "code": "/s"}}, 422, "Observation.valueQuantity.code"},
				{map[string]any{"resourceType": "Observation", "status": "final", "subject": map[string]any{"reference": "Patient/" + w.adaID},
					"code":          map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "8867-4"}}},
					"valueQuantity": map[string]any{"value": 900}}, 422, "Observation.valueQuantity"},
				{map[string]any{"resourceType": "Condition", "subject": map[string]any{"reference": "Patient/nobody"}, "code": map[string]any{"text": "x"}}, 422, "Condition.subject"},
			} {
				typ := bad.body["resourceType"].(string)
				if typ == "Patient" {
					typ = "Condition"
				}
				code, _, m := dr.do("POST", "/fhir/R4/"+typ, bad.body)
				if code != bad.want || !strings.Contains(fmt.Sprint(m), bad.elem) {
					t.Errorf("POST %v = %d %v, want %d naming %s", bad.body, code, m, bad.want, bad.elem)
				}
				recOutcome(t, "bad body", m)
			}
		})
	}
}

// TestSearchPagesThroughNext: a searchset of one entry per page links to the next page until
// every match has been seen, each exactly once.
func TestSearchPagesThroughNext(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			w := recSetup(t, d)
			next := "/fhir/R4/Observation?patient=Patient/" + w.adaID + "&_count=1"
			seen := map[string]bool{}
			total := -1
			for pages := 0; next != ""; pages++ {
				if pages > 10 {
					t.Fatal("more pages than observations")
				}
				b := w.dr.must(200, "GET", next, nil)
				total = int(b["total"].(float64))
				es := recEntries(t, b)
				if len(es) != 1 {
					t.Fatalf("page %d has %d entries, want 1", pages, len(es))
				}
				id := es[0]["id"].(string)
				if seen[id] {
					t.Fatalf("%s seen twice", id)
				}
				seen[id] = true
				next = recNext(b)
			}
			if total != 3 || len(seen) != 3 {
				t.Errorf("paged through %d of %d observations, want 3 of 3", len(seen), total)
			}
		})
	}
}

// TestPagedPatientSearchRecordsThePageOnly: a Patient search by name discloses one page at a
// time, and each page's request records an entry for the patients on that page and no others,
// so a patient's access log says who saw them, not who could have paged to them.
func TestPagedPatientSearchRecordsThePageOnly(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			w := recSetup(t, d)
			for i := range 12 {
				w.drJSON.Must(201, "POST", "/api/v1/patients", map[string]string{"name": fmt.Sprintf("Pia Pagewell %c", 'A'+i),
					"birthDate": "1990-01-01", "phone": fmt.Sprintf("+34 612 300 %03d", i), "email": fmt.Sprintf("pia.%d@haven.test", i)})
			}
			next, pages, seen := "/fhir/R4/Patient?name=pagewell&_count=5", 0, map[string]bool{}
			for ; next != ""; pages++ {
				before := len(w.e.AuditRows())
				b := w.dr.must(200, "GET", next, nil)
				var shown, recorded []string
				for _, e := range recEntries(t, b) {
					shown = append(shown, e["id"].(string))
					seen[e["id"].(string)] = true
				}
				for _, r := range w.e.AuditRows()[before:] {
					if r[0] == "patient.search" && r[1] == "allow" {
						recorded = append(recorded, r[3])
					}
				}
				slices.Sort(shown)
				slices.Sort(recorded)
				if !slices.Equal(shown, recorded) || int(b["total"].(float64)) != 12 {
					t.Errorf("page %d (total %v) showed %v and recorded %v: want the page's patients recorded, and only them", pages, b["total"], shown, recorded)
				}
				next = recNext(b)
			}
			if pages != 3 || len(seen) != 12 {
				t.Errorf("%d pages showed %d patients, want 3 pages and all 12", pages, len(seen))
			}
		})
	}
}
