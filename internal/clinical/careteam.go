package clinical

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"haven/internal/access"
	"haven/internal/store"
)

// Assign puts a clinician in a patient's care team. Administrators do this knowing only
// identifiers: no PHI is read or returned.
func (r *Records) Assign(ctx context.Context, by access.Subject, patientID, clinicianID string, o Origin) error {
	res := access.Resource{Type: "CareTeam", PatientID: patientID}
	if err := r.decideAndAudit(ctx, by, access.AssignPatient, res, clinicianID, o); err != nil {
		return err
	}
	var exists int
	if err := r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM patients WHERE id = $1`, patientID).Scan(&exists); err != nil {
		return fmt.Errorf("clinical: assign: %w", err)
	}
	if exists == 0 {
		return &FieldError{"patientId", "no patient has this identifier"}
	}
	var role string
	err := r.db.QueryRowContext(ctx, `SELECT role FROM accounts WHERE id = $1`, clinicianID).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && role != string(access.Clinician)) {
		return &FieldError{"clinicianId", "no clinician has this identifier"}
	}
	if err != nil {
		return fmt.Errorf("clinical: assign: %w", err)
	}
	if _, err := r.db.ExecContext(ctx, insertCareTeam, patientID, clinicianID, "assigned", r.now().UnixNano()); err != nil {
		if store.IsUniqueViolation(err) {
			return nil
		}
		return fmt.Errorf("clinical: assign: %w", err)
	}
	return nil
}

// PatientIDs lists every patient identifier with its care team's clinician identifiers, for
// administrators assigning care. It reveals no PHI.
func (r *Records) PatientIDs(ctx context.Context, by access.Subject) (map[string][]string, error) {
	if !r.decideOnly(ctx, by, access.ManageAccounts, access.Resource{Type: "Patient"}) {
		return nil, ErrForbidden
	}
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
