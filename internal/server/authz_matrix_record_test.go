package server_test

import (
	"testing"
	"time"

	"haven/internal/access"
)

// The clinical record's part of the authorization matrix: the structured record's items, and
// charges. Every act is asked by every role on each relationship to the patient, so the
// nurse's reach (their care team, never a problem or a prescription) and billing's (charges and
// the details a claim needs, never clinical content) show line by line.

// recordCells are the structured record's and the charges' cells.
func recordCells(onPatient, careLists, everyone []roleRel) []cell {
	var cs []cell
	add := func(action access.Action, method, path string, rrs []roleRel, mod func(*cell)) {
		for _, rr := range rrs {
			c := cell{role: rr.role, relation: rr.relation, action: action, method: method, path: path}
			if mod != nil {
				mod(&c)
			}
			cs = append(cs, c)
		}
	}
	items := []struct {
		action access.Action
		kind   string
		body   map[string]any
	}{
		{access.WriteCondition, "conditions", map[string]any{"text": "Matrix problem"}},
		{access.WriteAllergy, "allergies", map[string]any{"text": "Matrix allergy", "severity": "mild", "category": "food"}},
		{access.WriteMedication, "medications", map[string]any{"text": "Matrix medication", "dosage": "once a day"}},
		{access.WriteImmunization, "immunizations", map[string]any{"text": "Matrix vaccine"}},
		{access.WriteObservation, "observations", map[string]any{"code": map[string]string{"code": "8867-4"}, "value": 70}},
	}
	for _, it := range items {
		body := it.body
		add(it.action, "POST", "/patients/{id}/"+it.kind, onPatient, func(c *cell) {
			c.patient = namesPatient
			c.body = func(*matrixWorld) any { return body }
		})
	}
	add(access.ReadRecord, "GET", "/patients/{id}/summary", onPatient, func(c *cell) { c.variant, c.patient = "summary", namesPatient })

	// Charges: a charge for a visit of the relation's patient that ended, by its clinician.
	add(access.WriteCharge, "POST", "/charges", onPatient, func(c *cell) {
		c.patient = namesPatientOrNoOne
		rel := c.relation
		c.prepare = func(t *testing.T, w *matrixWorld) { w.ids["visit"] = w.endedVisitOf(t, rel) }
		c.body = func(w *matrixWorld) any {
			return map[string]any{"visitId": w.ids["visit"], "procedureCodes": []string{"99213"}, "diagnosisCodes": []string{"J06.9"}, "amount": 9000}
		}
	})
	add(access.WriteCharge, "PATCH", "/charges/{id}", onPatient, func(c *cell) {
		c.variant, c.patient = "status", namesPatient
		rel := c.relation
		c.prepare = func(t *testing.T, w *matrixWorld) { w.ids["charge"] = w.chargeOf(t, rel) }
		c.arg = func(w *matrixWorld) string { return w.ids["charge"] }
		c.body = func(*matrixWorld) any { return map[string]string{"status": "submitted"} }
	})
	add(access.ReadCharges, "GET", "/charges/{id}", onPatient, func(c *cell) {
		c.variant, c.patient = "one", namesPatient
		rel := c.relation
		c.prepare = func(t *testing.T, w *matrixWorld) { w.ids["charge"] = w.chargeOf(t, rel) }
		c.arg = func(w *matrixWorld) string { return w.ids["charge"] }
	})
	add(access.ReadCharges, "GET", "/charges", careLists, func(c *cell) { c.variant, c.patient = "list", namesPatientOrNoOne })
	add(access.ExportCharge, "GET", "/charges/export", everyone, func(c *cell) {
		c.factor, c.patient = "fresh", namesPatientOrNoOne
		c.query = func(*matrixWorld) string { return "format=csv" }
	})
	return cs
}

// endedVisitOf puts in the database a visit of the relation's patient, with the relation's
// clinician (visitParties), that ended on a day of its own in the past week.
func (w *matrixWorld) endedVisitOf(t *testing.T, rel string) string {
	patientID, clinicianID, _, _ := w.visitParties(rel)
	w.past++
	at := w.e.Clock.Now().Truncate(time.Hour).Add(-time.Duration(w.past) * 25 * time.Hour / 4)
	return endedVisit(t, w.e, clinicianID, patientID, at)
}

// chargeOf is a draft charge billing recorded for a visit of the relation's patient that ended.
func (w *matrixWorld) chargeOf(t *testing.T, rel string) string {
	visit := w.endedVisitOf(t, rel)
	return w.clients["billing"].Must(201, "POST", "/api/v1/charges", map[string]any{"visitId": visit,
		"procedureCodes": []string{"99213"}, "diagnosisCodes": []string{"J06.9"}, "amount": 9000})["id"].(string)
}
