package visits

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"haven/internal/access"
	"haven/internal/guard"
)

// What a transport for other systems (package fhir) reads of the schedule, each read its own
// act at the door like the JSON API's. The acts name the resource type the caller asks for (a
// clinician's schedule, a slot, a visit), so that a connected system's scopes are checked
// against that type rather than against the JSON API's.

// Bookable lists the clinicians the caller may book, as Clinicians does, as an act on
// resources of type typ: "Clinician", "Availability" (their schedules) or "Slot" (their free
// times), so that a connected system's scopes are checked against what it asked for.
func (s *Service) Bookable(ctx context.Context, by access.Subject, typ string, o Origin) ([]Clinician, error) {
	switch typ {
	case "Clinician", "Availability", "Slot":
	default:
		return nil, fmt.Errorf("visits: bookable clinicians as %q: not a type of the schedule", typ)
	}
	return s.clinicians(ctx, by, typ, o)
}

// Role is a clinician's role at the clinic: bookable, with their hours if they have set them.
type Role struct {
	Clinician
	Hours *Availability
}

// Roles lists the clinicians the caller may book with their hours, in one act (slots.read on
// "PractitionerRole"): hours are no PHI, and the list's decision covers them.
func (s *Service) Roles(ctx context.Context, by access.Subject, o Origin) ([]Role, error) {
	cs, err := s.clinicians(ctx, by, "PractitionerRole", o)
	if err != nil {
		return nil, err
	}
	out := make([]Role, 0, len(cs))
	for _, c := range cs {
		r := Role{Clinician: c}
		av, err := s.loadAvailability(ctx, c.ID)
		switch {
		case err == nil:
			r.Hours = &av
		case !errors.Is(err, ErrNoHours):
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// OpenSlots is Slots as an act on the slots themselves (slots.read on "Slot").
func (s *Service) OpenSlots(ctx context.Context, by access.Subject, clinicianID string, from, to time.Time, o Origin) ([]Slot, error) {
	return s.slots(ctx, by, "Slot", clinicianID, from, to, o)
}

// AppointmentByID reads one appointment (appointment.list, decided with its patient): a
// patient their own, a clinician one of their schedule, the front desk any. A patient sees
// their clinician's name, staff the patient's; a connected system neither.
func (s *Service) AppointmentByID(ctx context.Context, by access.Subject, id string, o Origin) (Appointment, error) {
	if !validID(id) {
		return Appointment{}, ErrNotFound
	}
	r, a, err := s.admitOn(ctx, by, access.ListAppointments, id, o)
	if err != nil {
		return Appointment{}, err
	}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (Appointment, error) {
		ap := r.appointment()
		s.nameClinician(ctx, by, &ap)
		if by.Role == access.FrontDesk || by.Role == access.Clinician {
			// As the schedule's list names them: the act's entry names the patient.
			names, err := s.records.OpenNames(ctx, []string{r.PatientID})
			if err != nil {
				return Appointment{}, fmt.Errorf("visits: patient's name: %w", err)
			}
			ap.PatientName = names[r.PatientID]
		}
		return ap, nil
	})
}

// AppointmentFilter narrows FindAppointments: a patient, a clinician, and the period [From,
// To) (at most MaxListWindow) the appointments overlap.
type AppointmentFilter struct {
	PatientID, ClinicianID string
	From, To               time.Time
}

// FindAppointments is Appointments narrowed to one patient or one clinician: only the
// appointments that match are disclosed (and recorded). A patient names themselves or no one;
// naming another patient is refused, and recorded, by the policy.
func (s *Service) FindAppointments(ctx context.Context, by access.Subject, f AppointmentFilter, o Origin) ([]Appointment, error) {
	if by.Role == access.Patient && f.PatientID == "" {
		f.PatientID = by.PatientID
	}
	a := act(by, access.ListAppointments, "Appointment", "", f.PatientID, o)
	if err := s.door.Admit(ctx, a); err != nil {
		return nil, err
	}
	if err := checkWindow(f.From, f.To, MaxListWindow); err != nil {
		return nil, err
	}
	to, from := f.To.UnixNano(), f.From.UnixNano()
	return guard.List(ctx, s.door, a, func(ctx context.Context) ([]Appointment, []guard.Disclosed, error) {
		var rs []row
		var err error
		switch {
		case f.PatientID != "":
			rs, err = s.list(ctx, listForPatient, f.PatientID, to, from)
		case by.Role == access.Clinician:
			rs, err = s.list(ctx, listForClinician, by.AccountID, to, from)
		default:
			rs, err = s.list(ctx, listAll, to, from)
		}
		if err != nil {
			return nil, nil, err
		}
		kept := rs[:0]
		for _, r := range rs {
			// A clinician's list is their own schedule, whoever else the patient sees.
			if (f.ClinicianID == "" || r.ClinicianID == f.ClinicianID) && (by.Role != access.Clinician || r.ClinicianID == by.AccountID) {
				kept = append(kept, r)
			}
		}
		switch by.Role {
		case access.Patient:
			return s.patientView(ctx, by, kept)
		case access.Integration:
			return s.systemView(ctx, by, kept)
		}
		return s.staffView(ctx, by, kept)
	})
}

// systemView keeps the appointments a connected system may list, patient by patient (its
// scopes name appointments, not necessarily patients' demographics: it is shown no names),
// and discloses each patient once.
func (s *Service) systemView(ctx context.Context, by access.Subject, rs []row) ([]Appointment, []guard.Disclosed, error) {
	patients := distinctPatients(rs)
	resources := make([]access.Resource, len(patients))
	for i, id := range patients {
		resources[i] = access.Resource{Type: "Appointment", PatientID: id}
	}
	reason := map[string]string{}
	var shown []guard.Disclosed
	for i, d := range s.door.MayEach(ctx, by, access.ListAppointments, resources) {
		if d.Allow {
			reason[patients[i]] = d.Reason
			shown = append(shown, guard.Disclosed{PatientID: patients[i], Reason: d.Reason})
		}
	}
	out := make([]Appointment, 0, len(rs))
	for _, r := range rs {
		if _, ok := reason[r.PatientID]; ok {
			out = append(out, r.appointment())
		}
	}
	return out, shown, nil
}

// VisitRecord is a visit as a record of care (an encounter): its appointment and when the
// patient checked in, was let in, and the visit ended (zero when not so).
type VisitRecord struct {
	Appointment
	CheckedInAt, AdmittedAt, EndedAt time.Time
}

const (
	visitRecordColumns = `SELECT id, clinician_id, patient_id, kind, state, start_at, end_at, version,
		checked_in_at, admitted_at, ended_at FROM appointments `
	selectVisitRecord  = visitRecordColumns + `WHERE id = $1`
	selectVisitRecords = visitRecordColumns + `WHERE patient_id = $1 AND start_at < $2 AND end_at > $3 ORDER BY start_at, id LIMIT 2000`
)

func scanVisitRecord(sc scanner) (VisitRecord, error) {
	var v VisitRecord
	var st, en int64
	var checked, admitted, ended sql.NullInt64
	if err := sc.Scan(&v.ID, &v.ClinicianID, &v.PatientID, &v.Kind, &v.State, &st, &en, &v.Version, &checked, &admitted, &ended); err != nil {
		return VisitRecord{}, err
	}
	v.Start, v.End = unix(st), unix(en)
	v.CheckedInAt, v.AdmittedAt, v.EndedAt = nullUnix(checked), nullUnix(admitted), nullUnix(ended)
	return v, nil
}

// VisitByID reads one visit as a record of care (visit.read on "Visit"): identifiers, state and
// times, no names. A visit that does not exist is refused as another patient's would be, so
// the answer never tells which identifiers exist.
func (s *Service) VisitByID(ctx context.Context, by access.Subject, id string, o Origin) (VisitRecord, error) {
	var v VisitRecord
	var err error
	if validID(id) {
		v, err = scanVisitRecord(s.db.QueryRowPrepared(ctx, selectVisitRecord, id))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return VisitRecord{}, fmt.Errorf("visits: load visit: %w", err)
		}
	}
	rid := id
	if !validID(id) {
		rid = ""
	}
	return guard.Do(ctx, s.door, act(by, access.ReadVisit, "Visit", rid, v.PatientID, o), func(ctx context.Context) (VisitRecord, error) {
		if v.ID == "" {
			return VisitRecord{}, ErrNotFound
		}
		return v, nil
	})
}

// PatientVisits lists one patient's visits overlapping [from, to) (at most MaxListWindow) as
// records of care (visit.read on "Visit", decided with the patient): one entry, for them.
func (s *Service) PatientVisits(ctx context.Context, by access.Subject, patientID string, from, to time.Time, o Origin) ([]VisitRecord, error) {
	if by.Role == access.Patient && patientID == "" {
		patientID = by.PatientID
	}
	a := act(by, access.ReadVisit, "Visit", "", patientID, o)
	if err := s.door.Admit(ctx, a); err != nil {
		return nil, err
	}
	if err := checkWindow(from, to, MaxListWindow); err != nil {
		return nil, err
	}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) ([]VisitRecord, error) {
		rows, err := s.db.QueryPrepared(ctx, selectVisitRecords, patientID, to.UnixNano(), from.UnixNano())
		if err != nil {
			return nil, fmt.Errorf("visits: list visits: %w", err)
		}
		defer rows.Close()
		out := []VisitRecord{}
		for rows.Next() {
			v, err := scanVisitRecord(rows)
			if err != nil {
				return nil, fmt.Errorf("visits: list visits: %w", err)
			}
			out = append(out, v)
		}
		return out, rows.Err()
	})
}
