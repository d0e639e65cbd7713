package visits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"haven/internal/access"
	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/guard"
)

// A visit is its appointment's row moving through explicit states, each move its own act at
// the door:
//
//	booked ──check-in──▶ waiting ──admit──▶ in-progress ──end──▶ ended
//	   └──────────── cancelled, no-show (package visits' scheduling side)
//
// A move is made by a conditional UPDATE on the state it leaves (… WHERE state = 'waiting'),
// so two requests racing for the same move cannot both make it. A move the state does not allow
// is refused with a conflict in people's words, before anything is recorded.

// Errors of the lifecycle, safe to show.
var (
	ErrStarted      = fault.New(fault.Conflict, "this visit has already started")
	ErrEnded        = fault.New(fault.Conflict, "this visit has ended")
	ErrCancelled    = fault.New(fault.Conflict, "this appointment was cancelled; book a new one if you still need a visit")
	ErrMissed       = fault.New(fault.Conflict, "this appointment was marked as missed; book a new one if you still need a visit")
	ErrNotCheckedIn = fault.New(fault.Conflict, "the patient has not checked in yet; they check in from their visit page")
	ErrNotStarted   = fault.New(fault.Conflict, "this visit has not started; let the patient in first")
	ErrTooLate      = fault.New(fault.Conflict, "the time of this visit has passed; book a new appointment")
)

// MaxSummaryLength bounds a visit summary, in characters.
const MaxSummaryLength = 10000

// maxIDLength bounds an identifier taken from a request; a longer one names nothing.
const maxIDLength = 64

const selectVisit = `SELECT id, clinician_id, patient_id, kind, state, start_at, end_at, booked_at,
	checked_in_at, admitted_at, ended_at, guests_allowed_at, COALESCE(consent_version, ''),
	CASE WHEN intake_ct IS NULL THEN 0 ELSE 1 END, COALESCE(summary_note_id, ''), COALESCE(follow_up_id, '')
	FROM appointments WHERE id = $1`

// visitRow is an appointment as the visit's acts read it: identifiers, times and a state.
type visitRow struct {
	id, clinicianID, patientID, kind, state   string
	start, end, bookedAt                      time.Time
	checkedIn, admitted, ended, guestsAllowed time.Time // zero when not (yet) so
	consentVersion                            string
	intake                                    bool
	summaryNoteID, followUpID                 string
}

// validID reports whether id can name a row: short, and only letters, digits, '-', '.' and
// '_' (a FHIR id, or an identifier made before identifiers were FHIR ids).
func validID(id string) bool {
	if id == "" || len(id) > maxIDLength {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// loadVisit reads visit id; ErrNotFound if there is none.
func (s *Service) loadVisit(ctx context.Context, id string) (visitRow, error) {
	if !validID(id) {
		return visitRow{}, ErrNotFound
	}
	var r visitRow
	var start, end, booked int64
	var checked, admitted, ended, allowed sql.NullInt64
	var intake int
	err := s.db.QueryRowContext(ctx, selectVisit, id).Scan(&r.id, &r.clinicianID, &r.patientID, &r.kind, &r.state,
		&start, &end, &booked, &checked, &admitted, &ended, &allowed, &r.consentVersion, &intake, &r.summaryNoteID, &r.followUpID)
	if errors.Is(err, sql.ErrNoRows) {
		return visitRow{}, ErrNotFound
	}
	if err != nil {
		return visitRow{}, fmt.Errorf("visits: load visit: %w", err)
	}
	r.start, r.end, r.bookedAt = unix(start), unix(end), unix(booked)
	r.checkedIn, r.admitted, r.ended, r.guestsAllowed = nullUnix(checked), nullUnix(admitted), nullUnix(ended), nullUnix(allowed)
	r.intake = intake != 0
	return r, nil
}

func unix(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func nullUnix(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return unix(n.Int64)
}

// visitAct is the act a on visit id. The patient is the visit's; for a visit that does not
// exist there is none, and the policy refuses it as it would another patient's visit, so the
// answer never tells which identifiers exist.
func (s *Service) visitAct(ctx context.Context, by access.Subject, a access.Action, id string, o Origin) (visitRow, guard.Act, error) {
	r, err := s.loadVisit(ctx, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return visitRow{}, guard.Act{}, err
	}
	rid := id
	if !validID(id) {
		rid = "" // nothing the caller typed that names no row goes into the log
	}
	return r, act(by, a, "Appointment", rid, r.patientID, o), nil
}

// decided is visitAct, then the door's decision on it (a refusal recorded); letting the patient
// in and ending the visit are, besides, the visit's own clinician's (ReasonNotOwnVisit). It records
// nothing when the act is allowed: the act records itself when it runs.
func (s *Service) decided(ctx context.Context, by access.Subject, a access.Action, id string, o Origin) (visitRow, guard.Act, error) {
	r, ga, err := s.visitAct(ctx, by, a, id, o)
	if err != nil {
		return visitRow{}, guard.Act{}, err
	}
	if err := s.door.Admit(ctx, ga); err != nil {
		return visitRow{}, guard.Act{}, err
	}
	if r.id == "" {
		return visitRow{}, guard.Act{}, ErrNotFound
	}
	if ownVisitOnly(a) && r.clinicianID != by.AccountID {
		// The policy's care relationship is with the patient; starting and ending a visit is
		// the visit's own clinician's, whoever else cares for the patient.
		if err := s.door.Refuse(ctx, ga, ReasonNotOwnVisit); !errors.Is(err, guard.ErrForbidden) {
			return visitRow{}, guard.Act{}, err
		}
		return visitRow{}, guard.Act{}, guard.ErrForbidden
	}
	return r, ga, nil
}

// ReasonNotOwnVisit is recorded when a clinician caring for the patient tries to admit them
// to, end, or invite a guest to a visit that is another clinician's (the appointment's
// clinician_id).
const ReasonNotOwnVisit = "not-own-visit"

// ownVisitOnly reports whether only the visit's own clinician may do a: let the patient in,
// end the visit, and bring someone else into it.
func ownVisitOnly(a access.Action) bool {
	return a == access.AdmitPatient || a == access.EndVisit || a == access.InviteGuest
}

// AdmitTo asks the door whether by may do action (a policy action name) to visit id, recording
// a refusal: what a transport asks before it reads a body, so that a refusal never depends on
// what the body holds. The act is decided again, and recorded, when it runs.
func (s *Service) AdmitTo(ctx context.Context, by access.Subject, action, id string, o Origin) error {
	_, _, err := s.decided(ctx, by, access.Action(action), id, o)
	return err
}

// closed is the refusal for a visit in a final state, nil for one still open.
func closed(state string) error {
	switch state {
	case StateEnded:
		return ErrEnded
	case StateCancelled:
		return ErrCancelled
	case StateNoShow:
		return ErrMissed
	}
	return nil
}

// moved reports a conditional UPDATE that found the row no longer in the state it left:
// another request moved it first. The caller reloads and says where it is now.
func moved(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 0, nil
}

// Visit opens a visit's page (visit.read): its state and times, who takes part, the patient's
// place in line and the clinician's status while they wait, and once it has ended, for the
// patient, the summary (read through the record's guarded path) and what Haven keeps of it.
func (s *Service) Visit(ctx context.Context, by access.Subject, id string, o Origin) (Visit, error) {
	r, a, err := s.visitAct(ctx, by, access.ReadVisit, id, o)
	if err != nil {
		return Visit{}, err
	}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (Visit, error) {
		if r.id == "" {
			return Visit{}, ErrNotFound
		}
		return s.view(ctx, by, r, o)
	})
}

// canCheckIn says whether the patient may check in now: a booked visit from OpensBefore its
// start until its end, an on-demand one at once. Checking in again while waiting is no change.
func (s *Service) canCheckIn(r visitRow) error {
	switch r.state {
	case StateWaiting:
		return nil
	case StateInProgress:
		return ErrStarted
	case StateBooked:
	default:
		return closed(r.state)
	}
	if r.kind == KindOnDemand {
		return nil
	}
	now := s.now()
	if now.Before(r.start.Add(-s.cfg.OpensBefore)) {
		return fault.New(fault.Conflict, fmt.Sprintf("check-in opens %s before your visit starts; come back then", minutes(s.cfg.OpensBefore)))
	}
	if !now.Before(r.end) {
		return ErrTooLate
	}
	return nil
}

// minutes says a duration in words: "15 minutes", "1 hour", "90 minutes".
func minutes(d time.Duration) string {
	switch m := int(d / time.Minute); {
	case m == 60:
		return "1 hour"
	case m == 1:
		return "1 minute"
	case m%60 == 0 && m > 60:
		return fmt.Sprintf("%d hours", m/60)
	default:
		return fmt.Sprintf("%d minutes", m)
	}
}

// CheckIn puts the patient in the waiting room (visit.check-in).
func (s *Service) CheckIn(ctx context.Context, by access.Subject, id string, o Origin) (Visit, error) {
	r, a, err := s.decided(ctx, by, access.CheckIn, id, o)
	if err != nil {
		return Visit{}, err
	}
	if err := s.canCheckIn(r); err != nil {
		return Visit{}, err
	}
	v, err := guard.Do(ctx, s.door, a, func(ctx context.Context) (Visit, error) {
		res, err := s.db.ExecContext(ctx, `UPDATE appointments SET state = $1, checked_in_at = $2 WHERE id = $3 AND state = $4`,
			StateWaiting, s.now().UnixNano(), r.id, StateBooked)
		if err != nil {
			return Visit{}, fmt.Errorf("visits: check in: %w", err)
		}
		if _, err := moved(res); err != nil {
			return Visit{}, fmt.Errorf("visits: check in: %w", err)
		}
		if r, err = s.loadVisit(ctx, r.id); err != nil {
			return Visit{}, err
		}
		if r.state != StateWaiting {
			return Visit{}, s.canCheckIn(r)
		}
		return s.view(ctx, by, r, o)
	})
	if err != nil {
		return Visit{}, err
	}
	s.publish(r, "check-in")
	return v, nil
}

// AllowGuests records the patient's agreement that guests may be invited (guest.allow). The
// first agreement's time is kept; agreeing again changes nothing.
func (s *Service) AllowGuests(ctx context.Context, by access.Subject, id string, o Origin) error {
	r, a, err := s.decided(ctx, by, access.AllowGuests, id, o)
	if err != nil {
		return err
	}
	if err := closed(r.state); err != nil {
		return err
	}
	err = guard.Run(ctx, s.door, a, func(ctx context.Context) error {
		res, err := s.db.ExecContext(ctx, `UPDATE appointments SET guests_allowed_at = COALESCE(guests_allowed_at, $1)
			WHERE id = $2 AND state IN ($3, $4, $5)`, s.now().UnixNano(), r.id, StateBooked, StateWaiting, StateInProgress)
		if err != nil {
			return fmt.Errorf("visits: allow guests: %w", err)
		}
		if gone, err := moved(res); err != nil || gone {
			return cmpErr(err, ErrEnded)
		}
		return nil
	})
	if err == nil {
		s.publish(r, "guests-allowed")
	}
	return err
}

// cmpErr is err, or if it is nil, otherwise.
func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// Admit lets the waiting patient in and starts the visit (visit.admit). It needs the patient's
// acceptance of the telehealth consent in force (ErrConsentNeeded otherwise); the version they
// accepted is kept with the visit.
func (s *Service) Admit(ctx context.Context, by access.Subject, id string, o Origin) (Visit, error) {
	r, a, err := s.decided(ctx, by, access.AdmitPatient, id, o)
	if err != nil {
		return Visit{}, err
	}
	if err := admissible(r.state); err != nil {
		return Visit{}, err
	}
	current, err := s.consentCurrent(ctx, r.patientID)
	if err != nil {
		return Visit{}, err
	}
	if !current {
		return Visit{}, ErrConsentNeeded
	}
	version := s.CurrentConsent().Version
	v, err := guard.Do(ctx, s.door, a, func(ctx context.Context) (Visit, error) {
		res, err := s.db.ExecContext(ctx, `UPDATE appointments SET state = $1, admitted_at = $2, consent_version = $3 WHERE id = $4 AND state = $5`,
			StateInProgress, s.now().UnixNano(), version, r.id, StateWaiting)
		if err != nil {
			return Visit{}, fmt.Errorf("visits: admit: %w", err)
		}
		gone, err := moved(res)
		if err != nil {
			return Visit{}, fmt.Errorf("visits: admit: %w", err)
		}
		if r, err = s.loadVisit(ctx, r.id); err != nil {
			return Visit{}, err
		}
		if gone {
			return Visit{}, cmpErr(admissible(r.state), ErrStarted)
		}
		return s.view(ctx, by, r, o)
	})
	if err != nil {
		return Visit{}, err
	}
	s.publish(r, "admit")
	return v, nil
}

// admissible says whether a visit in state may be started.
func admissible(state string) error {
	switch state {
	case StateWaiting:
		return nil
	case StateBooked:
		return ErrNotCheckedIn
	case StateInProgress:
		return ErrStarted
	}
	return closed(state)
}

// End ends the visit (visit.end): the summary is written to the patient's record as the plan
// of the visit's note, signed (its own acts, note.write and note.sign), the follow-up (if asked) is booked through Book (its
// own act, appointment.book), and the guests' links and sessions end at once.
func (s *Service) End(ctx context.Context, by access.Subject, id string, e Ending, o Origin) (Visit, error) {
	r, a, err := s.decided(ctx, by, access.EndVisit, id, o)
	if err != nil {
		return Visit{}, err
	}
	summary := strings.TrimSpace(e.Summary)
	if summary == "" || !utf8.ValidString(summary) || utf8.RuneCountInString(summary) > MaxSummaryLength {
		return Visit{}, fault.InvalidField("summary", fmt.Sprintf("write a summary of the visit for the patient's record, up to %d characters", MaxSummaryLength))
	}
	if !e.FollowUp.IsZero() && !e.FollowUp.After(s.now()) {
		return Visit{}, fault.InvalidField("followUp", "choose a time for the follow-up that is still to come")
	}
	if err := endable(r.state); err != nil {
		return Visit{}, err
	}
	// The follow-up is booked first: a time someone else took is said before anything ends,
	// and the clinician chooses another. Should the end then lose a race, the booking stands.
	var followUp string
	if !e.FollowUp.IsZero() {
		appt, err := s.Book(ctx, by, Booking{ClinicianID: by.AccountID, PatientID: r.patientID, Start: e.FollowUp}, o)
		if fe := fault.As(err); fe != nil && fe.Kind == fault.Invalid && fe.Field == "start" {
			return Visit{}, fault.InvalidField("followUp", fe.Message) // the field as the caller named it
		}
		if err != nil {
			return Visit{}, err
		}
		followUp = appt.ID
	}
	v, err := guard.Do(ctx, s.door, a, func(ctx context.Context) (Visit, error) {
		now := s.now().UnixNano()
		res, err := s.db.ExecContext(ctx, `UPDATE appointments SET state = $1, ended_at = $2 WHERE id = $3 AND state = $4`,
			StateEnded, now, r.id, StateInProgress)
		if err != nil {
			return Visit{}, fmt.Errorf("visits: end: %w", err)
		}
		if gone, err := moved(res); err != nil || gone {
			if err == nil {
				cur, lerr := s.loadVisit(ctx, r.id)
				err = cmpErr(lerr, cmpErr(endable(cur.state), ErrEnded))
			}
			return Visit{}, err
		}
		noteID, err := s.records.FinishVisitNote(ctx, by, r.patientID, r.id, clinical.VisitNote{
			SOAP:     clinical.SOAP{Subjective: e.Subjective, Objective: e.Objective, Assessment: e.Assessment, Plan: summary},
			Category: e.Category}, o)
		if err != nil {
			// Without its summary the visit is not ended: it goes back to running.
			_, uerr := s.db.ExecContext(ctx, `UPDATE appointments SET state = $1, ended_at = NULL WHERE id = $2 AND state = $3 AND summary_note_id IS NULL`,
				StateInProgress, r.id, StateEnded)
			return Visit{}, errors.Join(err, uerr)
		}
		if _, err := s.db.ExecContext(ctx, `UPDATE appointments SET summary_note_id = $1, follow_up_id = $2 WHERE id = $3`,
			noteID, nullString(followUp), r.id); err != nil {
			return Visit{}, fmt.Errorf("visits: end: %w", err)
		}
		if err := s.endGuests(ctx, r.id, now); err != nil {
			return Visit{}, err
		}
		if r, err = s.loadVisit(ctx, r.id); err != nil {
			return Visit{}, err
		}
		return s.view(ctx, by, r, o)
	})
	if err != nil {
		return Visit{}, err
	}
	s.publish(r, "end")
	s.ended(r.id)
	return v, nil
}

// endable says whether a visit in state may be ended.
func endable(state string) error {
	switch state {
	case StateInProgress:
		return nil
	case StateBooked, StateWaiting:
		return ErrNotStarted
	}
	return closed(state)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
