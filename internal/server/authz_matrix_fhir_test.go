package server_test

import (
	"encoding/json"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/server/servertest"
)

// The connected systems' part of the authorization matrix. An administrator manages the
// registry (integration.manage, like any administrative act: every person's role asks once).
// A connected system is a subject of its own: for every rule that grants it anything, it asks
// over FHIR with a bearer token twice, once holding a scope that covers the act's resource
// type ("in-scope": system/*.cruds) and once holding an unrelated one ("outside-scope":
// system/Immunization.r), which the door refuses and records with the system as the actor.

// Integration subjects (a cell's relation): the scopes each one's token carries.
const (
	inScope      = "in-scope"
	outsideScope = "outside-scope"
)

var integrationScopes = map[string]string{inScope: "system/*.cruds", outsideScope: "system/Immunization.r"}

// integrationWorld registers the two connected systems (the administrator steps up for it).
func integrationWorld(t *testing.T, w *matrixWorld) {
	w.integrations = map[string]*servertest.Integration{}
	w.tokenAt = map[string]time.Time{}
	for variant, scopes := range integrationScopes {
		w.integrations[variant] = w.e.RegisterIntegration(t, w.clients["admin"], scopes)
		// A system has no relationship with any patient: its cells act on the own patient.
		w.patient[variant], w.email[variant] = w.patient[relNone], w.email[relNone]
	}
}

// integration is the connected system of a cell, holding a token young enough for the cell
// (tokens live five minutes; the matrix moves the clock on between cells).
func (w *matrixWorld) integration(variant string) *servertest.Integration {
	in := w.integrations[variant]
	if now := w.e.Clock.Now(); now.Sub(w.tokenAt[variant]) > 3*time.Minute {
		in.Bearer, w.tokenAt[variant] = "", now
	}
	return in
}

// manageIntegrationCells: registering a connected system, by every person's role, after a
// step-up (only the administrator is allowed).
func manageIntegrationCells(everyone []roleRel) []cell {
	var cs []cell
	for _, rr := range everyone {
		role := rr.role
		cs = append(cs, cell{role: role, relation: rr.relation, action: access.ManageIntegrations, factor: "fresh",
			method: "POST", path: "/admin/integrations",
			body: func(*matrixWorld) any {
				b, err := newIntegrationBody("Matrix lab by " + role)
				if err != nil {
					panic(err) // a key that cannot be generated: nothing a cell could recover from
				}
				return b
			}})
	}
	return cs
}

// integrationCells are a connected system's FHIR requests, one pair per rule that grants it.
func integrationCells() []cell {
	var cs []cell
	add := func(action access.Action, method, path string, scope patientScope, mod func(*cell)) {
		for _, variant := range []string{inScope, outsideScope} {
			c := cell{role: "integration", relation: variant, action: action, method: method, path: path,
				integration: variant, patient: scope}
			if mod != nil {
				mod(&c)
			}
			cs = append(cs, c)
		}
	}
	search := func(c *cell) {
		c.query = func(w *matrixWorld) string { return "patient=" + w.patient[relNone] }
	}
	patientRef := func(w *matrixWorld) map[string]any {
		return map[string]any{"reference": "Patient/" + w.patient[relNone]}
	}
	concept := func(system, code, text string) map[string]any {
		return map[string]any{"coding": []any{map[string]any{"system": system, "code": code}}, "text": text}
	}

	add(access.ReadRecord, "GET", "/fhir/R4/Observation", namesPatient, search)
	add(access.SearchPatients, "GET", "/fhir/R4/Patient", namesPatientOrNoOne, func(c *cell) {
		c.query = func(*matrixWorld) string { return "name=olive" }
	})
	add(access.ReadDemographics, "GET", "/fhir/R4/Patient/{id}", namesPatient, nil)
	add(access.ListAppointments, "GET", "/fhir/R4/Appointment", namesPatientOrNoOne, search)
	add(access.BookAppointment, "POST", "/fhir/R4/Appointment", namesPatient, func(c *cell) {
		c.body = func(w *matrixWorld) any {
			return map[string]any{"resourceType": "Appointment", "status": "booked", "start": w.slot(),
				"participant": []any{map[string]any{"actor": patientRef(w)}, map[string]any{"actor": map[string]any{"reference": "Practitioner/" + w.account["clinician"]}}}}
		}
	})
	moved := func(status string) func(c *cell) {
		return func(c *cell) {
			prepare := appointmentFor(false, false)
			c.prepare = func(t *testing.T, w *matrixWorld) { prepare(t, w, relOwn) }
			c.arg = func(w *matrixWorld) string { return w.appt["cell"] }
			// An update reads the appointment first, as the update: a system outside its
			// scope is refused there, before the change is asked for.
			c.refusedAs = access.ListAppointments
			c.body = func(w *matrixWorld) any {
				b := map[string]any{"resourceType": "Appointment", "id": w.appt["cell"], "status": status,
					"participant": []any{map[string]any{"actor": patientRef(w)}, map[string]any{"actor": map[string]any{"reference": "Practitioner/" + w.account["clinician"]}}}}
				if status == "booked" {
					b["start"] = w.slot()
				}
				return b
			}
		}
	}
	add(access.RescheduleAppointment, "PUT", "/fhir/R4/Appointment/{id}", namesPatient, moved("booked"))
	add(access.CancelAppointment, "PUT", "/fhir/R4/Appointment/{id}", namesPatient, moved("cancelled"))
	add(access.ReadSlots, "GET", "/fhir/R4/Slot", anyPatient, func(c *cell) {
		c.query = func(w *matrixWorld) string { return "schedule=Schedule/" + w.account["clinician"] }
	})
	add(access.ReadConsent, "GET", "/fhir/R4/Consent", namesPatient, search)
	add(access.ReadVisit, "GET", "/fhir/R4/Encounter", namesPatientOrNoOne, search)
	add(access.WriteCondition, "POST", "/fhir/R4/Condition", namesPatient, func(c *cell) {
		c.body = func(w *matrixWorld) any {
			return map[string]any{"resourceType": "Condition", "subject": patientRef(w), "code": map[string]any{"text": "Matrix condition"}}
		}
	})
	add(access.WriteAllergy, "POST", "/fhir/R4/AllergyIntolerance", namesPatient, func(c *cell) {
		c.body = func(w *matrixWorld) any {
			return map[string]any{"resourceType": "AllergyIntolerance", "patient": patientRef(w), "code": map[string]any{"text": "Matrix allergy"}}
		}
	})
	add(access.WriteObservation, "POST", "/fhir/R4/Observation", namesPatient, func(c *cell) {
		c.body = func(w *matrixWorld) any {
			return map[string]any{"resourceType": "Observation", "status": "final", "code": concept("http://loinc.org", "8867-4", "Heart rate"),
				"subject": patientRef(w), "valueQuantity": map[string]any{"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}}
		}
	})
	add(access.ReadDocument, "GET", "/fhir/R4/DocumentReference", namesPatient, search)
	add(access.ReadPrescription, "GET", "/fhir/R4/MedicationRequest", namesPatient, search)
	add(access.ReadCharges, "GET", "/fhir/R4/Claim", namesPatientOrNoOne, search)
	add(access.ReviewAudit, "GET", "/fhir/R4/AuditEvent", anyPatient, search)
	return cs
}

// doFHIR sends a cell's FHIR request with its connected system's bearer token.
func (w *matrixWorld) doFHIR(t *testing.T, c cell, path string, body any) (int, map[string]any, []byte) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	status, _, raw := w.integration(c.integration).Do(t, c.method, path, b)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return status, m, raw
}

// bundlePatients are the ids of the Patients a searchset Bundle shows.
func bundlePatients(raw []byte) ([]string, bool) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if json.Unmarshal(raw, &b) != nil || b.ResourceType != "Bundle" {
		return nil, false
	}
	var ids []string
	for _, e := range b.Entry {
		if e.Resource.ResourceType == "Patient" {
			ids = append(ids, e.Resource.ID)
		}
	}
	return ids, true
}
