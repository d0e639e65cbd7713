package web

import (
	"time"

	"haven/internal/clinical"
	"haven/internal/principal"
	"haven/internal/visits"
)

// visitFixtures is realistic data for the scheduling and visit pages: every state of a visit as
// each role sees it, the booking flow's steps, the clinician's calendar and waiting room, the
// front desk's day.
func visitFixtures(when time.Time, patient clinical.Patient) map[string][]page {
	slot := func(h, m int) visits.Slot {
		s := time.Date(2026, 11, 25, h, m, 0, 0, time.UTC)
		return visits.Slot{Start: s, End: s.Add(20 * time.Minute)}
	}
	appt := func(id, state string, start time.Time) visits.Appointment {
		return visits.Appointment{ID: id, ClinicianID: "acct-clinician", ClinicianName: "Carl Clinician", PatientID: "pat-1",
			PatientName: "Ada Canary", Kind: visits.KindScheduled, State: state, Start: start, End: start.Add(20 * time.Minute)}
	}
	states := []string{visits.StateBooked, visits.StateWaiting, visits.StateInProgress, visits.StateEnded, visits.StateCancelled, visits.StateNoShow}
	var list []visits.Appointment
	for i, st := range states {
		list = append(list, appt("appt-"+st, st, when.Add(time.Duration(i)*time.Hour)))
	}
	intake := visits.Intake{Reason: "Cough for two weeks", Symptoms: "Dry cough, worse at night", Medications: "None", Questions: "Is it contagious?"}
	people := []visits.Participant{{Role: "patient", Name: "Ada Canary"}, {Role: "clinician", Name: "Carl Clinician"},
		{Role: "guest", Name: "Iris Interpreter", Relation: "interpreter"}, {Role: "guest", Name: "Bo Canary", Relation: "family"}}
	receipt := []string{"The time of the visit, who took part and when each joined.", "Your answers before the visit and the summary, sealed in your record.", "No recording of the video: Haven never records it."}
	var patientVisits, clinicianVisits, guestVisits []page
	for i, st := range states {
		for _, consent := range []bool{false, true} {
			v := visits.Visit{Appointment: appt("appt-"+st, st, when), Opens: when.Add(-15 * time.Minute), Place: i % 3, ClinicianStatus: []string{"with-another-patient", "online", "not-yet-online", "in-this-visit"}[i%4],
				Participants: people, ConsentCurrent: consent, IntakeDone: consent, GuestsAllowed: consent, CheckedInAt: when, AdmittedAt: when, EndedAt: when,
				Summary: "Rest, fluids; come back if it lasts another week.", FollowUpID: "appt-2", Receipt: receipt}
			d := visitData{Visit: v, Open: consent, Intake: intake, FollowUps: []dayChoice{{Key: "2026-11-25", At: when, Slots: []visits.Slot{slot(10, 0), slot(10, 20)}}},
				Summary: "draft", Guest: &visits.GuestLink{GuestID: "g1", URL: "https://haven.test/visit/guest/tok", ExpiresAt: when.Add(time.Hour)},
				Consult: visitConsult(principal.Subject{AccountID: "acct-clinician", Role: principal.Clinician}, v)}
			patientVisits = append(patientVisits, page{Title: visitTitle(v, "patient"), Data: d, Live: &liveView{Events: "/api/v1/visits/x/events", State: st}})
			clinicianVisits = append(clinicianVisits, page{Title: visitTitle(v, "clinician"), Data: d, ErrorField: "summary", Error: "Summary: write a summary."})
			guestVisits = append(guestVisits, page{Title: visitTitle(v, "guest"), Data: d})
		}
	}
	views := make([]apptView, len(list))
	for i, a := range list {
		views[i] = apptView{Appointment: a, CanChange: i%2 == 0}
	}
	flowP := bookFlow{Base: "/patient/book", Confirm: "/patient/book/confirm", Cancel: "/patient/appointments"}
	flowF := bookFlow{Base: "/frontdesk/book", Confirm: "/frontdesk/book/confirm", Cancel: "/frontdesk", Carry: []formField{{"patient", "pat-1"}}}
	clin := []visits.Clinician{{ID: "acct-clinician", Name: "Carl Clinician", InCare: true}, {ID: "acct-2", Name: "Dr Grace Hopper"}}
	days := []dayChoice{{Key: "2026-11-25", At: when, Slots: []visits.Slot{slot(10, 0), slot(10, 20)}}, {Key: "2026-11-26", At: when.Add(24 * time.Hour), Slots: []visits.Slot{slot(11, 0)}}}
	moving := list[0]
	waiting := []visits.Waiting{{AppointmentID: "appt-1", PatientID: "pat-1", PatientName: "Ada Canary", ClinicianID: "acct-clinician", Start: when, Since: when, State: visits.StateWaiting, Intake: &intake},
		{AppointmentID: "appt-2", PatientID: "pat-2", PatientName: "Bo Canary", Start: when, Since: when, State: visits.StateInProgress},
		{AppointmentID: "appt-3", PatientID: "pat-3", PatientName: "Cy Canary", Since: when, State: visits.StateWaiting}}
	calDays := []calendarDay{{Key: "2026-11-24", At: when, Today: true, Appointments: list}, {Key: "2026-11-25", At: when.Add(24 * time.Hour)}}
	avail := visits.Availability{TimeZone: "Europe/Madrid", SlotMinutes: 20, BufferMinutes: 5, AcceptsNewPatients: true,
		Weekly:     []visits.Hours{{Day: "mon", Start: "09:00", End: "13:00"}, {Day: "mon", Start: "15:00", End: "18:00"}, {Day: "wed", Start: "09:00", End: "13:00"}},
		Exceptions: []visits.Exception{{Kind: visits.ExceptionOff, Date: "2026-12-24", Until: "2026-12-26"}, {Kind: visits.ExceptionExtra, Date: "2026-12-05", Start: "10:00", End: "12:00"}}}
	own := availabilityForm(avail, "Europe/Madrid")
	own.Own, own.Action, own.Back, own.Saved = true, "/clinician/availability", "/clinician/schedule", true
	desk := availabilityForm(visits.Availability{}, "Europe/Madrid")
	desk.ClinicianName, desk.Action, desk.Back = "Carl Clinician", "/frontdesk/clinicians/acct-clinician/availability", "/frontdesk/clinicians"
	consent := visits.Consent{Version: "2026-11", Text: "A video visit is a consultation over video.\n\nNothing is recorded.", SHA256: "abc"}
	accepted := visits.ConsentStatus{Accepted: true, Version: "2026-11", SHA256: "abc", AcceptedAt: when, Current: true, Text: consent.Text}
	old := visits.ConsentStatus{Accepted: true, Version: "2026-01", AcceptedAt: when, Text: "An older text."}
	fd := frontDeskData{Date: "2026-11-24", Today: "2026-11-24", Prev: "2026-11-23", Next: "2026-11-25", At: when, Now: when.Add(3 * time.Hour),
		Columns: []clinicianDay{{ClinicianID: "acct-clinician", Name: "Carl Clinician", Appointments: list}, {ClinicianID: "acct-2", Name: "Dr Grace Hopper"}},
		Waiting: []visits.Waiting{{AppointmentID: "appt-1", PatientName: "Ada Canary", Start: when, Since: when, State: visits.StateWaiting}},
		Search:  &searchData{Query: "ada", Results: []clinical.Patient{patient}}, Done: frontDeskNotices["booked"]}
	return map[string][]page{
		"appointments": {{Title: "Appointments", Data: appointmentsData{Upcoming: views[:3], Past: views[3:], Consent: old, Cutoff: 2 * time.Hour, Opens: 15 * time.Minute, Done: appointmentNotices["booked"]}},
			{Title: "Appointments", Data: appointmentsData{Consent: accepted, Cutoff: 2 * time.Hour, Opens: 15 * time.Minute}},
			{Title: "Appointments", Data: appointmentsData{Cutoff: time.Hour}}},
		"book": {{Title: "Book an appointment", Data: bookData{Flow: flowP, Clinicians: clin}},
			{Title: "Book an appointment", Data: bookData{Flow: flowP}},
			{Title: "Book an appointment", Data: bookData{Flow: flowP, Clinicians: clin, Clinician: &clin[0], Days: days, Day: &days[0], From: when, Earlier: "2026-11-10", Later: "2026-12-08"}},
			{Title: "Move your appointment", Data: bookData{Flow: flowP, Move: &moving, Clinicians: clin, Clinician: &clin[0], Day: &dayChoice{Key: "2026-11-27", At: when}, From: when}},
			{Title: "Book an appointment for a patient", Data: bookData{For: "Ada Canary", ForBorn: "1980-02-29", Flow: flowF, Clinicians: clin, Clinician: &clin[1], Days: days, Day: &days[1], From: when}, Error: "This time has just been booked by someone else; choose another time."}},
		"bookconfirm": {{Title: "Check and confirm", Data: bookData{Flow: flowP, Clinician: &clin[0], Start: slot(10, 0).Start, End: slot(10, 0).End, Action: "/patient/appointments", Cutoff: 2 * time.Hour}},
			{Title: "Check and confirm", Data: bookData{Flow: flowP, Move: &moving, Clinician: &clin[0], Start: slot(10, 0).Start, End: slot(10, 0).End, Action: "/patient/appointments/x/reschedule"}},
			{Title: "Check and confirm", Data: bookData{For: "Ada Canary", Flow: flowF, Clinician: &clin[1], Start: slot(10, 0).Start, End: slot(10, 0).End, Action: "/frontdesk/appointments"}}},
		"cancel": {{Title: "Cancel this appointment?", Data: cancelData{Appointment: list[0], Cutoff: 2 * time.Hour, Action: "/patient/appointments/x/cancel", Back: "/patient/appointments"}},
			{Title: "Cancel this appointment?", Data: cancelData{Appointment: list[0], Cutoff: 2 * time.Hour, TooLate: true, Back: "/patient/appointments"}},
			{Title: "Mark this appointment as missed?", Data: cancelData{Appointment: list[0], NoShow: true, Action: "/frontdesk/appointments/x/no-show", Back: "/frontdesk"}}},
		"consent": {{Title: "Consent to video visits", Data: consentData{Current: consent, Status: visits.ConsentStatus{}}},
			{Title: "Consent to video visits", Data: consentData{Current: consent, Status: accepted, Next: "/visits/x", Done: true}},
			{Title: "Consent to video visits", Data: consentData{Current: consent, Status: old, Next: "/visits/x"}}},
		"queue": {{Title: "See the next available clinician", Data: patientQueueData{}, Live: &liveView{State: "out", Poll: 10}},
			{Title: "See the next available clinician", Data: patientQueueData{In: true, Place: visits.QueuePlace{QueueID: "q", Place: 2, Since: when}}},
			{Title: "See the next available clinician", Data: patientQueueData{Place: visits.QueuePlace{QueueID: "q", AppointmentID: "appt-1"}, Notice: "You have left the queue."}}},
		"clinicianqueue": {{Title: "On-demand queue", Data: clinicianQueueData{Queue: waiting}}, {Title: "On-demand queue", Data: clinicianQueueData{}}},
		"schedule": {{Title: "Schedule", Data: scheduleData{Days: calDays[:1], Waiting: waiting, Queue: 2, Prev: "2026-11-23", Next: "2026-11-25", Today: "2026-11-24", Date: "2026-11-24", NowShown: when}},
			{Title: "Schedule", Data: scheduleData{Week: true, Days: calDays, Date: "2026-11-23", NowShown: when}, Live: &liveView{Events: "/api/v1/waiting-room/events"}}},
		"availability":   {{Title: "My hours", Data: own}, {Title: "Hours of Carl Clinician", Data: desk, Error: "Weekly hours: Monday: give both the start and the end.", ErrorField: "weekly"}},
		"visit":          patientVisits,
		"clinicianvisit": clinicianVisits,
		"guestvisit":     guestVisits,
		"guestjoin":      {{Title: "Join a video visit", Data: guestLinkData{Token: "tok"}}},
		"frontdesk":      {{Title: "Clinic day", Data: fd}, {Title: "Clinic day", Data: frontDeskData{Date: "2026-11-25", Today: "2026-11-24", At: when, Search: &searchData{Query: "nobody"}}}},
		"clinicians":     {{Title: "Clinicians' hours", Data: cliniciansData{Clinicians: clin}}, {Title: "Clinicians' hours", Data: cliniciansData{}}},
	}
}
