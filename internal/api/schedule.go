package api

import (
	"net/http"
	"strings"
	"time"

	"haven/internal/clinical"
	"haven/internal/httpx"
	"haven/internal/visits"
)

type (
	slotsResponse struct {
		Slots []visits.Slot `json:"slots"`
	}
	rescheduleRequest struct {
		Start time.Time `json:"start"`
	}
)

// window is the from and to query parameters a slot or appointment list needs (RFC 3339).
var window = []Param{
	{Name: "from", In: "query", Required: true, Description: "start of the period, RFC 3339 with its offset (2026-12-01T00:00:00+01:00 or …Z)"},
	{Name: "to", In: "query", Required: true, Description: "end of the period (excluded), RFC 3339; at most 31 days after from for slots, a year for appointments"},
}

func clinicianParam(desc string) []Param {
	return []Param{{Name: "id", In: "path", Required: true, Description: desc}}
}

// scheduleRoutes are availability, slots and appointments (package visits), and the front
// desk's view of a patient (package clinical).
func (a *API) scheduleRoutes() []Route {
	clinician := clinicianParam("the clinician's account identifier (id in GET /me)")
	appointment := []Param{{Name: "id", In: "path", Required: true, Description: "appointment identifier"}}
	return []Route{
		{Method: "PUT", Path: "/clinicians/{id}/availability", OperationID: "setAvailability", Summary: "Set a clinician's weekly hours in their time zone, exceptions (time off, extra hours), slot length and buffer: a clinician their own, the front desk anyone's. Answers the hours as stored", Tag: "schedule",
			Query: clinician, Request: visits.Availability{}, Response: visits.Availability{}, Handler: a.setAvailability},
		{Method: "GET", Path: "/clinicians/{id}/availability", OperationID: "getAvailability", Summary: "A clinician's hours as set; 404 if they have set none", Tag: "schedule",
			Query: clinician, Response: visits.Availability{}, Handler: a.getAvailability},
		{Method: "GET", Path: "/clinicians/{id}/slots", OperationID: "listSlots", Summary: "A clinician's free slots starting in [from, to) (at most 31 days), computed from their hours, less booked and past ones", Tag: "schedule",
			Query: append(clinician, window...), Response: slotsResponse{}, Handler: a.listSlots},
		{Method: "GET", Path: "/clinicians", OperationID: "listBookableClinicians", Summary: "The clinicians the caller can book: a patient, those caring for them (and, with open booking, those accepting new patients); staff, every clinician", Tag: "schedule",
			Response: []visits.Clinician{}, Handler: a.listClinicians},
		{Method: "POST", Path: "/appointments", OperationID: "bookAppointment", Summary: "Book a free slot: a patient for themselves (no patientId), the front desk for a patient (patientId), a clinician a follow-up in their own schedule; 409 if the slot was just taken", Tag: "schedule",
			Request: visits.Booking{}, Response: visits.Appointment{}, Status: http.StatusCreated, Handler: a.book},
		{Method: "GET", Path: "/appointments", OperationID: "listAppointments", Summary: "Appointments in [from, to) (at most a year): a patient's own, a clinician's schedule, the front desk's whole clinic", Tag: "schedule",
			Query: window, Response: []visits.Appointment{}, Handler: a.listAppointments},
		{Method: "PUT", Path: "/appointments/{id}", OperationID: "rescheduleAppointment", Summary: "Move an appointment to another free slot of the same clinician; 409 if it was just taken (the appointment keeps its time)", Tag: "schedule",
			Query: appointment, Request: rescheduleRequest{}, Response: visits.Appointment{}, Handler: a.reschedule},
		{Method: "DELETE", Path: "/appointments/{id}", OperationID: "cancelAppointment", Summary: "Cancel an appointment (a patient not in the last hours before it: then the clinic does); answers 200 {\"ok\":true}", Tag: "schedule",
			Query: appointment, Response: okResponse{}, Handler: a.cancel},
		{Method: "POST", Path: "/appointments/{id}/no-show", OperationID: "markNoShow", Summary: "Record that the patient did not come (clinician or front desk, once the appointment has started)", Tag: "schedule",
			Query: appointment, Response: okResponse{}, Handler: a.noShow},

		{Method: "GET", Path: "/patients/{id}/demographics", OperationID: "getPatientDemographics", Summary: "A patient's name, birth date, phone and e-mail, no clinical content: the front desk's view of any patient, a clinician's of one in their care", Tag: "clinical",
			Query: []Param{{Name: "id", In: "path", Required: true, Description: "patient identifier"}}, Response: clinical.Patient{}, Handler: a.demographics},
	}
}

// period reads the from and to query parameters; a missing one is left zero for the service to
// refuse in words, an unreadable one is a bad request.
func period(r *http.Request) (from, to time.Time, err error) {
	parse := func(name string) (time.Time, error) {
		v := r.URL.Query().Get(name)
		if v == "" {
			return time.Time{}, nil
		}
		// A "+" left unescaped in a query string arrives as a space.
		t, err := time.Parse(time.RFC3339, strings.ReplaceAll(v, " ", "+"))
		if err != nil {
			return time.Time{}, httpx.Errorf(http.StatusBadRequest, name+" must be a date and time with its offset, such as 2026-12-01T09:00:00+01:00 (RFC 3339)")
		}
		return t, nil
	}
	if from, err = parse("from"); err != nil {
		return
	}
	to, err = parse("to")
	return
}

func (a *API) setAvailability(w http.ResponseWriter, r *http.Request) error {
	var req visits.Availability
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Visits.SetAvailability(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, req.Canonical())
}

func (a *API) getAvailability(w http.ResponseWriter, r *http.Request) error {
	av, err := a.d.Visits.Availability(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, av)
}

func (a *API) listSlots(w http.ResponseWriter, r *http.Request) error {
	from, to, err := period(r)
	if err != nil {
		return err
	}
	slots, err := a.d.Visits.Slots(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), from, to, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	for i := range slots {
		slots[i].Start, slots[i].End = slots[i].Start.UTC(), slots[i].End.UTC()
	}
	return httpx.WriteJSON(w, http.StatusOK, slotsResponse{Slots: slots})
}

func (a *API) listClinicians(w http.ResponseWriter, r *http.Request) error {
	cs, err := a.d.Visits.Clinicians(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, cs)
}

func (a *API) book(w http.ResponseWriter, r *http.Request) error {
	var req visits.Booking
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	ap, err := a.d.Visits.Book(r.Context(), httpx.Session(r).Subject, req, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, ap)
}

func (a *API) listAppointments(w http.ResponseWriter, r *http.Request) error {
	from, to, err := period(r)
	if err != nil {
		return err
	}
	list, err := a.d.Visits.Appointments(r.Context(), httpx.Session(r).Subject, from, to, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, list)
}

func (a *API) reschedule(w http.ResponseWriter, r *http.Request) error {
	var req rescheduleRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	ap, err := a.d.Visits.Reschedule(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req.Start, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, ap)
}

func (a *API) cancel(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Visits.Cancel(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{OK: true})
}

func (a *API) noShow(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Visits.MarkNoShow(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{OK: true})
}

func (a *API) demographics(w http.ResponseWriter, r *http.Request) error {
	p, err := a.d.Records.Demographics(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, p)
}
