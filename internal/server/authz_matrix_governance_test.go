package server_test

import (
	"fmt"
	"testing"

	"haven/internal/access"
)

// The governance part of the authorization matrix: the patient's own export, erasure requests
// and their approval or refusal, legal holds, and the compliance report. An approval destroys
// a patient's keyset, so the erasure cells act on patients registered for the cell alone,
// never on the matrix's own patients.

// noAPIRules are rules no request can ask for: Haven acts on them alone, and the tests named
// here cover them instead of a matrix line.
var noAPIRules = map[access.Action]string{
	access.PurgeExpired: "TestEachPurgeAudited (the retention purge runs in Haven's own loop)",
}

// governanceCells are the governance acts' cells.
func governanceCells(everyone []roleRel) []cell {
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
	ownActs := []roleRel{{"patient", relSelf}, {"clinician", relSelf}, {"frontdesk", relSelf}, {"auditor", relSelf}, {"admin", relSelf}}
	add(access.ExportRecord, "GET", "/me/export", ownActs, func(c *cell) {
		c.factor = "fresh"
		if c.role == "patient" {
			c.patient = namesPatient
		}
		c.query = func(*matrixWorld) string { return "format=json" }
	})
	// A request: the patient for themselves; for a patient, anyone (the privacy officer records
	// one received another way). A request destroys nothing.
	add(access.RequestErasure, "POST", "/me/erasure-request", ownActs, func(c *cell) {
		if c.role == "patient" {
			c.patient = namesPatient
		}
	})
	add(access.RequestErasure, "POST", "/patients/{id}/erasure-requests",
		[]roleRel{{"patient", relAnother}, {"clinician", relOwn}, {"nurse", relTeam}, {"billing", relNone}, {"frontdesk", relNone}, {"auditor", relNone}, {"admin", relNone}},
		func(c *cell) { c.patient = namesPatient })
	onRequest := func(c *cell) {
		c.prepare = func(t *testing.T, w *matrixWorld) { w.ids["erasure"] = w.erasureRequest(t) }
		c.arg = func(w *matrixWorld) string { return w.ids["erasure"] }
	}
	add(access.ApproveErasure, "POST", "/erasure-requests/{id}/approval", everyone, func(c *cell) {
		onRequest(c)
		c.factor = "fresh"
	})
	add(access.RefuseErasure, "POST", "/erasure-requests/{id}/refusal", everyone, onRequest)
	add(access.ReadCompliance, "GET", "/erasure-requests", everyone, func(c *cell) { c.variant = "erasure-requests" })
	// A legal hold on the own patient, placed and lifted.
	hold := []roleRel{{"patient", relSelf}, {"clinician", relOwn}, {"nurse", relNone}, {"billing", relNone}, {"frontdesk", relNone}, {"auditor", relNone}, {"admin", relNone}}
	add(access.SetLegalHold, "PUT", "/patients/{id}/legal-hold", hold, func(c *cell) {
		c.variant, c.factor, c.patient = "place", "fresh", namesPatient
		c.body = func(*matrixWorld) any { return map[string]string{"reason": "litigation"} }
	})
	add(access.SetLegalHold, "DELETE", "/patients/{id}/legal-hold", hold, func(c *cell) {
		c.variant, c.factor, c.patient = "lift", "fresh", namesPatient
	})
	add(access.ReadCompliance, "GET", "/compliance-report", everyone, func(c *cell) { c.variant = "report" })
	return cs
}

// erasureRequest registers a patient for this cell alone and records, as the privacy officer,
// a request to erase them: the identifier of the request.
func (w *matrixWorld) erasureRequest(t *testing.T) string {
	w.erasable++
	n := w.erasable
	p := w.drB.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "Erin Erasable", "birthDate": fmt.Sprintf("1990-01-%02d", n),
		"phone": fmt.Sprintf("+1 555 0177 %03d", n), "email": fmt.Sprintf("erin.erasable.%d@example.test", n)})
	return w.clients["auditor"].Must(201, "POST", "/api/v1/patients/"+p["patientId"].(string)+"/erasure-requests", nil)["id"].(string)
}
