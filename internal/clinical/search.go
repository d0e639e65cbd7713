package clinical

import (
	"context"
	"fmt"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/keys"
)

// SearchKind is what a search matches on.
type SearchKind string

// Search kinds, one per blind index.
const (
	ByName      SearchKind = "name"
	ByBirthDate SearchKind = "birthDate"
	ByEmail     SearchKind = "email"
	ByPhone     SearchKind = "phone"
)

var searchColumns = map[SearchKind]struct {
	column string
	kind   keys.IndexKind
}{
	ByName:      {"name_bidx", keys.IndexName},
	ByBirthDate: {"birth_date_bidx", keys.IndexBirthDate},
	ByEmail:     {"email_bidx", keys.IndexEmail},
	ByPhone:     {"phone_bidx", keys.IndexPhone},
}

// maxSearchResults bounds what one search can disclose.
const maxSearchResults = 50

// Search finds patients in the caller's care by exact (normalised) name, birth date, e-mail or
// phone. Matches outside the caller's care are dropped without a trace in the answer. Each
// patient disclosed gets an audit entry, so it appears in that patient's access log.
func (r *Records) Search(ctx context.Context, by access.Subject, kind SearchKind, value string, o Origin) ([]Patient, error) {
	col, ok := searchColumns[kind]
	if !ok {
		return nil, &FieldError{"by", "search by name, birthDate, email or phone"}
	}
	d := r.policy.Decide(ctx, by, access.SearchPatients, access.Resource{Type: "Patient"})
	if !d.Allow {
		if err := r.record(ctx, by, string(access.SearchPatients), access.Resource{Type: "Patient"}, "", audit.Deny, d.Reason, o); err != nil {
			return nil, err
		}
		return nil, ErrForbidden
	}
	bidx, err := r.cipher.BlindIndex(col.kind, value)
	if err != nil {
		return nil, &FieldError{"q", "enter a value to search for in the chosen field's format"}
	}
	// col.column comes from the fixed table above, never from input.
	ids, err := r.queryIDs(ctx, `SELECT id FROM patients WHERE `+col.column+` = $1 ORDER BY created_at LIMIT 500`, bidx)
	if err != nil {
		return nil, fmt.Errorf("clinical: search: %w", err)
	}
	return r.disclose(ctx, by, ids, string(access.SearchPatients), o)
}

// MyPatients lists the patients in the calling clinician's care team.
func (r *Records) MyPatients(ctx context.Context, by access.Subject, o Origin) ([]Patient, error) {
	d := r.policy.Decide(ctx, by, access.ListCareTeam, access.Resource{Type: "Patient"})
	if !d.Allow {
		if err := r.record(ctx, by, string(access.ListCareTeam), access.Resource{Type: "Patient"}, "", audit.Deny, d.Reason, o); err != nil {
			return nil, err
		}
		return nil, ErrForbidden
	}
	ids, err := r.queryIDs(ctx, selectMine, by.AccountID)
	if err != nil {
		return nil, fmt.Errorf("clinical: my patients: %w", err)
	}
	return r.disclose(ctx, by, ids, string(access.ListCareTeam), o)
}

// disclose opens the demographics of the candidates the caller may read, auditing each one
// disclosed, and returns them. Candidates the caller may not read are skipped.
func (r *Records) disclose(ctx context.Context, by access.Subject, ids []string, action string, o Origin) ([]Patient, error) {
	out := []Patient{}
	for _, id := range ids {
		if len(out) == maxSearchResults {
			break
		}
		res := access.Resource{Type: "Patient", PatientID: id}
		d := r.policy.Decide(ctx, by, access.ReadRecord, res)
		if !d.Allow {
			continue
		}
		p, err := r.loadPatient(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := r.record(ctx, by, action, res, id, audit.Allow, d.Reason, o); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		// A search or list that disclosed no one is still a PHI operation (it says what the
		// caller looked for): it is recorded once, with no patient.
		if err := r.record(ctx, by, action, access.Resource{Type: "Patient"}, "", audit.Allow, access.ReasonWorkforce, o); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// queryIDs runs a query that selects one text column and returns its values.
func (r *Records) queryIDs(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := r.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
