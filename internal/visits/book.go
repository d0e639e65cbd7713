package visits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"haven/internal/ids"
	"time"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/store"
)

// A slot is booked once, however many requests race for it: the insert itself is refused by
// the unique index appointments_one_per_slot (one live booking per clinician and start), never
// by a look before the insert that a concurrent request could pass too. The insert also refuses
// a start that would overlap another live booking of the clinician at a different start (one
// made before the clinician changed their slot length); that part is a guard, not a guarantee,
// on PostgreSQL under concurrency.
//
// Every attempt passes the door: its entry (appointment.book, allowed) is durable before the
// insert runs, so a booking lost to a faster request is recorded as tried.

// Refusal reasons recorded by this package where the policy cannot decide alone.
const (
	// ReasonNotBookable: a patient asked for a clinician who neither cares for them nor (with
	// open booking) takes new patients.
	ReasonNotBookable = "clinician-not-bookable"
	// ReasonNotOwnSchedule: a clinician acted on another clinician's appointment.
	ReasonNotOwnSchedule = "not-own-schedule"
	// ReasonCancelCutoff: a patient tried to cancel or move an appointment too close to its start.
	ReasonCancelCutoff = "cancel-cutoff"
)

// Errors of booking. Their text is safe to show.
var (
	errNotBookable   = fault.New(fault.Forbidden, "you can book only the clinicians caring for you; to see someone else, call the clinic")
	errNotOwnSched   = fault.New(fault.Forbidden, "you can book and change appointments in your own schedule only; the front desk can for other clinicians")
	errNotOnGrid     = fault.InvalidField("start", "this is not one of the clinician's free times; choose one of the times offered")
	errPast          = fault.InvalidField("start", "this time has passed; choose a later one")
	errNoPatient     = fault.InvalidField("patientId", "choose the patient the appointment is for")
	errUnknownPat    = fault.InvalidField("patientId", "no patient has this identifier")
	errNoClinicianID = fault.InvalidField("clinicianId", "no clinician has this identifier; choose one from the list of clinicians")
)

const (
	insertAppointment = `INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at)
		SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), 'scheduled', 'booked', CAST($4 AS BIGINT), CAST($5 AS BIGINT), CAST($6 AS TEXT), CAST($7 AS BIGINT)
		WHERE NOT EXISTS (SELECT 1 FROM appointments WHERE clinician_id = CAST($2 AS TEXT) AND state <> 'cancelled'
			AND start_at < CAST($5 AS BIGINT) AND start_at > CAST($8 AS BIGINT) AND end_at > CAST($4 AS BIGINT))`
	selectAppointment = `SELECT id, clinician_id, patient_id, kind, state, start_at, end_at, version FROM appointments WHERE id = $1`
	patientExists     = `SELECT COUNT(*) FROM patients WHERE id = $1`
	moveAppointment   = `UPDATE appointments SET start_at = CAST($2 AS BIGINT), end_at = CAST($3 AS BIGINT)
		WHERE id = CAST($1 AS TEXT) AND state = 'booked'
		AND NOT EXISTS (SELECT 1 FROM appointments o WHERE o.clinician_id = CAST($4 AS TEXT) AND o.id <> CAST($1 AS TEXT)
			AND o.state <> 'cancelled' AND o.start_at < CAST($3 AS BIGINT) AND o.start_at > CAST($5 AS BIGINT) AND o.end_at > CAST($2 AS BIGINT))
		AND (CAST($6 AS BIGINT) = 0 OR version = CAST($6 AS BIGINT))`
	// A moved appointment is reminded of again, at its new time.
	forgetReminders   = `DELETE FROM appointment_reminders WHERE appointment_id = $1`
	cancelAppointment = `UPDATE appointments SET state = 'cancelled', cancelled_at = CAST($2 AS BIGINT) WHERE id = CAST($1 AS TEXT) AND state IN ('booked', 'waiting')
		AND (CAST($3 AS BIGINT) = 0 OR version = CAST($3 AS BIGINT))`
	noShowAppointment = `UPDATE appointments SET state = 'no-show' WHERE id = $1 AND state IN ('booked', 'waiting') AND start_at <= $2`
)

// Book books a slot (appointment.book); a slot taken → ErrSlotTaken. A patient books for
// themselves, a clinician they may book; the front desk books for any patient (PatientID); a
// clinician books a follow-up in their own schedule for a patient in their care.
func (s *Service) Book(ctx context.Context, by access.Subject, b Booking, o Origin) (Appointment, error) {
	patientID, clinicianID := b.PatientID, b.ClinicianID
	if by.Role == access.Patient && patientID == "" {
		patientID = by.PatientID
	}
	if by.Role == access.Clinician && clinicianID == "" {
		clinicianID = by.AccountID
	}
	id := ids.New()
	a := act(by, access.BookAppointment, "Appointment", id, patientID, o)
	// The door first: a patient naming another patient, a clinician naming a patient not in
	// their care, any other role, are refused before anything is looked up.
	if err := s.door.Admit(ctx, a); err != nil {
		return Appointment{}, err
	}
	if patientID == "" {
		return Appointment{}, errNoPatient
	}
	if by.Role == access.Clinician && clinicianID != by.AccountID {
		return Appointment{}, s.refuse(ctx, a, ReasonNotOwnSchedule, errNotOwnSched)
	}
	if ok, err := s.isClinician(ctx, clinicianID, true); err != nil {
		return Appointment{}, err
	} else if !ok {
		return Appointment{}, errNoClinicianID
	}
	if by.Role == access.FrontDesk || by.Role == access.Integration {
		if err := s.checkPatient(ctx, patientID); err != nil {
			return Appointment{}, err
		}
	}
	if by.Role == access.Patient {
		ok, err := s.bookable(ctx, patientID, clinicianID)
		if err != nil {
			return Appointment{}, err
		}
		if !ok {
			return Appointment{}, s.refuse(ctx, a, ReasonNotBookable, errNotBookable)
		}
	}
	slot, err := s.slotAt(ctx, by, clinicianID, b.Start)
	if err != nil {
		return Appointment{}, err
	}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (Appointment, error) {
		now := s.now()
		res, err := s.db.ExecPrepared(ctx, insertAppointment, id, clinicianID, patientID, slot.Start.UnixNano(), slot.End.UnixNano(), by.AccountID, now.UnixNano(), s.overlapFloor(slot.Start))
		if store.IsUniqueViolation(err) {
			return Appointment{}, ErrSlotTaken
		}
		if err != nil {
			return Appointment{}, fmt.Errorf("visits: book: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return Appointment{}, fmt.Errorf("visits: book: %w", err)
		} else if n == 0 {
			return Appointment{}, ErrSlotTaken
		}
		s.scheduleChanged(clinicianID, id)
		ap := Appointment{ID: id, ClinicianID: clinicianID, PatientID: patientID, Kind: KindScheduled, State: StateBooked,
			Start: slot.Start, End: slot.End, Version: 1}
		s.nameClinician(ctx, by, &ap)
		return ap, nil
	})
}

// refuse records act as refused for reason and returns err, the refusal in words; if the
// refusal cannot be recorded, that is the error.
func (s *Service) refuse(ctx context.Context, a guard.Act, reason string, err error) error {
	if rerr := s.door.Refuse(ctx, a, reason); !errors.Is(rerr, guard.ErrForbidden) {
		return rerr
	}
	return err
}

// slotAt returns the free slot of the clinician starting at start, checking the booking
// horizon for patients (staff are not bound by it). It refuses a start off the grid or past.
func (s *Service) slotAt(ctx context.Context, by access.Subject, clinicianID string, start time.Time) (Slot, error) {
	now := s.now()
	switch {
	case start.IsZero():
		return Slot{}, fault.InvalidField("start", "choose a time for the appointment")
	case start.Before(now):
		return Slot{}, errPast
	case by.Role == access.Patient && start.After(now.Add(s.cfg.Horizon)):
		return Slot{}, fault.InvalidField("start", "you can book up to "+describeDuration(s.cfg.Horizon)+" ahead; choose an earlier time, or call the clinic")
	}
	av, err := s.loadAvailability(ctx, clinicianID)
	if errors.Is(err, ErrNoHours) {
		return Slot{}, errNotOnGrid
	}
	if err != nil {
		return Slot{}, err
	}
	loc, err := s.zone(av.TimeZone)
	if err != nil {
		return Slot{}, fault.InvalidField("timeZone", "these hours cannot be read; set them again")
	}
	slots, err := computeSlotsIn(av, loc, start, start.Add(time.Nanosecond))
	if err != nil {
		return Slot{}, err
	}
	if len(slots) != 1 || !slots[0].Start.Equal(start) {
		return Slot{}, errNotOnGrid
	}
	return Slot{Start: slots[0].Start.UTC(), End: slots[0].End.UTC()}, nil
}

// checkPatient refuses a patient identifier with no record.
func (s *Service) checkPatient(ctx context.Context, patientID string) error {
	var n int
	if err := s.db.QueryRowPrepared(ctx, patientExists, patientID).Scan(&n); err != nil {
		return fmt.Errorf("visits: patient: %w", err)
	}
	if n == 0 {
		return errUnknownPat
	}
	return nil
}

// row is an appointment as stored.
type row struct {
	ID, ClinicianID, PatientID, Kind, State string
	Start, End                              time.Time
	Version                                 int64
}

func (r row) appointment() Appointment {
	return Appointment{ID: r.ID, ClinicianID: r.ClinicianID, PatientID: r.PatientID, Kind: r.Kind, State: r.State, Start: r.Start, End: r.End,
		Version: r.Version}
}

type scanner interface{ Scan(dest ...any) error }

func scanRow(sc scanner) (row, error) {
	var r row
	var st, en int64
	if err := sc.Scan(&r.ID, &r.ClinicianID, &r.PatientID, &r.Kind, &r.State, &st, &en, &r.Version); err != nil {
		return row{}, err
	}
	r.Start, r.End = time.Unix(0, st).UTC(), time.Unix(0, en).UTC()
	return r, nil
}

// load reads an appointment; ErrNotFound if there is none.
func (s *Service) load(ctx context.Context, id string) (row, error) {
	r, err := scanRow(s.db.QueryRowPrepared(ctx, selectAppointment, id))
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, ErrNotFound
	}
	if err != nil {
		return row{}, fmt.Errorf("visits: load appointment: %w", err)
	}
	return r, nil
}

// admitOn loads appointment id and asks the door whether by may do action to it, deciding with
// the appointment's patient, so that nothing about it (its state, its time) is told to someone
// with no right to it. An unknown identifier is ErrNotFound. A clinician acts on their own
// schedule only.
func (s *Service) admitOn(ctx context.Context, by access.Subject, action access.Action, id string, o Origin) (row, guard.Act, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		return row{}, guard.Act{}, err
	}
	a := act(by, action, "Appointment", id, r.PatientID, o)
	if err := s.door.Admit(ctx, a); err != nil {
		return row{}, a, err
	}
	if by.Role == access.Clinician && r.ClinicianID != by.AccountID {
		return row{}, a, s.refuse(ctx, a, ReasonNotOwnSchedule, errNotOwnSched)
	}
	return r, a, nil
}

// cutoff refuses a patient's change to an appointment closer to its start than CancelCutoff.
func (s *Service) cutoff(ctx context.Context, by access.Subject, a guard.Act, r row, what string) error {
	if by.Role != access.Patient || s.now().Add(s.cfg.CancelCutoff).Before(r.Start) {
		return nil
	}
	done := map[string]string{"cancel": "cancelled", "move": "moved"}[what]
	msg := fmt.Sprintf("an appointment can be %s online until %s before it starts; to %s it now, please call the clinic",
		done, describeDuration(s.cfg.CancelCutoff), what)
	return s.refuse(ctx, a, ReasonCancelCutoff, fault.New(fault.Forbidden, msg))
}

// stateConflict explains why an appointment in state cannot be changed.
func stateConflict(state, what string) error {
	switch state {
	case StateCancelled:
		return fault.New(fault.Conflict, "this appointment was cancelled; book a new one")
	case StateNoShow:
		return fault.New(fault.Conflict, "this appointment was missed; book a new one")
	case StateEnded:
		return fault.New(fault.Conflict, "this visit has ended; book a new appointment")
	case StateInProgress:
		return fault.New(fault.Conflict, "this visit is under way and cannot be "+what+" now")
	case StateWaiting:
		return fault.New(fault.Conflict, "the patient is already checked in; this appointment cannot be "+what+" now")
	}
	return fault.New(fault.Conflict, "this appointment cannot be "+what+" now")
}

// Reschedule moves an appointment to another slot (appointment.reschedule), by the rules of
// booking. The old slot is freed and the new one taken in one statement: if the new slot is
// taken, ErrSlotTaken, and the appointment keeps its time.
func (s *Service) Reschedule(ctx context.Context, by access.Subject, id string, start time.Time, o Origin) (Appointment, error) {
	return s.RescheduleVersion(ctx, by, id, 0, start, o)
}

// RescheduleVersion is Reschedule of the appointment as it was at version (0: whatever its
// version): if it changed since, ErrStale, and nothing moves.
func (s *Service) RescheduleVersion(ctx context.Context, by access.Subject, id string, version int64, start time.Time, o Origin) (Appointment, error) {
	r, a, err := s.admitOn(ctx, by, access.RescheduleAppointment, id, o)
	if err != nil {
		return Appointment{}, err
	}
	if version != 0 && r.Version != version {
		return Appointment{}, ErrStale
	}
	if r.State != StateBooked {
		return Appointment{}, stateConflict(r.State, "moved")
	}
	if err := s.cutoff(ctx, by, a, r, "move"); err != nil {
		return Appointment{}, err
	}
	slot, err := s.slotAt(ctx, by, r.ClinicianID, start)
	if err != nil {
		return Appointment{}, err
	}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (Appointment, error) {
		var moved int64
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, moveAppointment, id, slot.Start.UnixNano(), slot.End.UnixNano(), r.ClinicianID, s.overlapFloor(slot.Start), version)
			if err != nil {
				return err
			}
			if moved, err = res.RowsAffected(); err != nil || moved == 0 {
				return err
			}
			_, err = tx.ExecContext(ctx, forgetReminders, id)
			return err
		})
		if store.IsUniqueViolation(err) {
			return Appointment{}, ErrSlotTaken
		}
		if err != nil {
			return Appointment{}, fmt.Errorf("visits: reschedule: %w", err)
		}
		if moved == 0 {
			// Either the new time was taken, or the appointment changed meanwhile.
			now, err := s.load(ctx, id)
			if err != nil {
				return Appointment{}, err
			}
			if now.State != StateBooked {
				return Appointment{}, stateConflict(now.State, "moved")
			}
			if version != 0 && now.Version != version {
				return Appointment{}, ErrStale
			}
			return Appointment{}, ErrSlotTaken
		}
		s.scheduleChanged(r.ClinicianID, id)
		// Read back as moved, with the version the change gave it.
		if r, err = s.load(ctx, id); err != nil {
			return Appointment{}, err
		}
		ap := r.appointment()
		s.nameClinician(ctx, by, &ap)
		return ap, nil
	})
}

// Cancel cancels an appointment (appointment.cancel). A patient may not cancel closer to the
// start than CancelCutoff (the clinic still may). The appointment relationship ends with it,
// unless another relationship holds.
func (s *Service) Cancel(ctx context.Context, by access.Subject, id string, o Origin) error {
	return s.CancelVersion(ctx, by, id, 0, o)
}

// CancelVersion is Cancel of the appointment as it was at version (0: whatever its version):
// if it changed since, ErrStale, and it stays as it is.
func (s *Service) CancelVersion(ctx context.Context, by access.Subject, id string, version int64, o Origin) error {
	r, a, err := s.admitOn(ctx, by, access.CancelAppointment, id, o)
	if err != nil {
		return err
	}
	if version != 0 && r.Version != version {
		return ErrStale
	}
	if r.State != StateBooked && r.State != StateWaiting {
		return stateConflict(r.State, "cancelled")
	}
	if err := s.cutoff(ctx, by, a, r, "cancel"); err != nil {
		return err
	}
	return guard.Run(ctx, s.door, a, func(ctx context.Context) error {
		res, err := s.db.ExecPrepared(ctx, cancelAppointment, id, s.now().UnixNano(), version)
		if err != nil {
			return fmt.Errorf("visits: cancel: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("visits: cancel: %w", err)
		} else if n == 0 {
			if now, err := s.load(ctx, id); err == nil && version != 0 && now.Version != version && (now.State == StateBooked || now.State == StateWaiting) {
				return ErrStale
			}
			return s.changedMeanwhile(ctx, id, "cancelled")
		}
		s.scheduleChanged(r.ClinicianID, id)
		return nil
	})
}

// MarkNoShow records that the patient did not come (appointment.no-show): only once the
// appointment has started, and only if the visit did not start.
func (s *Service) MarkNoShow(ctx context.Context, by access.Subject, id string, o Origin) error {
	r, a, err := s.admitOn(ctx, by, access.MarkNoShow, id, o)
	if err != nil {
		return err
	}
	if r.State != StateBooked && r.State != StateWaiting {
		return stateConflict(r.State, "marked as missed")
	}
	now := s.now()
	if now.Before(r.Start) {
		return fault.New(fault.Conflict, "the appointment has not started yet; mark it as missed once its time has come")
	}
	return guard.Run(ctx, s.door, a, func(ctx context.Context) error {
		res, err := s.db.ExecPrepared(ctx, noShowAppointment, id, now.UnixNano())
		if err != nil {
			return fmt.Errorf("visits: no-show: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("visits: no-show: %w", err)
		} else if n == 0 {
			return s.changedMeanwhile(ctx, id, "marked as missed")
		}
		s.scheduleChanged(r.ClinicianID, id)
		return nil
	})
}

// changedMeanwhile explains an update that found the appointment no longer in the state it
// was read in.
func (s *Service) changedMeanwhile(ctx context.Context, id, what string) error {
	r, err := s.load(ctx, id)
	if err != nil {
		return err
	}
	return stateConflict(r.State, what)
}

// nameClinician fills in the clinician's name for a patient, who sees whom they booked.
func (s *Service) nameClinician(ctx context.Context, by access.Subject, ap *Appointment) {
	if by.Role != access.Patient {
		return
	}
	if names, err := s.people.DisplayNames(ctx, []string{ap.ClinicianID}); err == nil {
		ap.ClinicianName = names[ap.ClinicianID]
	}
}

// scheduleChanged tells the live pages showing the clinician's schedule, the front desk's,
// and the visit's own page that the appointment changed.
func (s *Service) scheduleChanged(clinicianID, id string) {
	s.hub.Publish(Event{Kind: "schedule", AppointmentID: id}, "clinician:"+clinicianID, "frontdesk", "visit:"+id)
}

// overlapFloor is the earliest start an appointment overlapping one starting at start can have:
// start less the longest an appointment lasts. Bounding the overlap checks by it keeps them to
// an index range around the slot, not the clinician's whole history.
func (s *Service) overlapFloor(start time.Time) int64 {
	return start.Add(-max(MaxSlotMinutes*time.Minute, s.cfg.OnDemandLength)).UnixNano()
}
