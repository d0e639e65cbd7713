package fhir

import (
	"context"
	"time"

	"haven/internal/visits"
)

// Encounter is a visit: Haven's visits are virtual (video), with their patient, clinician and
// appointment. Its id is the visit's, which is its appointment's.
type Encounter struct {
	Head
	Status      string                 `json:"status"`
	Class       Coding                 `json:"class"`
	Subject     *Reference             `json:"subject,omitempty"`
	Participant []EncounterParticipant `json:"participant,omitempty"`
	Appointment []Reference            `json:"appointment,omitempty"`
	Period      *Period                `json:"period,omitempty"`
}

// EncounterParticipant is someone taking part in an encounter.
type EncounterParticipant struct {
	Individual *Reference `json:"individual,omitempty"`
}

// SystemEncounterStatus is the code system of Encounter.status.
const SystemEncounterStatus = "http://hl7.org/fhir/encounter-status"

// encounterStatus is the FHIR status of a visit in Haven's state: a missed visit did not take
// place, as a cancelled one did not.
func encounterStatus(state string) string {
	switch state {
	case visits.StateWaiting:
		return "arrived"
	case visits.StateInProgress:
		return "in-progress"
	case visits.StateEnded:
		return "finished"
	case visits.StateCancelled, visits.StateNoShow:
		return "cancelled"
	}
	return "planned"
}

// encounter is visit v as an Encounter. Its period is when it took place (let in to ended)
// once it started, its scheduled time before.
func encounter(v visits.VisitRecord) *Encounter {
	e := &Encounter{Head: NewHead("Encounter", v.ID, time.Time{}, v.Version), Status: encounterStatus(v.State),
		Class:       Coding{System: SystemActCode, Code: "VR", Display: "virtual"},
		Subject:     Ref("Patient", v.PatientID),
		Participant: []EncounterParticipant{{Individual: Ref("Practitioner", v.ClinicianID)}},
		Appointment: []Reference{{Reference: "Appointment/" + v.ID}},
		Period:      &Period{Start: Instant(v.Start), End: Instant(v.End)},
	}
	if !v.AdmittedAt.IsZero() {
		e.Period = &Period{Start: Instant(v.AdmittedAt)}
		if !v.EndedAt.IsZero() {
			e.Period.End = Instant(v.EndedAt)
		}
	}
	return e
}

func (f *FHIR) encounterType() *Type {
	return &Type{
		Name:          "Encounter",
		NoLastUpdated: true,
		Params: []Param{
			{Name: "patient", Type: "reference", Doc: "the patient (Patient/<id>); required but for a patient, whose own visits are searched"},
			{Name: "subject", Type: "reference", Doc: "the patient, as patient"},
			{Name: "date", Type: "date", Doc: "when the visit takes place, with a prefix (ge2026-12-01); without it the year around today, at most a year at once"},
			{Name: "status", Type: "token", Doc: "planned, arrived, in-progress, finished or cancelled"},
		},
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			v, err := f.d.Visits.VisitByID(ctx, c.By, id, c.Origin)
			if err != nil {
				return nil, err
			}
			return encounter(v), nil
		},
		Search: f.searchEncounters,
		Everything: func(ctx context.Context, c Caller, patientID string) ([]Resource, error) {
			from, to := f.listWindow(nil)
			vs, err := f.d.Visits.PatientVisits(ctx, c.By, patientID, from, to, c.Origin)
			if err != nil {
				return nil, err
			}
			out := make([]Resource, 0, len(vs))
			for _, v := range vs {
				out = append(out, encounter(v))
			}
			return out, nil
		},
	}
}

func (f *FHIR) searchEncounters(ctx context.Context, c Caller, q Query) ([]Resource, error) {
	patientID, _, err := q.Reference("patient", "Patient")
	if err != nil {
		return nil, err
	}
	subject, _, err := q.Reference("subject", "Patient")
	if err != nil {
		return nil, err
	}
	switch {
	case patientID != "" && subject != "" && patientID != subject:
		return []Resource{}, nil
	case patientID == "":
		patientID = subject
	}
	if patientID == "" && c.By.PatientID == "" {
		return nil, ErrInvalid("name the patient whose visits to search (patient=Patient/<id>)")
	}
	dates, err := q.Dates("date")
	if err != nil {
		return nil, err
	}
	from, to := f.listWindow(dates)
	if !from.Before(to) {
		return []Resource{}, nil // bounds that exclude each other match nothing
	}
	vs, err := f.d.Visits.PatientVisits(ctx, c.By, patientID, from, to, c.Origin)
	if err != nil {
		return nil, err
	}
	status := q.Tokens("status")
	out := []Resource{}
	for _, v := range vs {
		if MatchDates(dates, v.Start, v.End) && MatchTokens(status, Coding{System: SystemEncounterStatus, Code: encounterStatus(v.State)}) {
			out = append(out, encounter(v))
		}
	}
	return out, nil
}
