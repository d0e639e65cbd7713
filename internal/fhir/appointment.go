package fhir

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/visits"
)

// Appointment is a booking: its patient and clinician, its time and its state. Its versionId
// counts the row's changes, for If-Match.
type Appointment struct {
	Head
	Status          string                   `json:"status"`
	Start           string                   `json:"start,omitempty"`
	End             string                   `json:"end,omitempty"`
	MinutesDuration int                      `json:"minutesDuration,omitempty"`
	Participant     []AppointmentParticipant `json:"participant"`
}

// AppointmentParticipant is one person taking part.
type AppointmentParticipant struct {
	Actor  *Reference `json:"actor,omitempty"`
	Status string     `json:"status"` // accepted | declined | tentative | needs-action
}

// SystemAppointmentStatus is the code system of Appointment.status.
const SystemAppointmentStatus = "http://hl7.org/fhir/appointmentstatus"

// appointmentStatus is the FHIR status of an appointment in Haven's state.
func appointmentStatus(state string) string {
	switch state {
	case visits.StateBooked:
		return "booked"
	case visits.StateWaiting:
		return "checked-in"
	case visits.StateInProgress:
		return "arrived"
	case visits.StateEnded:
		return "fulfilled"
	case visits.StateCancelled:
		return "cancelled"
	case visits.StateNoShow:
		return "noshow"
	}
	return "booked"
}

func appointment(a visits.Appointment) *Appointment {
	res := &Appointment{Head: NewHead("Appointment", a.ID, time.Time{}, a.Version), Status: appointmentStatus(a.State),
		Start: Instant(a.Start), End: Instant(a.End), MinutesDuration: int(a.End.Sub(a.Start) / time.Minute)}
	res.Participant = []AppointmentParticipant{
		{Actor: &Reference{Reference: "Patient/" + a.PatientID, Display: a.PatientName}, Status: "accepted"},
		{Actor: &Reference{Reference: "Practitioner/" + a.ClinicianID, Display: a.ClinicianName}, Status: "accepted"},
	}
	return res
}

// listWindow is the period an appointment or encounter search covers without a date: the
// year around today.
func (f *FHIR) listWindow(dates [][]DateParam) (from, to time.Time) {
	now := f.d.Visits.Now()
	return window(dates, now.AddDate(0, 0, -183), now.AddDate(0, 0, 183), visits.MaxListWindow)
}

func (f *FHIR) appointmentType() *Type {
	return &Type{
		Name:          "Appointment",
		NoLastUpdated: true,
		Params: []Param{
			{Name: "patient", Type: "reference", Doc: "the patient (Patient/<id>)"},
			{Name: "practitioner", Type: "reference", Doc: "the clinician (Practitioner/<id>)"},
			{Name: "actor", Type: "reference", Doc: "the patient or the clinician (Patient/<id> or Practitioner/<id>)"},
			{Name: "date", Type: "date", Doc: "when the appointment takes place, with a prefix (ge2026-12-01); without it the year around today, at most a year at once"},
			{Name: "status", Type: "token", Doc: "booked, checked-in, arrived, fulfilled, cancelled or noshow"},
		},
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			a, err := f.d.Visits.AppointmentByID(ctx, c.By, id, c.Origin)
			if err != nil {
				return nil, err
			}
			return appointment(a), nil
		},
		Search: f.searchAppointments,
		Create: f.createAppointment,
		Update: f.updateAppointment,
		Everything: func(ctx context.Context, c Caller, patientID string) ([]Resource, error) {
			from, to := f.listWindow(nil)
			as, err := f.d.Visits.FindAppointments(ctx, c.By, visits.AppointmentFilter{PatientID: patientID, From: from, To: to}, c.Origin)
			if err != nil {
				return nil, err
			}
			out := make([]Resource, 0, len(as))
			for _, a := range as {
				out = append(out, appointment(a))
			}
			return out, nil
		},
	}
}

func (f *FHIR) searchAppointments(ctx context.Context, c Caller, q Query) ([]Resource, error) {
	var filter visits.AppointmentFilter
	var err error
	if filter.PatientID, _, err = q.Reference("patient", "Patient"); err != nil {
		return nil, err
	}
	if filter.ClinicianID, _, err = q.Reference("practitioner", "Practitioner"); err != nil {
		return nil, err
	}
	if v := q.Get("actor"); v != "" {
		typ, id, ok := actorOf(v)
		if !ok {
			return nil, ErrInvalid("actor must name Patient/<id> or Practitioner/<id>")
		}
		field := &filter.PatientID
		if typ == "Practitioner" {
			field = &filter.ClinicianID
		}
		if *field != "" && *field != id {
			return []Resource{}, nil
		}
		*field = id
	}
	dates, err := q.Dates("date")
	if err != nil {
		return nil, err
	}
	filter.From, filter.To = f.listWindow(dates)
	if !filter.From.Before(filter.To) {
		return []Resource{}, nil // bounds that exclude each other match nothing
	}
	as, err := f.d.Visits.FindAppointments(ctx, c.By, filter, c.Origin)
	if err != nil {
		return nil, err
	}
	status := q.Tokens("status")
	out := []Resource{}
	for _, a := range as {
		if MatchDates(dates, a.Start, a.End) && MatchTokens(status, Coding{System: SystemAppointmentStatus, Code: appointmentStatus(a.State)}) {
			out = append(out, appointment(a))
		}
	}
	return out, nil
}

// actorOf reads an actor reference: Patient/<id> or Practitioner/<id>, or a full URL ending
// so.
func actorOf(v string) (typ, id string, ok bool) {
	for _, t := range []string{"Patient", "Practitioner"} {
		q := NewQuery(map[string][]string{"r": {v}})
		if id, named, err := q.Reference("r", t); err == nil && named && id != v {
			return t, id, true
		}
	}
	return "", "", false
}

// createAppointment books a slot: POST Appointment with status booked (or proposed or
// pending: Haven books at once), a start or a Slot, and the practitioner (a patient books for
// themselves; the front desk names the patient).
func (f *FHIR) createAppointment(ctx context.Context, c Caller, body []byte) (Resource, error) {
	in, err := parseAppointment(body)
	if err != nil {
		return nil, err
	}
	switch in.Status {
	case "booked", "proposed", "pending":
	default:
		return nil, ErrInvalid("a new appointment's status is booked (or proposed or pending: Haven books it at once)")
	}
	if in.ClinicianID == "" || in.Start.IsZero() {
		return nil, ErrInvalid("name the clinician (a Practitioner participant or a Slot) and the start (start or a Slot)")
	}
	a, err := f.d.Visits.Book(ctx, c.By, visits.Booking{ClinicianID: in.ClinicianID, PatientID: in.PatientID, Start: in.Start}, c.Origin)
	if err != nil {
		return nil, notStale(err)
	}
	return appointment(a), nil
}

// updateAppointment changes an appointment: status cancelled cancels it; another start moves
// it. Its patient and clinician cannot change, nor can its status otherwise (check-in, the
// visit and its end are the visit's). version is If-Match's; a stale one is visits.ErrStale.
func (f *FHIR) updateAppointment(ctx context.Context, c Caller, id, version string, body []byte) (Resource, error) {
	in, err := parseAppointment(body)
	if err != nil {
		return nil, err
	}
	if in.ID != "" && in.ID != id {
		return nil, ErrInvalid("the appointment's id in the body must be the one in the URL")
	}
	var want int64
	if version != "" {
		if want, err = strconv.ParseInt(version, 10, 64); err != nil || want < 1 {
			return nil, visits.ErrStale // a version Haven never gave is not the current one
		}
	}
	cur, err := f.d.Visits.AppointmentByID(ctx, c.By, id, c.Origin)
	if err != nil {
		return nil, err
	}
	if want != 0 && cur.Version != want {
		return nil, visits.ErrStale
	}
	if (in.PatientID != "" && in.PatientID != cur.PatientID) || (in.ClinicianID != "" && in.ClinicianID != cur.ClinicianID) {
		return nil, ErrInvalid("an appointment's patient and practitioner cannot change; cancel it and book another")
	}
	now := appointmentStatus(cur.State)
	switch {
	case in.Status == "cancelled" && now != "cancelled":
		err = f.d.Visits.CancelVersion(ctx, c.By, id, want, c.Origin)
	case in.Status != now:
		return nil, ErrInvalid("an appointment's status changes here to cancelled only; check-in, the visit and its end happen in the visit")
	case !in.Start.IsZero() && !in.Start.Equal(cur.Start):
		_, err = f.d.Visits.RescheduleVersion(ctx, c.By, id, want, in.Start, c.Origin)
	}
	if err != nil {
		return nil, notStale(err)
	}
	a, err := f.d.Visits.AppointmentByID(ctx, c.By, id, c.Origin)
	if err != nil {
		return nil, err
	}
	return appointment(a), nil
}

// notStale keeps a conflict that is not a stale version (a slot someone else took, a visit
// under way) from being answered 412: it is a 409 with the domain's words.
func notStale(err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Kind == fault.Conflict && !errors.Is(err, visits.ErrStale) {
		return &httpx.Error{Status: http.StatusConflict, Message: fe.Message}
	}
	return err
}
