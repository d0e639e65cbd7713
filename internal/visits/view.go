package visits

import (
	"context"
	"fmt"

	"haven/internal/access"
	"haven/internal/keys"
)

// Clinician statuses, as a waiting patient's page shows them.
const (
	StatusInThisVisit   = "in-this-visit"
	StatusWithAnother   = "with-another-patient"
	StatusOnline        = "online"         // the clinician's waiting room is open (a live subscription)
	StatusNotYetOnline  = "not-yet-online" // no page of theirs follows the waiting room
	clinicianTopicStart = "clinician:"
)

func visitTopic(id string) string     { return "visit:" + id }
func clinicianTopic(id string) string { return clinicianTopicStart + id }
func (s *Service) publish(r visitRow, kind string) {
	s.hub.Publish(Event{Kind: kind, AppointmentID: r.id}, visitTopic(r.id), clinicianTopic(r.clinicianID), topicFrontDesk)
}

const (
	topicFrontDesk = "frontdesk"
	topicQueue     = "queue"
)

const (
	countAhead = `SELECT COUNT(*) FROM appointments WHERE clinician_id = $1 AND state = 'waiting'
		AND (start_at < $2 OR (start_at = $2 AND checked_in_at < $3) OR (start_at = $2 AND checked_in_at = $3 AND id < $4))`
	countBusy = `SELECT COUNT(*) FROM appointments WHERE clinician_id = $1 AND state = 'in-progress' AND id <> $2`
)

// view is the visit's page for by, built inside an act the door allowed on it. The patient's
// name is opened for the page (the act's entry names the patient), guests' names under the
// patient's key; the summary is read through the record's own guarded path, for the patient
// and the clinician only; the receipt is the patient's. A guest is shown the state, times and
// who takes part, nothing more.
func (s *Service) view(ctx context.Context, by access.Subject, r visitRow, o Origin) (Visit, error) {
	v := Visit{
		Appointment: Appointment{ID: r.id, ClinicianID: r.clinicianID, PatientID: r.patientID, Kind: r.kind, State: r.state,
			Start: r.start, End: r.end},
		Opens:         r.start.Add(-s.cfg.OpensBefore),
		IntakeDone:    r.intake,
		GuestsAllowed: !r.guestsAllowed.IsZero(),
		CheckedInAt:   r.checkedIn,
		AdmittedAt:    r.admitted,
		EndedAt:       r.ended,
		FollowUpID:    r.followUpID,
	}
	if r.kind == KindOnDemand {
		v.Opens = r.start
	}
	staff, err := s.people.DisplayNames(ctx, []string{r.clinicianID})
	if err != nil {
		return Visit{}, fmt.Errorf("visits: clinician name: %w", err)
	}
	v.ClinicianName = staff[r.clinicianID]
	patients, err := s.records.OpenNames(ctx, []string{r.patientID})
	if err != nil {
		return Visit{}, fmt.Errorf("visits: patient name: %w", err)
	}
	v.PatientName = patients[r.patientID]
	guests, err := s.guestsOf(ctx, r)
	if err != nil {
		return Visit{}, err
	}
	v.Participants = append(v.Participants, Participant{Role: "patient", Name: v.PatientName}, Participant{Role: "clinician", Name: v.ClinicianName})
	for _, g := range guests {
		v.Participants = append(v.Participants, Participant{Role: "guest", Name: g.name, Relation: g.relation})
	}
	if v.ConsentCurrent, err = s.consentCurrent(ctx, r.patientID); err != nil {
		return Visit{}, err
	}
	if r.state == StateWaiting {
		var ahead int
		if err := s.db.QueryRowContext(ctx, countAhead, r.clinicianID, r.start.UnixNano(), r.checkedIn.UnixNano(), r.id).Scan(&ahead); err != nil {
			return Visit{}, fmt.Errorf("visits: place in line: %w", err)
		}
		v.Place = ahead + 1
	}
	if v.ClinicianStatus, err = s.clinicianStatus(ctx, r); err != nil {
		return Visit{}, err
	}
	if by.Role == access.Guest {
		// A guest sees the visit's state, times and who takes part: nothing of the patient's
		// record or of what they agreed to.
		v.ConsentCurrent, v.IntakeDone, v.GuestsAllowed, v.FollowUpID = false, false, false, ""
		return v, nil
	}
	if r.state == StateEnded {
		if r.summaryNoteID != "" && (by.Role == access.Patient || by.Role == access.Clinician) {
			n, err := s.records.Note(ctx, by, r.patientID, r.summaryNoteID, o)
			if err != nil {
				return Visit{}, err
			}
			v.Summary = n.Body
		}
		if by.Role == access.Patient {
			v.Receipt = receipt(r, len(guests))
		}
	}
	return v, nil
}

// clinicianStatus is what a waiting patient is told of their clinician.
func (s *Service) clinicianStatus(ctx context.Context, r visitRow) (string, error) {
	switch r.state {
	case StateInProgress:
		return StatusInThisVisit, nil
	case StateBooked, StateWaiting:
	default:
		return "", nil
	}
	var busy int
	if err := s.db.QueryRowContext(ctx, countBusy, r.clinicianID, r.id).Scan(&busy); err != nil {
		return "", fmt.Errorf("visits: clinician status: %w", err)
	}
	switch {
	case busy > 0:
		return StatusWithAnother, nil
	case s.hub.Subscribers(clinicianTopic(r.clinicianID)) > 0:
		return StatusOnline, nil
	}
	return StatusNotYetOnline, nil
}

// receipt says, in the patient's words, what Haven keeps about an ended visit and what it does
// not. Each line is a promise docs/security.md holds Haven to.
func receipt(r visitRow, guests int) []string {
	out := []string{
		"Haven did not record the video or the sound of this visit, and keeps no copy of them.",
		"Haven keeps the times of this visit: when it was booked, when you checked in, when it started and when it ended.",
	}
	if guests > 0 {
		out = append(out, "Haven keeps who took part: you, your clinician, and the guests you agreed to, with their names and how they relate to you.",
			"The guest links for this visit stopped working when it ended.")
	} else {
		out = append(out, "Haven keeps who took part: you and your clinician.")
	}
	if r.intake {
		out = append(out, "Haven keeps your answers to the questions before the visit, encrypted with a key that is yours alone.")
	}
	if r.summaryNoteID != "" {
		out = append(out, "Haven keeps the summary your clinician wrote, in your record, encrypted with a key that is yours alone.")
	}
	if r.consentVersion != "" {
		out = append(out, "Haven keeps which version of the video visit consent you had accepted, and when.")
	}
	return append(out, "Every time someone opened this visit or your record is written in your access log, which you can read.")
}

// intakeLocation is where a visit's intake answers are sealed.
func intakeLocation(id string) keys.Location {
	return keys.Location{Table: "appointments", Row: id, Field: "intake"}
}
