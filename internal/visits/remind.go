package visits

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/mail"
)

// Reminders. A patient is e-mailed a day before an appointment and an hour before it, each
// once. A reminder says that there is an appointment, when (in words, in the clinician's time
// zone) and where to sign in to see it; the attached .ics says the same to a calendar. It never
// names the clinician, their specialty, the reason or the patient: an e-mail is read on lock
// screens and shared devices and kept by mail providers, and a psychiatrist's name in an inbox
// is itself a disclosure.

// Kinds of reminder (appointment_reminders.kind) and the windows they are due in: the day
// reminder from 24 hours to 1 hour before the start, the hour reminder in the last hour.
const (
	ReminderDay  = "day"
	ReminderHour = "hour"
)

// Audit words of reminders.
const (
	// EventReminder is recorded for each reminder sent, or that failed, by Haven itself.
	EventReminder = "appointment.reminder"
	// ReasonReminder is Haven's occasion for reading a patient's e-mail address
	// (patient.contact-read) to send a reminder.
	ReasonReminder = "appointment-reminder"
)

// ReminderSubject is every reminder's subject line.
const ReminderSubject = "Appointment reminder"

// AppointmentsPath is the page a reminder links to: the patient's appointments, after signing in.
const AppointmentsPath = "/appointments"

const (
	// selectDueReminders takes at most 500 at a time: a pass stays short, and what is left is
	// still due at the next.
	selectDueReminders = `SELECT a.id, a.clinician_id, a.patient_id, a.start_at, a.end_at FROM appointments a
		WHERE a.state IN ('booked', 'waiting') AND a.start_at > $1 AND a.start_at <= $2
		AND NOT EXISTS (SELECT 1 FROM appointment_reminders r WHERE r.appointment_id = a.id AND r.kind = $3 AND r.start_at = a.start_at)
		ORDER BY a.start_at LIMIT 500`
	// claimReminder claims one reminder for one start. It changes a row, and so claims, only if
	// no claim for this start exists: a new row, or a claim for an earlier start (the
	// appointment has moved since). Two Havens running the same pass cannot both claim it: the
	// primary key and the conflict clause decide, in the database.
	claimReminder = `INSERT INTO appointment_reminders (appointment_id, kind, sent_at, start_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (appointment_id, kind) DO UPDATE SET sent_at = excluded.sent_at, start_at = excluded.start_at
		WHERE appointment_reminders.start_at <> excluded.start_at`
	releaseReminder   = `DELETE FROM appointment_reminders WHERE appointment_id = $1 AND kind = $2 AND start_at = $3 AND sent_at = $4`
	selectClinicianTZ = `SELECT spec FROM availability WHERE clinician_id = $1`
)

// reminderOrigin is the origin of the audit entries a reminder pass writes.
var reminderOrigin = Origin{RequestID: "appointment-reminders"}

// dueReminder is an appointment whose reminder of one kind is due.
type dueReminder struct {
	id, clinicianID, patientID string
	kind                       string
	start, end                 time.Time
}

// SendReminders sends the reminders now due (a day and an hour before), each once, and returns
// how many it sent. Each is claimed in the database before it is sent, so that Havens running
// side by side (or a pass that overlaps the next) never send one twice; a send that fails gives
// its claim back, so a later pass tries again. A Haven that stops between claiming and sending
// leaves that one reminder unsent: a missed reminder is preferred to a repeated one. Patients
// with no e-mail address are skipped. Without e-mail configured it does nothing.
//
// Errors name appointments by identifier only; one reminder's failure does not stop the others.
func (s *Service) SendReminders(ctx context.Context) (int, error) {
	if s.mail == nil {
		return 0, nil
	}
	now := s.now()
	var due []dueReminder
	var errs []error
	// The hour reminders first: they are the more urgent.
	for _, w := range []struct {
		kind     string
		from, to time.Duration
	}{{ReminderHour, 0, time.Hour}, {ReminderDay, time.Hour, 24 * time.Hour}} {
		ds, err := s.dueReminders(ctx, w.kind, now.Add(w.from), now.Add(w.to))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		due = append(due, ds...)
	}
	zones := map[string]*time.Location{}
	sent := 0
	for _, d := range due {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		ok, err := s.remind(ctx, d, now, zones)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			sent++
		}
	}
	return sent, errors.Join(errs...)
}

// dueReminders lists the live appointments starting in (from, to] whose reminder of kind has
// not been claimed for their current start.
func (s *Service) dueReminders(ctx context.Context, kind string, from, to time.Time) ([]dueReminder, error) {
	rows, err := s.db.QueryPrepared(ctx, selectDueReminders, from.UnixNano(), to.UnixNano(), kind)
	if err != nil {
		return nil, fmt.Errorf("visits: due reminders: %w", err)
	}
	defer rows.Close()
	var out []dueReminder
	for rows.Next() {
		d := dueReminder{kind: kind}
		var start, end int64
		if err := rows.Scan(&d.id, &d.clinicianID, &d.patientID, &start, &end); err != nil {
			return nil, fmt.Errorf("visits: due reminders: %w", err)
		}
		d.start, d.end = time.Unix(0, start).UTC(), time.Unix(0, end).UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("visits: due reminders: %w", err)
	}
	return out, nil
}

// remind claims, addresses, sends and records one reminder. It reports whether it sent it.
func (s *Service) remind(ctx context.Context, d dueReminder, now time.Time, zones map[string]*time.Location) (bool, error) {
	claimed, err := s.claimReminder(ctx, d, now)
	if err != nil || !claimed {
		return false, err // not claimed: another pass has it
	}
	// From here the claim is ours: given back if the reminder does not go out, so that a later
	// pass retries; kept once it is sent, or when there is no one to send it to.
	release := func() error {
		_, err := s.db.ExecPrepared(context.WithoutCancel(ctx), releaseReminder, d.id, d.kind, d.start.UnixNano(), now.UnixNano())
		if err != nil {
			return fmt.Errorf("visits: reminder for appointment %s: give back the claim: %w", d.id, err)
		}
		return nil
	}
	// Haven reads the address as itself, audited in the patient's own log.
	to, err := s.records.ContactEmail(ctx, d.patientID, ReasonReminder, reminderOrigin)
	if err != nil {
		return false, errors.Join(fmt.Errorf("visits: reminder for appointment %s: read the address: %w", d.id, err), release())
	}
	if to == "" {
		return false, nil // no address on the record: no one to remind; the claim stays
	}
	loc, err := s.clinicianZone(ctx, d.clinicianID, zones)
	if err != nil {
		return false, errors.Join(fmt.Errorf("visits: reminder for appointment %s: %w", d.id, err), release())
	}
	link := s.cfg.BaseURL + AppointmentsPath
	msg := mail.Message{
		To:      []string{to},
		Subject: ReminderSubject,
		Body:    reminderBody(d.start, loc, link),
		Attachments: []mail.Attachment{{
			Name:        "appointment.ics",
			ContentType: "text/calendar; charset=utf-8; method=PUBLISH",
			Data:        reminderICS(icsEvent{ID: d.id, Start: d.start, End: d.end, Summary: reminderSummary}, hostOf(s.cfg.BaseURL), link, now),
		}},
	}
	ev := guard.Event{By: access.SystemSubject(), Action: EventReminder, Outcome: audit.Success,
		Resource: access.Resource{Type: "Appointment", ID: d.id, PatientID: d.patientID},
		Reason:   access.ReasonSystem + " " + d.kind + "-before", Origin: reminderOrigin}
	if sendErr := s.mail.Send(ctx, msg); sendErr != nil {
		// The server's words may quote the address: only its status codes go on.
		ev.Outcome = audit.Failure
		return false, errors.Join(fmt.Errorf("visits: reminder for appointment %s: %w", d.id, mail.Redacted(sendErr)),
			release(), s.door.Record(context.WithoutCancel(ctx), ev))
	}
	// Sent: recorded even if the pass is being stopped.
	if err := s.door.Record(context.WithoutCancel(ctx), ev); err != nil {
		return true, fmt.Errorf("visits: reminder for appointment %s sent but not recorded: %w", d.id, err)
	}
	return true, nil
}

// claimReminder claims d for its start; false means the reminder is claimed already.
func (s *Service) claimReminder(ctx context.Context, d dueReminder, now time.Time) (bool, error) {
	res, err := s.db.ExecPrepared(ctx, claimReminder, d.id, d.kind, now.UnixNano(), d.start.UnixNano())
	if err != nil {
		return false, fmt.Errorf("visits: claim reminder for appointment %s: %w", d.id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("visits: claim reminder for appointment %s: %w", d.id, err)
	}
	return n == 1, nil
}

// clinicianZone is the time zone of the clinician's hours, or the clinic's when they have set
// none (or one Haven cannot load).
func (s *Service) clinicianZone(ctx context.Context, clinicianID string, cache map[string]*time.Location) (*time.Location, error) {
	if loc, ok := cache[clinicianID]; ok {
		return loc, nil
	}
	loc := s.cfg.Zone
	if loc == nil {
		loc = time.UTC
	}
	var spec string
	err := s.db.QueryRowPrepared(ctx, selectClinicianTZ, clinicianID).Scan(&spec)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("visits: clinician's time zone: %w", err)
	default:
		var a struct {
			TimeZone string `json:"timeZone"`
		}
		if json.Unmarshal([]byte(spec), &a) == nil && a.TimeZone != "" {
			if l, err := time.LoadLocation(a.TimeZone); err == nil {
				loc = l
			}
		}
	}
	cache[clinicianID] = loc
	return loc, nil
}

// reminderBody is a reminder's text: the time, in words and in the clinician's zone, and the
// link. Nothing else, on purpose; the last paragraph says why, so a patient does not wonder.
func reminderBody(start time.Time, loc *time.Location, link string) string {
	return "You have an appointment on " + HumanTime(start, loc) + ".\n\n" +
		"To see it, check in or change it, sign in to Haven:\n" + link + "\n\n" +
		"For your privacy, this e-mail does not say who the appointment is with or what it is about. " +
		"You will see that after signing in. The attached file adds the time to your calendar.\n"
}

// HumanTime writes an instant for people, in loc: "Tuesday 1 December at 09:00
// (Europe/Madrid)".
func HumanTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Monday 2 January at 15:04") + " (" + loc.String() + ")"
}
