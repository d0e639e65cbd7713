package visits

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"haven/internal/access"
	"haven/internal/guard"
)

// The waiting room is a guarded list: the door decides the list, then each patient it shows is
// an entry in their access log (one per patient, however many visits of theirs are shown). A
// clinician sees their own visits waiting or running today, with the intake answers, each
// filtered by the right to read those answers (the care relationship: the appointment gives
// it); the front desk sees everyone's, names and times only, never the answers.

// waitingWindow is how far back "today" reaches: a visit still waiting or running that started
// longer ago than this was left open by mistake and is not shown.
const waitingWindow = 24 * time.Hour

const (
	selectWaiting = `SELECT id, clinician_id, patient_id, state, start_at, checked_in_at, admitted_at,
		CASE WHEN intake_ct IS NULL THEN 0 ELSE 1 END FROM appointments
		WHERE state IN ('waiting', 'in-progress') AND start_at >= $1`
	orderWaiting = ` ORDER BY start_at, checked_in_at, id`
)

// WaitingRoom lists who waits and who is being seen (waitingroom.read): a clinician's own
// visits, or everyone's for the front desk.
func (s *Service) WaitingRoom(ctx context.Context, by access.Subject, o Origin) ([]Waiting, error) {
	a := guard.Act{By: by, Action: access.ReadWaitingRoom, Resource: access.Resource{Type: "WaitingRoom"}, Origin: o}
	return guard.List(ctx, s.door, a, func(ctx context.Context) ([]Waiting, []guard.Disclosed, error) {
		query, args := selectWaiting, []any{s.now().Add(-waitingWindow).UnixNano()}
		clinician := by.Role == access.Clinician
		if clinician {
			query += ` AND clinician_id = $2`
			args = append(args, by.AccountID)
		}
		type cand struct {
			w      Waiting
			intake bool
		}
		var cands []cand
		rows, err := s.db.QueryContext(ctx, query+orderWaiting, args...)
		if err != nil {
			return nil, nil, fmt.Errorf("visits: waiting room: %w", err)
		}
		for rows.Next() {
			var c cand
			var start int64
			var checked, admitted sql.NullInt64
			var intake int
			if err := rows.Scan(&c.w.AppointmentID, &c.w.ClinicianID, &c.w.PatientID, &c.w.State, &start, &checked, &admitted, &intake); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("visits: waiting room: %w", err)
			}
			c.w.Start, c.w.Since, c.intake = unix(start), nullUnix(checked), intake != 0
			if c.w.State == StateInProgress {
				c.w.Since = nullUnix(admitted)
			}
			cands = append(cands, c)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("visits: waiting room: %w", err)
		}
		// Who may be shown, and why: the clinician by the right to read the answers, the front
		// desk by its own grant.
		check := access.ReadWaitingRoom
		if clinician {
			check = access.ReadIntake
		}
		res := make([]access.Resource, len(cands))
		for i, c := range cands {
			res[i] = access.Resource{Type: "Appointment", ID: c.w.AppointmentID, PatientID: c.w.PatientID}
		}
		decisions := s.door.MayEach(ctx, by, check, res)
		var ids []string
		for i, d := range decisions {
			if d.Allow {
				ids = append(ids, cands[i].w.PatientID)
			}
		}
		names, err := s.records.OpenNames(ctx, ids)
		if err != nil {
			return nil, nil, err
		}
		out := []Waiting{}
		var shown []guard.Disclosed
		seen := map[string]bool{}
		for i, c := range cands {
			name, ok := names[c.w.PatientID]
			if !decisions[i].Allow || !ok {
				continue
			}
			c.w.PatientName = name
			if clinician && c.intake {
				in, err := s.openIntake(ctx, c.w.AppointmentID, c.w.PatientID)
				if err != nil {
					return nil, nil, err
				}
				c.w.Intake = &in
			}
			out = append(out, c.w)
			if !seen[c.w.PatientID] {
				seen[c.w.PatientID] = true
				shown = append(shown, guard.Disclosed{PatientID: c.w.PatientID, Reason: decisions[i].Reason})
			}
		}
		return out, shown, nil
	})
}
