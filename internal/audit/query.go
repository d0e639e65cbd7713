package audit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"haven/internal/store"
)

// Filter selects entries. Empty fields match everything.
type Filter struct {
	PatientID string
	// PatientIDs matches entries about any one of these patients (as well as PatientID, if
	// set): a name the privacy officer typed can name more than one patient. An empty list
	// matches everything; a caller that found no patient must not search at all.
	PatientIDs []string
	ActorID    string
	Action     string
	Outcome    string
	From, To   time.Time // recorded at or after From, before To
	// Before pages back through the log: only entries with a smaller index. Zero is the end.
	Before int64
	Limit  int // newest first; at most 1000, default 200
}

// Search returns the entries matching f, newest first. It decides nothing: callers ask the
// policy first (package clinical, for patients and auditors).
func Search(ctx context.Context, db *store.DB, f Filter) ([]Entry, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1))
	}
	if f.PatientID != "" {
		add("patient_id = ?", f.PatientID)
	}
	if len(f.PatientIDs) > 0 {
		marks := make([]string, len(f.PatientIDs))
		for i, id := range f.PatientIDs {
			args = append(args, id)
			marks[i] = "$" + strconv.Itoa(len(args))
		}
		where = append(where, "patient_id IN ("+strings.Join(marks, ", ")+")")
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Outcome != "" {
		add("outcome = ?", f.Outcome)
	}
	if !f.From.IsZero() {
		add("recorded_at >= ?", f.From.UnixNano())
	}
	if !f.To.IsZero() {
		add("recorded_at < ?", f.To.UnixNano())
	}
	if f.Before > 0 {
		add("seq < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	q := selectEntryRows
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC LIMIT " + strconv.Itoa(limit)
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: search: %w", err)
	}
	defer rows.Close()
	out := []Entry{}
	for rows.Next() {
		row, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("audit: search: %w", err)
		}
		out = append(out, row.Entry)
	}
	return out, rows.Err()
}

// Since returns up to limit entries with an index greater than after, oldest first: the feed
// the security detectors follow.
func Since(ctx context.Context, db *store.DB, after int64, limit int) ([]Entry, error) {
	rows, err := db.QueryContext(ctx, selectEntryRows+` WHERE seq > $1 ORDER BY seq LIMIT `+strconv.Itoa(limit), after)
	if err != nil {
		return nil, fmt.Errorf("audit: since: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		row, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("audit: since: %w", err)
		}
		out = append(out, row.Entry)
	}
	return out, rows.Err()
}
