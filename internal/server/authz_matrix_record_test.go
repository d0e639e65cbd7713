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

	// Documents: an upload, the list, and one download of a document the relation's clinician
	// added just before.
	add(access.UploadDocument, "POST", "/patients/{id}/documents", onPatient, func(c *cell) {
		c.patient, c.rawType = namesPatient, "application/pdf"
		c.body = func(*matrixWorld) any { return []byte("%PDF-1.4 authorization matrix") }
	})
	add(access.ReadDocument, "GET", "/patients/{id}/documents", onPatient, func(c *cell) { c.variant, c.patient = "list", namesPatient })
	add(access.ReadDocument, "GET", "/patients/{id}/documents/{sub}", onPatient, func(c *cell) {
		c.variant, c.patient = "download", namesPatient
		rel := c.relation
		c.prepare = func(t *testing.T, w *matrixWorld) { w.ids["document"] = w.documentOf(t, rel) }
		c.sub = func(w *matrixWorld) string { return w.ids["document"] }
	})

	// Visit notes: a draft of the visit's clinician, saved, signed and amended.
	add(access.WriteNote, "PUT", "/visits/{id}/note", onPatient, func(c *cell) {
		c.variant, c.patient = "visit-draft", namesPatient
		rel := c.relation
		c.prepare = func(t *testing.T, w *matrixWorld) { w.appt["cell"] = w.visitFor(t, rel, visitBooked) }
		c.arg = func(w *matrixWorld) string { return w.appt["cell"] }
		c.body = func(*matrixWorld) any { return map[string]string{"plan": "Authorization matrix plan."} }
	})
	add(access.SignNote, "POST", "/notes/{id}/signature", onPatient, func(c *cell) {
		c.patient = namesPatient
		rel := c.relation
		c.prepare = func(t *testing.T, w *matrixWorld) { w.ids["note"] = w.draftNoteOf(t, rel, false) }
		c.arg = func(w *matrixWorld) string { return w.ids["note"] }
	})
	add(access.AddAddendum, "POST", "/notes/{id}/addenda", onPatient, func(c *cell) {
		c.patient = namesPatient
		rel := c.relation
		c.prepare = func(t *testing.T, w *matrixWorld) { w.ids["note"] = w.draftNoteOf(t, rel, true) }
		c.arg = func(w *matrixWorld) string { return w.ids["note"] }
		c.body = func(*matrixWorld) any { return map[string]string{"body": "Authorization matrix addendum."} }
	})

	// Prescriptions: a draft written, changed, signed (with the prescriber's key, after a fresh
	// second factor), cancelled; a signed one read, listed and printed; the pharmacy's check and
	// dispense with the printed code, which Haven answers itself.
	add(access.WritePrescription, "POST", "/prescriptions", onPatient, func(c *cell) {
		c.patient = namesPatientOrNoOne
		rel := c.relation
		c.body = func(w *matrixWorld) any {
			return map[string]any{"patientId": w.patient[rel], "medication": "Matrix amoxicillin", "quantity": "21 capsules"}
		}
	})
	onDraft := func(variant string) func(*cell) {
		return func(c *cell) {
			c.variant, c.patient = variant, namesPatient
			rel := c.relation
			c.prepare = func(t *testing.T, w *matrixWorld) { w.ids["rx"] = w.rxDraftOf(t, rel) }
			c.arg = func(w *matrixWorld) string { return w.ids["rx"] }
		}
	}
	onSigned := func(variant string) func(*cell) {
		return func(c *cell) {
			c.variant, c.patient = variant, namesPatient
			rel := c.relation
			c.prepare = func(t *testing.T, w *matrixWorld) { w.ids["rx"], _ = w.rxSignedOf(t, rel) }
			c.arg = func(w *matrixWorld) string { return w.ids["rx"] }
		}
	}
	add(access.WritePrescription, "PUT", "/prescriptions/{id}", onPatient, func(c *cell) {
		onDraft("change")(c)
		c.body = func(*matrixWorld) any {
			return map[string]any{"medication": "Matrix amoxicillin", "strength": "500 mg", "quantity": "21 capsules"}
		}
	})
	add(access.SignPrescription, "POST", "/prescriptions/{id}/signature", onPatient, func(c *cell) {
		onDraft("")(c)
		c.factor = "fresh"
		c.body = func(*matrixWorld) any { return map[string]string{"method": "key"} }
	})
	add(access.CancelPrescription, "POST", "/prescriptions/{id}/cancellation", onPatient, onDraft(""))
	add(access.ReadPrescription, "GET", "/prescriptions/{id}", onPatient, onSigned("one"))
	add(access.ReadPrescription, "GET", "/prescriptions/{id}/printable", onPatient, onSigned("printable"))
	add(access.ReadPrescription, "GET", "/prescriptions", onPatient, func(c *cell) {
		c.variant, c.patient = "list", namesPatient
		rel := c.relation
		c.query = func(w *matrixWorld) string { return "patientId=" + w.patient[rel] }
	})
	pharmacy := func(c *cell) {
		c.patient = namesPatient
		c.prepare = func(t *testing.T, w *matrixWorld) { w.ids["rx"], w.ids["rx-code"] = w.rxSignedOf(t, relOwn) }
		c.arg = func(w *matrixWorld) string { return w.ids["rx"] }
	}
	verify := cell{role: "system", relation: relSelf, action: access.VerifyPrescription, method: "GET", path: "/prescriptions/{id}/verification"}
	pharmacy(&verify)
	verify.query = func(w *matrixWorld) string { return "code=" + w.ids["rx-code"] }
	dispense := cell{role: "system", relation: relSelf, action: access.DispensePrescription, method: "POST", path: "/prescriptions/{id}/dispense"}
	pharmacy(&dispense)
	dispense.body = func(w *matrixWorld) any { return map[string]string{"code": w.ids["rx-code"]} }
	cs = append(cs, verify, dispense)

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

// documentOf is a document the relation's clinician added to the relation's patient's record.
func (w *matrixWorld) documentOf(t *testing.T, rel string) string {
	patientID, _, _, clinician := w.visitParties(rel)
	code, doc, raw := uploadDoc(t, w.e, clinician, patientID, "matrix.pdf", "application/pdf", []byte("%PDF-1.4 matrix document"))
	if code != 201 {
		t.Fatalf("upload for the %s cell = %d %s", rel, code, raw)
	}
	return doc["id"].(string)
}

// draftNoteOf is a draft note the relation's clinician saved on a visit of the relation's
// patient booked just before; signed, if signed.
func (w *matrixWorld) draftNoteOf(t *testing.T, rel string, signed bool) string {
	_, _, _, clinician := w.visitParties(rel)
	visit := w.visitFor(t, rel, visitBooked)
	id := clinician.Must(200, "PUT", "/api/v1/visits/"+visit+"/note", map[string]string{"plan": "Authorization matrix plan."})["id"].(string)
	if signed {
		clinician.Must(200, "POST", "/api/v1/notes/"+id+"/signature", nil)
	}
	return id
}

// rxDraftOf is a draft prescription the relation's clinician wrote for the relation's patient.
func (w *matrixWorld) rxDraftOf(t *testing.T, rel string) string {
	patientID, _, _, clinician := w.visitParties(rel)
	return clinician.Must(201, "POST", "/api/v1/prescriptions", map[string]any{"patientId": patientID,
		"medication": "Matrix amoxicillin", "quantity": "21 capsules"})["id"].(string)
}

// rxSignedOf is such a prescription signed with the clinician's key after a step-up, with the
// verification code printed on it.
func (w *matrixWorld) rxSignedOf(t *testing.T, rel string) (id, code string) {
	_, _, _, clinician := w.visitParties(rel)
	id = w.rxDraftOf(t, rel)
	w.stepUp(t, clinician)
	signed := clinician.Must(200, "POST", "/api/v1/prescriptions/"+id+"/signature", map[string]string{"method": "key"})
	code, _ = signed["verificationCode"].(string)
	return id, code
}

// chargeOf is a draft charge billing recorded for a visit of the relation's patient that ended.
func (w *matrixWorld) chargeOf(t *testing.T, rel string) string {
	visit := w.endedVisitOf(t, rel)
	return w.clients["billing"].Must(201, "POST", "/api/v1/charges", map[string]any{"visitId": visit,
		"procedureCodes": []string{"99213"}, "diagnosisCodes": []string{"J06.9"}, "amount": 9000})["id"].(string)
}
