package clinical

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/keys"
)

// The privacy officer's view of patients is their names and nothing else of the record. Their
// work is to tell who was accessed, so they may (access.IdentifyPatient), and every name they
// see is an entry in that patient's access log: the officer is watched as everyone else is.

// maxIdentified bounds the names one call opens (a page of the trail names fewer patients).
const maxIdentified = 200

const selectPatientName = `SELECT name_ct FROM patients WHERE id = $1`

// maxNamed bounds the patients one search by name finds for the privacy officer.
const maxNamed = 50

// PatientNames returns the names of the patients ids name, keyed by identifier, for the privacy
// officer reading the trail. Each patient named gets an entry (patient.identify) before any
// name is released. An identifier with no record, or whose name does not open (alarmed as
// unreadable), is left out. Nothing is recorded when ids names no one.
func (r *Records) PatientNames(ctx context.Context, by access.Subject, ids []string, o Origin) (map[string]string, error) {
	a := act(by, access.IdentifyPatient, "Patient", "", "", o)
	if err := r.door.Admit(ctx, a); err != nil {
		return nil, err
	}
	var want []string
	seen := map[string]bool{}
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" && !seen[id] && len(want) < maxIdentified {
			seen[id] = true
			want = append(want, id)
		}
	}
	if len(want) == 0 {
		return map[string]string{}, nil
	}
	return guard.List(ctx, r.door, a, func(ctx context.Context) (map[string]string, []guard.Disclosed, error) {
		out := map[string]string{}
		var shown []guard.Disclosed
		for _, id := range want {
			ok, reason := r.door.May(ctx, by, access.IdentifyPatient, access.Resource{Type: "Patient", ID: id, PatientID: id})
			if !ok {
				continue
			}
			name, err := r.loadName(ctx, id)
			if errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnreadable) {
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			out[id] = name
			shown = append(shown, guard.Disclosed{PatientID: id, Reason: reason})
		}
		return out, shown, nil
	})
}

// PatientsNamed finds the patients whose name has every part of name (in any order, a part of
// three or more characters as the start of one of theirs), through the search tokens as a
// clinician's search does, for the privacy officer's filter of the trail by patient. Nothing
// is decrypted to look, except the names of the candidates found when a typed part is longer
// than the tokens' prefixes. Each patient found is an entry in their access log.
func (r *Records) PatientsNamed(ctx context.Context, by access.Subject, name string, o Origin) ([]string, error) {
	a := act(by, access.IdentifyPatient, "Patient", "", "", o)
	if err := r.door.Admit(ctx, a); err != nil {
		return nil, err
	}
	sq, err := parseNameQuery(name)
	if err != nil {
		return nil, fault.InvalidField("patient", "enter the patient's name, or the start of each part of it")
	}
	macs, err := r.searchMACs(sq)
	if err != nil {
		return nil, err
	}
	return guard.List(ctx, r.door, a, func(ctx context.Context) ([]string, []guard.Disclosed, error) {
		ids, err := r.candidates(ctx, macs)
		if err != nil {
			return nil, nil, fmt.Errorf("clinical: patients named: %w", err)
		}
		out := []string{}
		var shown []guard.Disclosed
		for _, id := range ids {
			if len(out) == maxNamed {
				break
			}
			ok, reason := r.door.May(ctx, by, access.IdentifyPatient, access.Resource{Type: "Patient", ID: id, PatientID: id})
			if !ok {
				continue
			}
			if len(sq.long) > 0 {
				n, err := r.loadName(ctx, id)
				if errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnreadable) {
					continue
				}
				if err != nil {
					return nil, nil, err
				}
				if !sq.nameMatches(n) {
					continue
				}
			}
			out = append(out, id)
			shown = append(shown, guard.Disclosed{PatientID: id, Reason: reason})
		}
		return out, shown, nil
	})
}

// loadName opens a patient's name alone (minimum necessary).
func (r *Records) loadName(ctx context.Context, id string) (string, error) {
	var ct []byte
	err := r.db.QueryRowContext(ctx, selectPatientName, id).Scan(&ct)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("clinical: load patient name: %w", err)
	}
	pt, err := r.cipher.Open(ctx, id, keys.Location{Table: "patients", Row: id, Field: "name"}, ct)
	if err != nil {
		return "", r.unreadable(ctx, id, fmt.Errorf("clinical: open patient name: %w", err))
	}
	return string(pt), nil
}

// OpenNames opens the names of ids for another domain service's guarded list (a schedule, a
// waiting room) that has already decided each patient and records an entry for each one it
// shows: it is called only inside such a list's op, never to decide anything. A record with no
// name that opens is left out (and alarmed as unreadable).
func (r *Records) OpenNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		if _, done := out[id]; done {
			continue
		}
		name, err := r.loadName(ctx, id)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnreadable) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, nil
}
