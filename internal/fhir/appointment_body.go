package fhir

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"haven/internal/ids"
)

// appointmentRequest is what a client's Appointment body asks for.
type appointmentRequest struct {
	ID          string
	Status      string
	Start       time.Time
	PatientID   string
	ClinicianID string
}

// appointmentBody is the part of a FHIR Appointment Haven reads; other elements are ignored
// (a booking system sends its own, such as text or identifier).
type appointmentBody struct {
	ResourceType string      `json:"resourceType"`
	ID           string      `json:"id"`
	Status       string      `json:"status"`
	Start        string      `json:"start"`
	Slot         []Reference `json:"slot"`
	Participant  []struct {
		Actor *Reference `json:"actor"`
	} `json:"participant"`
}

// appointmentStatuses are R4's Appointment.status codes.
var appointmentStatuses = map[string]bool{"proposed": true, "pending": true, "booked": true, "arrived": true, "fulfilled": true,
	"cancelled": true, "noshow": true, "entered-in-error": true, "checked-in": true, "waitlist": true}

// parseAppointment reads an untrusted Appointment body: one JSON object of resourceType
// Appointment with a status, a start or one Slot, and at most one Patient and one
// Practitioner participant. Errors say what to fix and echo nothing of the body.
func parseAppointment(body []byte) (appointmentRequest, error) {
	var b appointmentBody
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&b); err != nil || dec.More() {
		return appointmentRequest{}, ErrInvalid("send one FHIR Appointment as a JSON object")
	}
	if b.ResourceType != "Appointment" {
		return appointmentRequest{}, ErrInvalid(`the body must be an Appointment ("resourceType": "Appointment")`)
	}
	var r appointmentRequest
	if b.ID != "" && !ids.Valid(b.ID) {
		return appointmentRequest{}, ErrInvalid("the id must be a FHIR id: letters, digits, - and ., at most 64")
	}
	r.ID = b.ID
	if !appointmentStatuses[b.Status] {
		return appointmentRequest{}, ErrInvalid("status must be an Appointment status code, such as booked or cancelled")
	}
	r.Status = b.Status
	if b.Start != "" {
		t, err := time.Parse(time.RFC3339, b.Start)
		if err != nil {
			return appointmentRequest{}, ErrInvalid("start must be an instant with its zone, such as 2026-12-01T09:00:00Z")
		}
		r.Start = t.UTC()
	}
	if len(b.Slot) > 1 {
		return appointmentRequest{}, ErrInvalid("an appointment takes one slot")
	}
	if len(b.Slot) == 1 {
		id, ok := refID(b.Slot[0].Reference, "Slot")
		cid, start, ok2 := parseSlotID(id)
		if !ok || !ok2 {
			return appointmentRequest{}, ErrInvalid("slot must refer to a Slot found by searching Slot (Slot/<id>)")
		}
		if !r.Start.IsZero() && !r.Start.Equal(start) {
			return appointmentRequest{}, ErrInvalid("start and the slot's start differ; send one of them")
		}
		r.Start, r.ClinicianID = start, cid
	}
	for _, p := range b.Participant {
		if p.Actor == nil {
			continue
		}
		if id, ok := refID(p.Actor.Reference, "Patient"); ok {
			if r.PatientID != "" && r.PatientID != id {
				return appointmentRequest{}, ErrInvalid("an appointment has one patient")
			}
			r.PatientID = id
			continue
		}
		id, ok := refID(p.Actor.Reference, "Practitioner")
		if !ok {
			return appointmentRequest{}, ErrInvalid("participants are the patient (Patient/<id>) and the clinician (Practitioner/<id>)")
		}
		if r.ClinicianID != "" && r.ClinicianID != id {
			return appointmentRequest{}, ErrInvalid("an appointment has one practitioner, the slot's if a slot is named")
		}
		r.ClinicianID = id
	}
	return r, nil
}

// refID is the id of a reference to a typ ("Patient/abc", or a URL ending so).
func refID(ref, typ string) (string, bool) {
	i := strings.LastIndex(ref, typ+"/")
	if i < 0 || (i > 0 && ref[i-1] != '/') {
		return "", false
	}
	id := ref[i+len(typ)+1:]
	return id, id != "" && len(id) <= 64 && !strings.ContainsAny(id, "/?#")
}
