package clinical

import (
	"context"
	"errors"
	"fmt"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
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
	a := act(by, access.SearchPatients, "Patient", "", "", o)
	if err := r.door.Admit(ctx, a); err != nil {
		return nil, err
	}
	col, ok := searchColumns[kind]
	if !ok {
		return nil, fault.InvalidField("by", "search by name, birthDate, email or phone")
	}
	bidx, err := r.cipher.BlindIndex(col.kind, value)
	if err != nil {
		return nil, fault.InvalidField("q", "enter a value to search for in the chosen field's format")
	}
	return guard.List(ctx, r.door, a, func(ctx context.Context) ([]Patient, []guard.Disclosed, error) {
		// col.column comes from the fixed table above, never from input.
		ids, err := r.queryIDs(ctx, `SELECT id FROM patients WHERE `+col.column+` = $1 ORDER BY created_at LIMIT 500`, bidx)
		if err != nil {
			return nil, nil, fmt.Errorf("clinical: search: %w", err)
		}
		return r.disclose(ctx, by, ids)
	})
}

// MyPatients lists the patients in the calling clinician's care team.
func (r *Records) MyPatients(ctx context.Context, by access.Subject, o Origin) ([]Patient, error) {
	return guard.List(ctx, r.door, act(by, access.ListCareTeam, "Patient", "", "", o), func(ctx context.Context) ([]Patient, []guard.Disclosed, error) {
		ids, err := r.queryIDs(ctx, selectMine, by.AccountID)
		if err != nil {
			return nil, nil, fmt.Errorf("clinical: my patients: %w", err)
		}
		return r.disclose(ctx, by, ids)
	})
}

// disclose opens the demographics of the candidates the caller may read and says whom it
// shows. Candidates the caller may not read are skipped. A record that does not open is shown
// by its identifier alone, flagged Unreadable, so one broken record denies no one else.
func (r *Records) disclose(ctx context.Context, by access.Subject, ids []string) ([]Patient, []guard.Disclosed, error) {
	out := []Patient{}
	var shown []guard.Disclosed
	rs := make([]access.Resource, len(ids))
	for i, id := range ids {
		rs[i] = access.Resource{Type: "Patient", ID: id, PatientID: id}
	}
	// One decision per candidate, made together: one care-team lookup for the whole list.
	decisions := r.door.MayEach(ctx, by, access.ReadRecord, rs)
	for i, id := range ids {
		if len(out) == maxSearchResults {
			break
		}
		if !decisions[i].Allow {
			continue
		}
		reason := decisions[i].Reason
		p, err := r.loadPatient(ctx, id)
		if errors.Is(err, ErrUnreadable) {
			p = Patient{ID: id, Unreadable: true}
		} else if err != nil {
			return nil, nil, err
		}
		out = append(out, p)
		shown = append(shown, guard.Disclosed{PatientID: id, Reason: reason})
	}
	return out, shown, nil
}

// queryIDs runs a query that selects one text column and returns its values. query is one of
// a fixed few texts, kept prepared.
func (r *Records) queryIDs(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := r.db.QueryPrepared(ctx, query, args...)
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
