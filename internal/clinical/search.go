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

// Search finds patients in the caller's care. With no kind, value is a free-text search
// (query.go): name parts in any order, prefixes of them, a phone number with or without its
// country code, a birth date, an e-mail address, every term matching, through the search
// tokens. With a kind, value is matched whole (normalised) through that field's blind index,
// as before search tokens. Matches outside the caller's care are dropped without a trace in
// the answer. Each patient disclosed gets an audit entry, so it appears in that patient's
// access log.
func (r *Records) Search(ctx context.Context, by access.Subject, kind SearchKind, value string, o Origin) ([]Patient, error) {
	page, err := r.SearchWindow(ctx, by, kind, value, Window{}, o)
	return page.Patients, err
}

// Window is the part of a list's matches to show: Limit of them after the first Offset, in
// the list's order. The zero Window is every match.
type Window struct{ Offset, Limit int }

// SearchPage is one window of a search's matches, and how many matches there are in all (up
// to the search's bound).
type SearchPage struct {
	Patients []Patient
	Total    int
}

// SearchWindow is Search showing only the window w of its matches (a FHIR searchset's page):
// only the patients in the window are disclosed, and only they get an entry. The matches
// outside it are counted, never shown.
func (r *Records) SearchWindow(ctx context.Context, by access.Subject, kind SearchKind, value string, w Window, o Origin) (SearchPage, error) {
	a := act(by, access.SearchPatients, "Patient", "", "", o)
	if err := r.door.Admit(ctx, a); err != nil {
		return SearchPage{}, err
	}
	if kind == "" {
		return r.searchText(ctx, by, a, value, w)
	}
	col, ok := searchColumns[kind]
	if !ok {
		return SearchPage{}, fault.InvalidField("by", "search by name, birthDate, email or phone, or leave it out to search by any of them")
	}
	bidx, err := r.cipher.BlindIndex(col.kind, value)
	if err != nil {
		return SearchPage{}, fault.InvalidField("q", "enter a value to search for in the chosen field's format")
	}
	return guard.List(ctx, r.door, a, func(ctx context.Context) (SearchPage, []guard.Disclosed, error) {
		// col.column comes from the fixed table above, never from input.
		ids, err := r.queryIDs(ctx, `SELECT id FROM patients WHERE `+col.column+` = $1 ORDER BY created_at LIMIT 500`, bidx)
		if err != nil {
			return SearchPage{}, nil, fmt.Errorf("clinical: search: %w", err)
		}
		return r.discloseWindow(ctx, by, ids, nil, w)
	})
}

func (r *Records) searchText(ctx context.Context, by access.Subject, a guard.Act, value string, w Window) (SearchPage, error) {
	sq, err := parseQuery(value)
	if err != nil {
		return SearchPage{}, err
	}
	macs, err := r.searchMACs(sq)
	if err != nil {
		return SearchPage{}, err
	}
	return guard.List(ctx, r.door, a, func(ctx context.Context) (SearchPage, []guard.Disclosed, error) {
		ids, err := r.candidates(ctx, macs)
		if err != nil {
			return SearchPage{}, nil, fmt.Errorf("clinical: search: %w", err)
		}
		return r.discloseWindow(ctx, by, ids, func(p Patient) bool { return sq.nameMatches(p.Name) }, w)
	})
}

// searchMACs are the keyed forms of a search's tokens, and of its e-mail address.
type searchMACs struct {
	tokens [][]byte
	email  []byte
}

func (r *Records) searchMACs(sq searchQuery) (searchMACs, error) {
	var m searchMACs
	for _, t := range sq.tokens {
		mac, err := r.cipher.BlindIndex(keys.IndexSearch, t)
		if err != nil {
			return m, fmt.Errorf("clinical: search token: %w", err)
		}
		m.tokens = append(m.tokens, mac)
	}
	if sq.email != "" {
		b, err := r.cipher.BlindIndex(keys.IndexEmail, sq.email)
		if err != nil {
			return m, fault.InvalidField("q", "enter a valid e-mail address")
		}
		m.email = b
	}
	return m, nil
}

// Candidate queries. The token list always has maxQueryTerms places (the last token repeated,
// which changes nothing in an IN), so each query has one text, prepared once; a record matches
// when it has every distinct token ($9). Tokens are unique per record, so COUNT(*) counts them.
const (
	tokenIn        = `($1, $2, $3, $4, $5, $6, $7, $8)`
	selectByTokens = `SELECT t.patient_id FROM patient_search_tokens t JOIN patients p ON p.id = t.patient_id
		WHERE t.token_mac IN ` + tokenIn + `
		GROUP BY t.patient_id, p.created_at HAVING COUNT(*) = $9 ORDER BY p.created_at, t.patient_id LIMIT 500`
	selectByTokensAndEmail = `SELECT t.patient_id FROM patient_search_tokens t JOIN patients p ON p.id = t.patient_id
		WHERE t.token_mac IN ` + tokenIn + ` AND p.email_bidx = $10
		GROUP BY t.patient_id, p.created_at HAVING COUNT(*) = $9 ORDER BY p.created_at, t.patient_id LIMIT 500`
	selectByEmail = `SELECT id FROM patients WHERE email_bidx = $1 ORDER BY created_at, id LIMIT 500`
)

// candidates returns the records that have every token (and the e-mail address), oldest
// first, at most 500: the most one search considers before the policy filters them.
func (r *Records) candidates(ctx context.Context, m searchMACs) ([]string, error) {
	if len(m.tokens) == 0 {
		if m.email == nil {
			return nil, nil
		}
		return r.queryIDs(ctx, selectByEmail, m.email)
	}
	if len(m.tokens) > maxQueryTerms {
		return nil, errManyTerms
	}
	args := make([]any, 0, maxQueryTerms+2)
	for i := range maxQueryTerms {
		args = append(args, m.tokens[min(i, len(m.tokens)-1)])
	}
	args = append(args, int64(len(m.tokens)))
	if m.email == nil {
		return r.queryIDs(ctx, selectByTokens, args...)
	}
	return r.queryIDs(ctx, selectByTokensAndEmail, append(args, m.email)...)
}

// MyPatients lists the patients in the calling clinician's care team.
func (r *Records) MyPatients(ctx context.Context, by access.Subject, o Origin) ([]Patient, error) {
	return guard.List(ctx, r.door, act(by, access.ListCareTeam, "Patient", "", "", o), func(ctx context.Context) ([]Patient, []guard.Disclosed, error) {
		ids, err := r.queryIDs(ctx, selectMine, by.AccountID)
		if err != nil {
			return nil, nil, fmt.Errorf("clinical: my patients: %w", err)
		}
		return r.disclose(ctx, by, ids, nil)
	})
}

// disclose opens the demographics of the candidates the caller may read and says whom it
// shows. Candidates the caller may not read are skipped, as are those keep (if not nil) turns
// down once opened. A record that does not open is shown by its identifier alone, flagged
// Unreadable, so one broken record denies no one else.
func (r *Records) disclose(ctx context.Context, by access.Subject, ids []string, keep func(Patient) bool) ([]Patient, []guard.Disclosed, error) {
	page, shown, err := r.discloseWindow(ctx, by, ids, keep, Window{})
	return page.Patients, shown, err
}

// discloseWindow is disclose showing only the window w of the matches; the others are
// counted in Total (opened to tell whether keep wants them, never shown or recorded).
func (r *Records) discloseWindow(ctx context.Context, by access.Subject, ids []string, keep func(Patient) bool, w Window) (SearchPage, []guard.Disclosed, error) {
	out := []Patient{}
	var shown []guard.Disclosed
	matched := 0
	rs := make([]access.Resource, len(ids))
	for i, id := range ids {
		rs[i] = access.Resource{Type: "Patient", ID: id, PatientID: id}
	}
	// One decision per candidate, made together: one care-team lookup for the whole list.
	decisions := r.door.MayEach(ctx, by, access.ReadDemographics, rs)
	for i, id := range ids {
		if matched == maxSearchResults {
			break
		}
		if !decisions[i].Allow {
			continue
		}
		reason := decisions[i].Reason
		p, err := r.loadPatient(ctx, id)
		if errors.Is(err, ErrUnreadable) {
			p = Patient{ID: id, PatientID: id, Unreadable: true}
		} else if err != nil {
			return SearchPage{}, nil, err
		} else if keep != nil && !keep(p) {
			continue
		}
		matched++
		if matched <= w.Offset || (w.Limit > 0 && matched > w.Offset+w.Limit) {
			continue // a match outside the window: counted, not shown
		}
		out = append(out, p)
		shown = append(shown, guard.Disclosed{PatientID: id, Reason: reason})
	}
	return SearchPage{Patients: out, Total: matched}, shown, nil
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
