package clinical

import (
	"encoding/json"
	"fmt"
	"time"
)

// The export's machine-readable form is FHIR-shaped: a Bundle of type collection holding a
// Patient and one resource per entry of the record (Condition, AllergyIntolerance,
// MedicationStatement, Observation with its LOINC code, Immunization, DocumentReference
// without the content, MedicationRequest, and a DocumentReference per visit note carrying its
// text). It is shaped for FHIR R4 but not validated against its profiles: the FHIR issue
// brings that.

type (
	fhirBundle struct {
		ResourceType string      `json:"resourceType"`
		Type         string      `json:"type"`
		Timestamp    string      `json:"timestamp"`
		Entry        []fhirEntry `json:"entry"`
	}
	fhirEntry struct {
		FullURL  string         `json:"fullUrl"`
		Resource map[string]any `json:"resource"`
	}
)

func fhirTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func fhirConcept(text string, c *Code) map[string]any {
	m := map[string]any{"text": text}
	if c != nil && c.Code != "" {
		m["coding"] = []map[string]any{{"system": c.System, "code": c.Code, "display": c.Display}}
	}
	return m
}

func fhirRef(patientID string) map[string]any {
	return map[string]any{"reference": "Patient/" + patientID}
}

// FHIR renders the export as a FHIR-shaped JSON Bundle (type collection).
func (e Export) FHIR() ([]byte, error) {
	pid := e.Patient.ID
	b := fhirBundle{ResourceType: "Bundle", Type: "collection", Timestamp: fhirTime(e.ExportedAt)}
	add := func(typ, id string, res map[string]any) {
		res["resourceType"], res["id"] = typ, id
		b.Entry = append(b.Entry, fhirEntry{FullURL: "urn:haven:" + typ + "/" + id, Resource: res})
	}
	patient := map[string]any{"name": []map[string]any{{"text": e.Patient.Name}}}
	if e.Patient.BirthDate != "" {
		patient["birthDate"] = e.Patient.BirthDate
	}
	var telecom []map[string]any
	if e.Patient.Phone != "" {
		telecom = append(telecom, map[string]any{"system": "phone", "value": e.Patient.Phone})
	}
	if e.Patient.Email != "" {
		telecom = append(telecom, map[string]any{"system": "email", "value": e.Patient.Email})
	}
	if telecom != nil {
		patient["telecom"] = telecom
	}
	add("Patient", pid, patient)
	withNote := func(res map[string]any, it Item) map[string]any {
		if it.Note != "" {
			res["note"] = []map[string]any{{"text": it.Note}}
		}
		return res
	}
	for _, it := range e.Problems {
		add("Condition", it.ID, withNote(map[string]any{"subject": fhirRef(pid), "code": fhirConcept(it.Text, it.Code),
			"clinicalStatus": map[string]any{"text": it.Status}, "onsetDateTime": fhirTime(it.EffectiveAt), "recordedDate": fhirTime(it.CreatedAt)}, it))
	}
	for _, it := range e.Allergies {
		res := map[string]any{"patient": fhirRef(pid), "code": fhirConcept(it.Text, it.Code),
			"clinicalStatus": map[string]any{"text": it.Status}, "recordedDate": fhirTime(it.CreatedAt)}
		if it.Category != "" {
			res["category"] = []string{it.Category}
		}
		if it.Severity != "" {
			res["criticality"] = map[string]string{"severe": "high"}[it.Severity]
		}
		if it.Reaction != "" {
			res["reaction"] = []map[string]any{{"manifestation": []map[string]any{{"text": it.Reaction}}, "severity": it.Severity}}
		}
		add("AllergyIntolerance", it.ID, withNote(res, it))
	}
	for _, it := range e.Medications {
		res := map[string]any{"subject": fhirRef(pid), "status": it.Status, "medicationCodeableConcept": fhirConcept(it.Text, it.Code),
			"effectiveDateTime": fhirTime(it.EffectiveAt)}
		if it.Dosage != "" {
			res["dosage"] = []map[string]any{{"text": it.Dosage}}
		}
		add("MedicationStatement", it.ID, withNote(res, it))
	}
	for _, it := range e.Vitals {
		res := map[string]any{"subject": fhirRef(pid), "status": map[bool]string{true: "entered-in-error", false: "final"}[it.Status == StatusEnteredInError],
			"category": []map[string]any{{"coding": []map[string]any{{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}}}},
			"code":     fhirConcept(it.Text, it.Code), "effectiveDateTime": fhirTime(it.EffectiveAt)}
		if it.Value != nil {
			res["valueQuantity"] = map[string]any{"value": *it.Value, "unit": it.Unit, "system": "http://unitsofmeasure.org", "code": it.Unit}
		}
		var comps []map[string]any
		for _, c := range it.Components {
			comps = append(comps, map[string]any{"code": fhirConcept(c.Code.Display, &c.Code),
				"valueQuantity": map[string]any{"value": c.Value, "unit": c.Unit, "system": "http://unitsofmeasure.org", "code": c.Unit}})
		}
		if comps != nil {
			res["component"] = comps
		}
		add("Observation", it.ID, withNote(res, it))
	}
	for _, it := range e.Immunizations {
		res := map[string]any{"patient": fhirRef(pid), "status": map[bool]string{true: "entered-in-error", false: "completed"}[it.Status == StatusEnteredInError],
			"vaccineCode": fhirConcept(it.Text, it.Code), "occurrenceDateTime": fhirTime(it.EffectiveAt)}
		if it.Lot != "" {
			res["lotNumber"] = it.Lot
		}
		add("Immunization", it.ID, withNote(res, it))
	}
	for _, d := range e.Documents {
		add("DocumentReference", d.ID, map[string]any{"status": "current", "subject": fhirRef(pid), "date": fhirTime(d.CreatedAt),
			"description": d.Title, "content": []map[string]any{{"attachment": map[string]any{"contentType": d.ContentType, "title": d.FileName, "size": d.Size}}}})
	}
	for _, n := range e.Notes {
		text := n.Body
		if n.SOAP != nil {
			text = fmt.Sprintf("Subjective: %s\nObjective: %s\nAssessment: %s\nPlan: %s", n.SOAP.Subjective, n.SOAP.Objective, n.SOAP.Assessment, n.SOAP.Plan)
		}
		for _, a := range n.Addenda {
			text += fmt.Sprintf("\n\nAddendum (%s, %s): %s", a.AuthorName, fhirTime(a.CreatedAt), a.Body)
		}
		add("DocumentReference", n.ID, map[string]any{"status": "current", "subject": fhirRef(pid), "date": fhirTime(n.CreatedAt),
			"type":    map[string]any{"coding": []map[string]any{{"system": "http://loinc.org", "code": "11506-3", "display": "Progress note"}}},
			"author":  []map[string]any{{"display": n.AuthorName}},
			"content": []map[string]any{{"attachment": map[string]any{"contentType": "text/plain; charset=utf-8", "data": []byte(text)}}}})
	}
	for _, p := range e.Prescriptions {
		res := map[string]any{"subject": fhirRef(pid), "status": p.Status, "intent": "order", "authoredOn": fhirTime(p.CreatedAt),
			"requester":                 map[string]any{"display": p.PrescriberName},
			"medicationCodeableConcept": map[string]any{"text": p.Line()},
			"dosageInstruction":         []map[string]any{{"text": p.HowToTake()}},
			"dispenseRequest":           map[string]any{"numberOfRepeatsAllowed": p.Refills, "quantity": map[string]any{"unit": p.Quantity}}}
		if p.Notes != "" {
			res["note"] = []map[string]any{{"text": p.Notes}}
		}
		add("MedicationRequest", p.ID, res)
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("clinical: export bundle: %w", err)
	}
	return out, nil
}
