package clinical

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/store"
)

// Assign puts a clinician in a patient's care team. Administrators do this knowing only
// identifiers: no PHI is read or returned.
func (r *Records) Assign(ctx context.Context, by access.Subject, patientID, clinicianID string, o Origin) error {
	a := act(by, access.AssignPatient, "CareTeam", clinicianID, patientID, o)
	if err := r.door.Admit(ctx, a); err != nil {
		return err
	}
	if err := r.checkPair(ctx, patientID, clinicianID); err != nil {
		return err
	}
	return guard.Run(ctx, r.door, a, func(ctx context.Context) error {
		if _, err := r.db.ExecContext(ctx, insertCareTeam, patientID, clinicianID, "assigned", r.now().UnixNano()); err != nil {
			if store.IsUniqueViolation(err) {
				return nil
			}
			return fmt.Errorf("clinical: assign: %w", err)
		}
		return nil
	})
}

// Unassign takes a clinician out of a patient's care team, whatever put them there. From the
// next request on, the policy refuses that clinician the patient's record: the relationship is
// read from the database on every decision, never cached.
func (r *Records) Unassign(ctx context.Context, by access.Subject, patientID, clinicianID string, o Origin) error {
	a := act(by, access.UnassignPatient, "CareTeam", clinicianID, patientID, o)
	if err := r.door.Admit(ctx, a); err != nil {
		return err
	}
	if err := r.checkPair(ctx, patientID, clinicianID); err != nil {
		return err
	}
	return guard.Run(ctx, r.door, a, func(ctx context.Context) error {
		if _, err := r.db.ExecContext(ctx, deleteCareTeam, patientID, clinicianID); err != nil {
			return fmt.Errorf("clinical: unassign: %w", err)
		}
		return nil
	})
}

// checkPair refuses an assignment that names no patient or no clinician.
func (r *Records) checkPair(ctx context.Context, patientID, clinicianID string) error {
	var exists int
	if err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM patients WHERE id = $1`, patientID).Scan(&exists); err != nil {
		return fmt.Errorf("clinical: care team: %w", err)
	}
	if exists == 0 {
		return fault.InvalidField("patientId", "no patient has this identifier")
	}
	var role string
	err := r.db.QueryRowContext(ctx, `SELECT role FROM accounts WHERE id = $1`, clinicianID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && role != string(access.Clinician) && role != string(access.Nurse)) {
		return fault.InvalidField("clinicianId", "no clinician or nurse has this identifier")
	}
	if err != nil {
		return fmt.Errorf("clinical: care team: %w", err)
	}
	return nil
}

// PatientIDs lists every patient identifier with its care team's clinician identifiers, for
// administrators assigning care. It reveals no PHI.
func (r *Records) PatientIDs(ctx context.Context, by access.Subject, o Origin) (map[string][]string, error) {
	return guard.Do(ctx, r.door, act(by, access.ManageAccounts, "Patient", "", "", o), r.patientIDs)
}

func (r *Records) patientIDs(ctx context.Context) (map[string][]string, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT p.id, COALESCE(c.clinician_id, '') FROM patients p
		LEFT JOIN care_team c ON c.patient_id = p.id ORDER BY p.created_at`)
	if err != nil {
		return nil, fmt.Errorf("clinical: patient ids: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var p, c string
		if err := rows.Scan(&p, &c); err != nil {
			return nil, fmt.Errorf("clinical: patient ids: %w", err)
		}
		if _, ok := out[p]; !ok {
			out[p] = []string{}
		}
		if c != "" {
			out[p] = append(out[p], c)
		}
	}
	return out, rows.Err()
}
