package consult

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"haven/internal/access"
	"haven/internal/guard"
	"haven/internal/ids"
)

// A thread is a visit's chat, "visit.<visitId>", or a patient's secure messaging with their
// care team, "patient.<patientId>" (docs/e2ee.md section 3).
const (
	visitThreadPrefix   = "visit."
	patientThreadPrefix = "patient."
)

// VisitThread and PatientThread name threads.
func VisitThread(visitID string) string     { return visitThreadPrefix + visitID }
func PatientThread(patientID string) string { return patientThreadPrefix + patientID }

// ResourceThread is the resource type of message acts.
const ResourceThread = "Thread"

// visitRow is what the service reads of a visit: identifiers only.
type visitRow struct {
	id, patientID, clinicianID, state string
}

const selectVisitRow = `SELECT id, patient_id, clinician_id, state FROM appointments WHERE id = $1`

// loadVisit reads a visit; a visit that does not exist is a zero row, which the policy refuses
// as it would another patient's visit (the answer never says which identifiers exist).
func (s *Service) loadVisit(ctx context.Context, id string) (visitRow, error) {
	if !ids.Valid(id) {
		return visitRow{}, nil
	}
	var v visitRow
	err := s.db.QueryRowContext(ctx, selectVisitRow, id).Scan(&v.id, &v.patientID, &v.clinicianID, &v.state)
	if errors.Is(err, sql.ErrNoRows) {
		return visitRow{}, nil
	}
	if err != nil {
		return visitRow{}, fmt.Errorf("consult: load visit: %w", err)
	}
	return v, nil
}

// thread is a thread resolved: its patient and, for a visit's chat, its visit.
type thread struct {
	id, patientID, visitID string
}

// resolve reads a thread identifier. One that names nothing, or is not a thread identifier at
// all, resolves to a thread with no patient, which the door refuses as it would another
// patient's: the answer never tells which identifiers exist.
func (s *Service) resolve(ctx context.Context, id string) (thread, error) {
	switch {
	case strings.HasPrefix(id, visitThreadPrefix):
		vid := strings.TrimPrefix(id, visitThreadPrefix)
		if !ids.Valid(vid) {
			return thread{}, nil
		}
		v, err := s.loadVisit(ctx, vid)
		if err != nil {
			return thread{}, err
		}
		return thread{id: id, patientID: v.patientID, visitID: vid}, nil
	case strings.HasPrefix(id, patientThreadPrefix):
		pid := strings.TrimPrefix(id, patientThreadPrefix)
		if !ids.Valid(pid) {
			return thread{}, nil
		}
		return thread{id: id, patientID: pid}, nil
	}
	return thread{}, nil
}

// act is the act a on the thread: for a visit's chat the resource is the visit (so a guest is
// decided by their invitation to it), for a patient's thread the thread itself.
func (t thread) act(by access.Subject, a access.Action, o Origin) guard.Act {
	rid := t.id
	if t.visitID != "" {
		rid = t.visitID
	}
	return act(by, a, ResourceThread, rid, t.patientID, o)
}

func unixRFC3339(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
