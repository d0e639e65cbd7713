package visits

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"haven/internal/access"
	"haven/internal/guard"
)

// MaxListWindow is the longest period one list of appointments covers.
const MaxListWindow = 366 * 24 * time.Hour

// A list shows at most 2000 appointments (LIMIT below).
const (
	// The clinicians who can be booked at all: active clinician accounts.
	selectClinicians = `SELECT a.id, COALESCE(av.accepts_new, 0) FROM accounts a
		LEFT JOIN availability av ON av.clinician_id = a.id
		WHERE a.role = 'clinician' AND a.status = 'active' ORDER BY a.created_at, a.id`
	// A patient's clinicians by care team (package clinical's table, read for this one question)
	// and by a live appointment relationship (as AppointmentCare decides it).
	selectCaring = `SELECT clinician_id FROM care_team WHERE patient_id = $1
		UNION SELECT clinician_id FROM appointments
		WHERE patient_id = $1 AND state <> 'cancelled' AND booked_at <= $2 AND end_at >= $3`
	inCare = `SELECT (SELECT COUNT(*) FROM care_team WHERE patient_id = $1 AND clinician_id = $2)
		+ (SELECT COUNT(*) FROM appointments WHERE patient_id = $1 AND clinician_id = $2
			AND state <> 'cancelled' AND booked_at <= $3 AND end_at >= $4)`
	acceptsNew = `SELECT COUNT(*) FROM availability WHERE clinician_id = $1 AND accepts_new = 1`

	listColumns      = `SELECT id, clinician_id, patient_id, kind, state, start_at, end_at, version FROM appointments `
	listForPatient   = listColumns + `WHERE patient_id = $1 AND start_at < $2 AND end_at > $3 ORDER BY start_at, id LIMIT 2000`
	listForClinician = listColumns + `WHERE clinician_id = $1 AND start_at < $2 AND end_at > $3 ORDER BY start_at, id LIMIT 2000`
	listAll          = listColumns + `WHERE start_at < $1 AND end_at > $2 ORDER BY start_at, id LIMIT 2000`
)

// careWindow is now and the earliest appointment end still giving the appointment relationship.
func (s *Service) careWindow() (now, since int64) {
	t := s.now()
	return t.UnixNano(), t.Add(-time.Duration(s.cfg.CareDays) * 24 * time.Hour).UnixNano()
}

// bookable reports whether a patient may book the clinician: one caring for them (care team or
// appointment relationship), or, when the clinic allows open booking, one accepting new
// patients.
func (s *Service) bookable(ctx context.Context, patientID, clinicianID string) (bool, error) {
	now, since := s.careWindow()
	var n int
	if err := s.db.QueryRowPrepared(ctx, inCare, patientID, clinicianID, now, since).Scan(&n); err != nil {
		return false, fmt.Errorf("visits: in care: %w", err)
	}
	if n > 0 {
		return true, nil
	}
	if !s.cfg.OpenBooking {
		return false, nil
	}
	if err := s.db.QueryRowPrepared(ctx, acceptsNew, clinicianID).Scan(&n); err != nil {
		return false, fmt.Errorf("visits: accepts new patients: %w", err)
	}
	return n > 0, nil
}

// Clinicians lists the clinicians the caller may book (slots.read): a patient, those caring for
// them and, with open booking, those accepting new patients; staff, every active clinician.
// Names are staff names (package identity), not PHI.
func (s *Service) Clinicians(ctx context.Context, by access.Subject, o Origin) ([]Clinician, error) {
	return s.clinicians(ctx, by, "Clinician", o)
}

// clinicians is Clinicians as an act on resources of type typ: the clinicians themselves, or
// their schedules (a connected system's scopes name one or the other).
func (s *Service) clinicians(ctx context.Context, by access.Subject, typ string, o Origin) ([]Clinician, error) {
	return guard.Do(ctx, s.door, act(by, access.ReadSlots, typ, "", "", o), func(ctx context.Context) ([]Clinician, error) {
		type cand struct {
			id     string
			accept bool
		}
		rows, err := s.db.QueryPrepared(ctx, selectClinicians)
		if err != nil {
			return nil, fmt.Errorf("visits: clinicians: %w", err)
		}
		var all []cand
		for rows.Next() {
			var c cand
			var accept int
			if err := rows.Scan(&c.id, &accept); err != nil {
				rows.Close()
				return nil, fmt.Errorf("visits: clinicians: %w", err)
			}
			c.accept = accept != 0
			all = append(all, c)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("visits: clinicians: %w", err)
		}
		caring := map[string]bool{}
		if by.Role == access.Patient {
			if caring, err = s.caring(ctx, by.PatientID); err != nil {
				return nil, err
			}
		}
		out := []Clinician{}
		var ids []string
		for _, c := range all {
			switch {
			case by.Role != access.Patient:
			case caring[c.id]:
			case s.cfg.OpenBooking && c.accept:
			default:
				continue
			}
			out = append(out, Clinician{ID: c.id, InCare: caring[c.id]})
			ids = append(ids, c.id)
		}
		if len(ids) == 0 {
			return out, nil
		}
		names, err := s.people.DisplayNames(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("visits: clinicians' names: %w", err)
		}
		for i := range out {
			out[i].Name = names[out[i].ID]
		}
		slices.SortStableFunc(out, func(x, y Clinician) int {
			if x.InCare != y.InCare {
				if x.InCare {
					return -1
				}
				return 1
			}
			return cmp.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name))
		})
		return out, nil
	})
}

// caring returns the clinicians caring for a patient now, by care team or appointment.
func (s *Service) caring(ctx context.Context, patientID string) (map[string]bool, error) {
	now, since := s.careWindow()
	rows, err := s.db.QueryPrepared(ctx, selectCaring, patientID, now, since)
	if err != nil {
		return nil, fmt.Errorf("visits: clinicians caring: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("visits: clinicians caring: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// Appointments lists, in [from, to) (at most a year), a patient's own appointments with their
// clinicians' names, a clinician's schedule, or (front desk) the clinic's, with the patients'
// names (appointment.list). Each patient a staff list shows is an entry in their access log. A
// clinician's schedule shows the appointments of the patients still in their care: every live
// one, and those past or cancelled while another relationship (or the window after the visit)
// holds.
func (s *Service) Appointments(ctx context.Context, by access.Subject, from, to time.Time, o Origin) ([]Appointment, error) {
	a := act(by, access.ListAppointments, "Appointment", "", "", o)
	if by.Role == access.Patient {
		a.Resource.PatientID = by.PatientID
	}
	if err := s.door.Admit(ctx, a); err != nil {
		return nil, err
	}
	if err := checkWindow(from, to, MaxListWindow); err != nil {
		return nil, err
	}
	return guard.List(ctx, s.door, a, func(ctx context.Context) ([]Appointment, []guard.Disclosed, error) {
		var rs []row
		var err error
		switch by.Role {
		case access.Patient:
			rs, err = s.list(ctx, listForPatient, by.PatientID, to.UnixNano(), from.UnixNano())
		case access.Clinician:
			rs, err = s.list(ctx, listForClinician, by.AccountID, to.UnixNano(), from.UnixNano())
		default:
			rs, err = s.list(ctx, listAll, to.UnixNano(), from.UnixNano())
		}
		if err != nil {
			return nil, nil, err
		}
		if by.Role == access.Patient {
			return s.patientView(ctx, by, rs)
		}
		return s.staffView(ctx, by, rs)
	})
}

// patientView is a patient's own appointments with their clinicians' names: one entry, for
// themselves, if any is shown.
func (s *Service) patientView(ctx context.Context, by access.Subject, rs []row) ([]Appointment, []guard.Disclosed, error) {
	out := make([]Appointment, 0, len(rs))
	var ids []string
	for _, r := range rs {
		out = append(out, r.appointment())
		ids = append(ids, r.ClinicianID)
	}
	if len(out) == 0 {
		return out, nil, nil
	}
	names, err := s.people.DisplayNames(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("visits: clinicians' names: %w", err)
	}
	for i := range out {
		out[i].ClinicianName = names[out[i].ClinicianID]
	}
	return out, []guard.Disclosed{{PatientID: by.PatientID, Reason: access.ReasonSelf}}, nil
}

// staffView keeps the appointments whose patient the caller may see (the front desk: all; a
// clinician: those in their care, by MayEach on the patients' demographics, in one lookup),
// names those patients, and discloses each once.
func (s *Service) staffView(ctx context.Context, by access.Subject, rs []row) ([]Appointment, []guard.Disclosed, error) {
	patients := distinctPatients(rs)
	resources := make([]access.Resource, len(patients))
	for i, id := range patients {
		resources[i] = access.Resource{Type: "Patient", ID: id, PatientID: id}
	}
	reason := map[string]string{}
	for i, d := range s.door.MayEach(ctx, by, access.ReadDemographics, resources) {
		if d.Allow {
			reason[patients[i]] = d.Reason
		}
	}
	var shown []guard.Disclosed
	var named []string
	for _, id := range patients {
		if r, ok := reason[id]; ok {
			shown = append(shown, guard.Disclosed{PatientID: id, Reason: r})
			named = append(named, id)
		}
	}
	out := make([]Appointment, 0, len(rs))
	if len(named) == 0 {
		return out, nil, nil
	}
	names, err := s.records.OpenNames(ctx, named)
	if err != nil {
		return nil, nil, fmt.Errorf("visits: patients' names: %w", err)
	}
	for _, r := range rs {
		if _, ok := reason[r.PatientID]; !ok {
			continue
		}
		ap := r.appointment()
		ap.PatientName = names[r.PatientID]
		out = append(out, ap)
	}
	return out, shown, nil
}

func (s *Service) list(ctx context.Context, query string, args ...any) ([]row, error) {
	rows, err := s.db.QueryPrepared(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("visits: list appointments: %w", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			return nil, fmt.Errorf("visits: list appointments: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// distinctPatients are the patients of rs, each once, in the order they first appear.
func distinctPatients(rs []row) []string {
	var patients []string
	seen := map[string]bool{}
	for _, r := range rs {
		if !seen[r.PatientID] {
			seen[r.PatientID] = true
			patients = append(patients, r.PatientID)
		}
	}
	return patients
}
