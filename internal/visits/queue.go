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

// The on-demand queue: a patient already in someone's care asks to see the next available
// clinician; the first clinician who takes them starts a visit. A patient holds one place at a
// time (a unique index). Taking is a conditional UPDATE (… WHERE taken_by IS NULL) whose rows
// affected say who won: of two clinicians racing for the same patient exactly one does, and
// the other moves on to the next, or is told no one is waiting.
//
// The visit taken from the queue is an appointment of kind on-demand that starts at once, in
// state waiting (the patient has been waiting already): the clinician then admits them as any
// other, and admitting needs the telehealth consent in force. The appointment gives the
// clinician the appointment relationship with the patient from that moment.

// Errors of the queue, safe to show.
var (
	ErrNotInCare  = fault.New(fault.Conflict, "the queue for the next available clinician is for patients already in a clinician's care; book an appointment instead")
	ErrNotQueued  = fault.New(fault.NotFound, "you are not waiting for the next available clinician")
	ErrQueueEmpty = fault.New(fault.Conflict, "no one is waiting for the next available clinician")
	errSameStart  = fault.New(fault.Conflict, "you already have a visit starting at this moment; try again")
)

const (
	insertQueue = `INSERT INTO visit_queue (id, patient_id, joined_at) VALUES ($1, $2, $3)`
	selectPlace = `SELECT id, joined_at FROM visit_queue WHERE patient_id = $1 AND taken_by IS NULL AND left_at IS NULL`
	countQueued = `SELECT COUNT(*) FROM visit_queue WHERE taken_by IS NULL AND left_at IS NULL AND (joined_at < $1 OR (joined_at = $1 AND id < $2))`
	selectTaken = `SELECT q.id, q.joined_at, q.appointment_id FROM visit_queue q JOIN appointments a ON a.id = q.appointment_id
		WHERE q.patient_id = $1 AND a.state IN ('waiting', 'in-progress') ORDER BY q.taken_at DESC LIMIT 1`
	selectQueue    = `SELECT id, patient_id, joined_at FROM visit_queue WHERE taken_by IS NULL AND left_at IS NULL ORDER BY joined_at, id`
	selectFirst    = `SELECT id, patient_id FROM visit_queue WHERE taken_by IS NULL AND left_at IS NULL ORDER BY joined_at, id LIMIT 1`
	takePlace      = `UPDATE visit_queue SET taken_by = $1, taken_at = $2 WHERE id = $3 AND taken_by IS NULL AND left_at IS NULL`
	releasePlace   = `UPDATE visit_queue SET taken_by = NULL, taken_at = NULL WHERE id = $1 AND appointment_id IS NULL`
	leaveQueue     = `UPDATE visit_queue SET left_at = $1 WHERE patient_id = $2 AND taken_by IS NULL AND left_at IS NULL`
	insertOnDemand = `INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at, checked_in_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`
	careTeamOf     = `SELECT COUNT(*) FROM care_team WHERE patient_id = $1`
	appointmentsOf = `SELECT COUNT(*) FROM appointments WHERE patient_id = $1 AND state <> 'cancelled' AND booked_at <= $2 AND end_at >= $3`
)

// maxTakeTries bounds how many places one TakeNext tries when other clinicians keep winning.
const maxTakeTries = 8

// sameStartTries bounds how many instants an on-demand visit tries to start at.
const sameStartTries = 4

// inCare reports whether a clinician cares for the patient: by assignment to the care team, or
// by an appointment still inside its window.
func (s *Service) inCare(ctx context.Context, patientID string) (bool, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, careTeamOf, patientID).Scan(&n); err != nil {
		return false, fmt.Errorf("visits: in care: %w", err)
	}
	if n > 0 {
		return true, nil
	}
	now := s.now()
	since := now.Add(-time.Duration(s.cfg.CareDays) * 24 * time.Hour)
	if err := s.db.QueryRowContext(ctx, appointmentsOf, patientID, now.UnixNano(), since.UnixNano()).Scan(&n); err != nil {
		return false, fmt.Errorf("visits: in care: %w", err)
	}
	return n > 0, nil
}

// JoinQueue puts the patient in the on-demand queue (queue.join). Joining while already in it
// keeps the place held.
func (s *Service) JoinQueue(ctx context.Context, by access.Subject, o Origin) (QueuePlace, error) {
	id := ids.New()
	a := act(by, access.JoinQueue, "Queue", id, by.PatientID, o)
	if err := s.door.Admit(ctx, a); err != nil {
		return QueuePlace{}, err
	}
	ok, err := s.inCare(ctx, by.PatientID)
	if err != nil {
		return QueuePlace{}, err
	}
	if !ok {
		return QueuePlace{}, ErrNotInCare
	}
	p, err := guard.Do(ctx, s.door, a, func(ctx context.Context) (QueuePlace, error) {
		if _, err := s.db.ExecContext(ctx, insertQueue, id, by.PatientID, s.now().UnixNano()); err != nil && !store.IsUniqueViolation(err) {
			return QueuePlace{}, fmt.Errorf("visits: join queue: %w", err)
		}
		return s.queuePlace(ctx, by.PatientID)
	})
	if err != nil {
		return QueuePlace{}, err
	}
	s.hub.Publish(Event{Kind: "queue"}, topicQueue)
	return p, nil
}

// queuePlace is where the patient stands: their place while they wait, or the visit a
// clinician took them into while it is still open.
func (s *Service) queuePlace(ctx context.Context, patientID string) (QueuePlace, error) {
	var p QueuePlace
	var joined int64
	err := s.db.QueryRowContext(ctx, selectPlace, patientID).Scan(&p.QueueID, &joined)
	if err == nil {
		var ahead int
		if err := s.db.QueryRowContext(ctx, countQueued, joined, p.QueueID).Scan(&ahead); err != nil {
			return QueuePlace{}, fmt.Errorf("visits: queue place: %w", err)
		}
		p.Place, p.Since = ahead+1, unix(joined)
		return p, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return QueuePlace{}, fmt.Errorf("visits: queue place: %w", err)
	}
	err = s.db.QueryRowContext(ctx, selectTaken, patientID).Scan(&p.QueueID, &joined, &p.AppointmentID)
	if errors.Is(err, sql.ErrNoRows) {
		return QueuePlace{}, ErrNotQueued
	}
	if err != nil {
		return QueuePlace{}, fmt.Errorf("visits: queue place: %w", err)
	}
	p.Since = unix(joined)
	return p, nil
}

// MyQueuePlace says where the patient stands in the on-demand queue. It is decided as
// queue.join (their own place, which only they ask about) and discloses nothing to anyone
// else, so only a refusal is recorded.
func (s *Service) MyQueuePlace(ctx context.Context, by access.Subject, o Origin) (QueuePlace, error) {
	if err := s.door.Admit(ctx, act(by, access.JoinQueue, "Queue", "", by.PatientID, o)); err != nil {
		return QueuePlace{}, err
	}
	return s.queuePlace(ctx, by.PatientID)
}

// LeaveQueue takes the patient out of the queue (queue.leave).
func (s *Service) LeaveQueue(ctx context.Context, by access.Subject, o Origin) error {
	a := act(by, access.LeaveQueue, "Queue", "", by.PatientID, o)
	if err := s.door.Admit(ctx, a); err != nil {
		return err
	}
	if _, err := s.queuePlace(ctx, by.PatientID); err != nil {
		return err
	}
	err := guard.Run(ctx, s.door, a, func(ctx context.Context) error {
		res, err := s.db.ExecContext(ctx, leaveQueue, s.now().UnixNano(), by.PatientID)
		if err != nil {
			return fmt.Errorf("visits: leave queue: %w", err)
		}
		if gone, err := moved(res); err != nil || gone {
			return cmpErr(err, ErrNotQueued)
		}
		return nil
	})
	if err == nil {
		s.hub.Publish(Event{Kind: "queue"}, topicQueue)
	}
	return err
}

// Queue lists who waits in the on-demand queue (queue.read), first first; each patient shown
// is an entry in their access log.
func (s *Service) Queue(ctx context.Context, by access.Subject, o Origin) ([]Waiting, error) {
	a := guard.Act{By: by, Action: access.ReadQueue, Resource: access.Resource{Type: "Queue"}, Origin: o}
	return guard.List(ctx, s.door, a, func(ctx context.Context) ([]Waiting, []guard.Disclosed, error) {
		rows, err := s.db.QueryContext(ctx, selectQueue)
		if err != nil {
			return nil, nil, fmt.Errorf("visits: queue: %w", err)
		}
		var cands []Waiting
		for rows.Next() {
			var w Waiting
			var joined int64
			if err := rows.Scan(&w.QueueID, &w.PatientID, &joined); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("visits: queue: %w", err)
			}
			w.Since, w.State = unix(joined), "queued"
			cands = append(cands, w)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("visits: queue: %w", err)
		}
		res := make([]access.Resource, len(cands))
		ids := make([]string, len(cands))
		for i, w := range cands {
			res[i] = access.Resource{Type: "Queue", ID: w.QueueID, PatientID: w.PatientID}
			ids[i] = w.PatientID
		}
		decisions := s.door.MayEach(ctx, by, access.ReadQueue, res)
		names, err := s.records.OpenNames(ctx, ids)
		if err != nil {
			return nil, nil, err
		}
		out := []Waiting{}
		var shown []guard.Disclosed
		for i, w := range cands {
			name, ok := names[w.PatientID]
			if !decisions[i].Allow || !ok {
				continue
			}
			w.PatientName = name
			out = append(out, w)
			shown = append(shown, guard.Disclosed{PatientID: w.PatientID, Reason: decisions[i].Reason})
		}
		return out, shown, nil
	})
}

// TakeNext takes the first patient in the queue and starts a visit with them (queue.take): an
// on-demand appointment starting now, in state waiting, which the clinician then admits.
func (s *Service) TakeNext(ctx context.Context, by access.Subject, o Origin) (Visit, error) {
	if err := s.door.Admit(ctx, guard.Act{By: by, Action: access.TakeFromQueue, Resource: access.Resource{Type: "Queue"}, Origin: o}); err != nil {
		return Visit{}, err
	}
	var placeID, patientID string
	for range maxTakeTries {
		err := s.db.QueryRowContext(ctx, selectFirst).Scan(&placeID, &patientID)
		if errors.Is(err, sql.ErrNoRows) {
			return Visit{}, ErrQueueEmpty
		}
		if err != nil {
			return Visit{}, fmt.Errorf("visits: take from queue: %w", err)
		}
		res, err := s.db.ExecContext(ctx, takePlace, by.AccountID, s.now().UnixNano(), placeID)
		if err != nil {
			return Visit{}, fmt.Errorf("visits: take from queue: %w", err)
		}
		lost, err := moved(res)
		if err != nil {
			return Visit{}, fmt.Errorf("visits: take from queue: %w", err)
		}
		if !lost {
			break // this clinician's
		}
		placeID = "" // another clinician took them first: try the next
	}
	if placeID == "" {
		return Visit{}, ErrQueueEmpty
	}
	id := ids.New()
	var r visitRow
	v, err := guard.Do(ctx, s.door, act(by, access.TakeFromQueue, "Appointment", id, patientID, o), func(ctx context.Context) (Visit, error) {
		now := s.now()
		// The slot index is per instant: should the clinician have another appointment starting
		// at this very nanosecond, the on-demand visit starts a microsecond later.
		var err error
		for try := range sameStartTries {
			at := now.Add(time.Duration(try) * time.Microsecond)
			err = s.db.InTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, insertOnDemand, id, by.AccountID, patientID, KindOnDemand, StateWaiting,
					at.UnixNano(), at.Add(s.cfg.OnDemandLength).UnixNano(), by.AccountID, now.UnixNano(), now.UnixNano()); err != nil {
					if store.IsUniqueViolation(err) {
						return errSameStart
					}
					return fmt.Errorf("visits: on-demand visit: %w", err)
				}
				if _, err := tx.ExecContext(ctx, `UPDATE visit_queue SET appointment_id = $1 WHERE id = $2`, id, placeID); err != nil {
					return fmt.Errorf("visits: on-demand visit: %w", err)
				}
				return nil
			})
			if !errors.Is(err, errSameStart) {
				break
			}
		}
		if err != nil {
			return Visit{}, err
		}
		if r, err = s.loadVisit(ctx, id); err != nil {
			return Visit{}, err
		}
		return s.view(ctx, by, r, o)
	})
	if err != nil {
		if r.id == "" {
			// No visit was made: the patient goes back to their place.
			if _, rerr := s.db.ExecContext(context.WithoutCancel(ctx), releasePlace, placeID); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return Visit{}, err
	}
	s.hub.Publish(Event{Kind: "queue"}, topicQueue)
	s.publish(r, "check-in")
	return v, nil
}
