package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/server/servertest"
)

// The scheduling part of the authorization matrix: a clinician's hours, slots, appointments
// and the front desk's view of a patient, by every role, and the appointment relationship.

// matrixHours are the hours both matrix clinicians keep: every day, all day, 5-minute slots,
// so that a cell can book a slot of its own at any time, and one a few minutes away.
func matrixHours() map[string]any {
	var weekly []map[string]string
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		weekly = append(weekly, map[string]string{"day": d, "start": "00:00", "end": "24:00"})
	}
	return map[string]any{"timeZone": "Europe/Madrid", "slotMinutes": 5, "weekly": weekly}
}

// scheduleWorld adds what the scheduling cells need to the world: the front desk, both
// clinicians' hours, and three patients tied to the matrix clinician by a booking only.
func scheduleWorld(t *testing.T, w *matrixWorld, admin, dr, drB *servertest.Client) {
	desk, deskID := w.e.Staff(admin, "front.desk@haven.test", "frontdesk")
	w.clients["frontdesk"], w.account["frontdesk"] = desk, deskID
	dr.Must(200, "PUT", "/api/v1/clinicians/"+w.account["clinician"]+"/availability", matrixHours())
	desk.Must(200, "PUT", "/api/v1/clinicians/"+w.ids["drB"]+"/availability", matrixHours())
	w.next = w.e.Clock.Now().Truncate(24 * time.Hour).Add(2*24*time.Hour + 9*time.Hour)
	for rel, p := range map[string]servertest.PatientIn{
		relAppt:          {Name: "Abe Appointment", BirthDate: "1970-01-10", Phone: "+1 555 0101 011", Email: "abe.appointment@example.test"},
		relApptCancelled: {Name: "Cass Cancelled", BirthDate: "1971-02-11", Phone: "+1 555 0101 012", Email: "cass.cancelled@example.test"},
		relApptEnded:     {Name: "Eli Ended", BirthDate: "1972-03-12", Phone: "+1 555 0101 013", Email: "eli.ended@example.test"},
	} {
		id := drB.Must(201, "POST", "/api/v1/patients", map[string]string{"name": p.Name, "birthDate": p.BirthDate, "phone": p.Phone, "email": p.Email})["patientId"].(string)
		w.patient[rel], w.email[rel] = id, p.Email
		// The front desk books the matrix clinician for them: their only tie to each other.
		w.appt[rel] = w.book(t, w.account["clinician"], id, w.slot())
	}
}

// slot is a start of its own, days ahead, on the matrix clinicians' 5-minute grid.
func (w *matrixWorld) slot() string {
	w.next = w.next.Add(5 * time.Minute)
	return w.next.UTC().Format(time.RFC3339)
}

// soon is a start on the grid of its own, a few minutes from now (well inside the cut-off).
func (w *matrixWorld) soon() time.Time {
	at := w.e.Clock.Now().Add(time.Minute).Truncate(5 * time.Minute).Add(5 * time.Minute)
	if !at.After(w.lastSoon) {
		at = w.lastSoon.Add(5 * time.Minute)
	}
	w.lastSoon = at
	return at
}

// book has the front desk book the clinician for the patient at start; it returns the
// appointment's identifier.
func (w *matrixWorld) book(t *testing.T, clinicianID, patientID, start string) string {
	code, m, raw := w.clients["frontdesk"].Do("POST", "/api/v1/appointments", map[string]string{"clinicianId": clinicianID, "patientId": patientID, "start": start})
	if code != http.StatusCreated {
		t.Fatalf("the front desk books %s = %d %s", start, code, raw)
	}
	return m["appointmentId"].(string)
}

// cancelTheAppointment has the front desk cancel the booking that ties the clinician to the
// appointment-cancelled patient: the cell's request is the very next one.
func cancelTheAppointment(t *testing.T, w *matrixWorld) {
	if id := w.appt[relApptCancelled]; id != "" {
		w.clients["frontdesk"].Must(200, "DELETE", "/api/v1/appointments/"+id, nil)
		w.appt[relApptCancelled] = ""
	}
}

// endTheCareWindow moves the clock past the appointment-ended patient's visit and the care days
// after it (every session ends on the way), and signs everyone in again.
func endTheCareWindow(t *testing.T, w *matrixWorld) {
	w.e.Clock.Advance(33 * 24 * time.Hour) // the default 30 care days after a visit two days ahead
	for _, role := range []string{"patient", "clinician", "frontdesk", "auditor", "admin"} {
		w.clients[role].Login()
	}
}

// appointmentFor books, just before the cell, a fresh appointment of the relation's patient
// (with the other clinician for a patient outside the matrix clinician's care, so that the
// booking gives the matrix clinician no relationship): started already if started is set,
// else soon if soon is set, else days ahead.
func appointmentFor(started, soon bool) func(t *testing.T, w *matrixWorld, rel string) {
	return func(t *testing.T, w *matrixWorld, rel string) {
		clinician := w.account["clinician"]
		if rel == relOutside || rel == relAnother {
			clinician = w.ids["drB"]
		}
		start := w.slot()
		if started || soon {
			at := w.soon()
			start = at.UTC().Format(time.RFC3339)
			defer func() {
				if started {
					w.e.Clock.Advance(at.Sub(w.e.Clock.Now()) + time.Second)
				}
			}()
		}
		w.appt["cell"] = w.book(t, clinician, w.patient[rel], start)
	}
}

// scheduleCells are the scheduling actions by every role.
func scheduleCells(onPatient, everyone []roleRel) []cell {
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
	theClinician := func(w *matrixWorld) string { return w.account["clinician"] }

	add(access.SetAvailability, "PUT", "/clinicians/{id}/availability",
		[]roleRel{{"patient", relNone}, {"clinician", relOwnSchedule}, {"clinician", relColleagueSchedule}, {"frontdesk", relNone}, {"auditor", relNone}, {"admin", relNone}},
		func(c *cell) {
			c.arg = theClinician
			if c.relation == relColleagueSchedule {
				c.arg = func(w *matrixWorld) string { return w.ids["drB"] }
			}
			c.body = func(*matrixWorld) any { return matrixHours() }
		})
	add(access.ReadSlots, "GET", "/clinicians/{id}/slots", everyone, func(c *cell) {
		c.variant, c.arg = "slots", theClinician
		c.query = func(w *matrixWorld) string {
			from := w.e.Clock.Now().Add(24 * time.Hour).Truncate(time.Hour)
			return url.Values{"from": {from.Format(time.RFC3339)}, "to": {from.Add(24 * time.Hour).Format(time.RFC3339)}}.Encode()
		}
	})
	add(access.ReadSlots, "GET", "/clinicians/{id}/availability", everyone, func(c *cell) { c.variant, c.arg = "hours", theClinician })
	add(access.ReadSlots, "GET", "/clinicians", everyone, func(c *cell) { c.variant = "clinicians" })

	// Booking: a patient for themselves (a clinician caring for them, or one who is not), a
	// clinician a follow-up for a patient in their care, the front desk for anyone.
	book := func(clinician func(*matrixWorld) string, forPatient bool) func(*cell) {
		return func(c *cell) {
			c.patient = namesPatient
			rel := c.relation
			c.body = func(w *matrixWorld) any {
				b := map[string]string{"clinicianId": clinician(w), "start": w.slot()}
				if forPatient {
					b["patientId"] = w.patient[rel]
				}
				return b
			}
		}
	}
	add(access.BookAppointment, "POST", "/appointments", []roleRel{{"patient", relSelf}}, book(theClinician, false))
	add(access.BookAppointment, "POST", "/appointments", []roleRel{{"patient", relSelf}}, func(c *cell) {
		book(func(w *matrixWorld) string { return w.ids["drB"] }, false)(c)
		c.variant = "clinician-not-caring"
	})
	add(access.BookAppointment, "POST", "/appointments", []roleRel{{"patient", relAnother},
		{"clinician", relOwn}, {"clinician", relAppt}, {"clinician", relOutside}}, book(theClinician, true))
	add(access.BookAppointment, "POST", "/appointments", []roleRel{{"frontdesk", relNone}}, book(func(w *matrixWorld) string { return w.ids["drB"] }, true))
	add(access.BookAppointment, "POST", "/appointments", []roleRel{{"auditor", relNone}, {"admin", relNone}}, book(theClinician, true))

	// Acts on an appointment booked just before the cell.
	onAppointment := []roleRel{{"patient", relSelf}, {"patient", relAnother},
		{"clinician", relOwn}, {"clinician", relAppt}, {"clinician", relOutside},
		{"frontdesk", relNone}, {"auditor", relNone}, {"admin", relNone}}
	fresh := func(started, soon bool) func(*cell) {
		return func(c *cell) {
			c.patient = namesPatient
			rel, prepare := c.relation, appointmentFor(started, soon)
			c.prepare = func(t *testing.T, w *matrixWorld) { prepare(t, w, rel) }
			c.arg = func(w *matrixWorld) string { return w.appt["cell"] }
		}
	}
	add(access.RescheduleAppointment, "PUT", "/appointments/{id}", onAppointment, func(c *cell) {
		fresh(false, false)(c)
		c.body = func(w *matrixWorld) any { return map[string]string{"start": w.slot()} }
	})
	add(access.CancelAppointment, "DELETE", "/appointments/{id}", onAppointment, fresh(false, false))
	add(access.CancelAppointment, "DELETE", "/appointments/{id}", []roleRel{{"patient", relSelf}}, func(c *cell) {
		fresh(false, true)(c)
		c.variant = "inside-cut-off"
	})
	add(access.MarkNoShow, "POST", "/appointments/{id}/no-show", onAppointment, fresh(true, false))

	// Lists: a patient's own, a clinician's schedule (the patients still in their care), the
	// front desk's clinic; an entry for each patient shown.
	add(access.ListAppointments, "GET", "/appointments", []roleRel{{"patient", relSelf},
		{"clinician", relOwn}, {"clinician", relAppt}, {"clinician", relApptCancelled}, {"clinician", relOutside},
		{"frontdesk", relNone}, {"auditor", relNone}, {"admin", relNone}}, func(c *cell) {
		c.patient = namesPatientOrNoOne
		c.query = func(w *matrixWorld) string {
			from := w.e.Clock.Now().Truncate(24 * time.Hour)
			return url.Values{"from": {from.Format(time.RFC3339)}, "to": {from.Add(90 * 24 * time.Hour).Format(time.RFC3339)}}.Encode()
		}
		cancelFirst(c)
	})

	// The front desk's view of a patient: names and contact details, no notes.
	add(access.ReadDemographics, "GET", "/patients/{id}/demographics", onPatient, func(c *cell) { c.patient = namesPatient })
	add(access.ReadDemographics, "GET", "/patients/{id}/demographics", []roleRel{{"clinician", relAppt}, {"clinician", relApptCancelled}},
		func(c *cell) { c.patient = namesPatient })
	return cs
}

// cancelFirst gives the first cell on the appointment-cancelled patient the cancellation.
func cancelFirst(c *cell) {
	if c.relation == relApptCancelled {
		c.prepare = cancelTheAppointment
	}
}
