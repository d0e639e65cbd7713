package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"haven/internal/store"
)

// Report is the result of verifying the stored log.
type Report struct {
	Entries  int64  // rows read
	FirstBad int64  // index of the first entry that fails, 0 if none
	Problem  string // what is wrong at FirstBad (or with the head), empty if the log verifies
}

// OK reports whether the log verified.
func (r Report) OK() bool { return r.Problem == "" }

const selectEntries = `SELECT seq, recorded_at, actor_id, actor_role, action, resource_type, resource_id,
	patient_id, outcome, reason, source_addr, request_id, prev_hash, hash FROM audit_entries ORDER BY seq`

// Verify recomputes the hash chain over every stored entry and checks it against the head. It
// detects a modified, deleted, inserted or reordered entry and a truncated log, and names the
// first index where the stored log departs from what was appended.
func Verify(ctx context.Context, db *store.DB) (Report, error) {
	rows, err := db.QueryContext(ctx, selectEntries)
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: read entries: %w", err)
	}
	defer rows.Close()
	var rep Report
	var prev []byte
	for rows.Next() {
		var e Entry
		var ns int64
		var storedPrev, storedHash []byte
		if err := rows.Scan(&e.Seq, &ns, &e.ActorID, &e.ActorRole, &e.Action, &e.ResourceType, &e.ResourceID,
			&e.PatientID, &e.Outcome, &e.Reason, &e.SourceAddr, &e.RequestID, &storedPrev, &storedHash); err != nil {
			return Report{}, fmt.Errorf("audit: verify: scan entry: %w", err)
		}
		e.Time = time.Unix(0, ns).UTC()
		rep.Entries++
		want := rep.Entries
		switch {
		case e.Seq != want:
			return bad(rep, want, fmt.Sprintf("expected index %d, found %d: an entry was deleted or inserted", want, e.Seq)), nil
		case !bytes.Equal(storedPrev, prev):
			return bad(rep, want, "link to the previous entry is broken: entries were reordered, inserted or deleted"), nil
		case !bytes.Equal(chainHash(prev, e), storedHash):
			return bad(rep, want, "entry content does not match its hash: it was modified"), nil
		}
		prev = storedHash
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("audit: verify: read entries: %w", err)
	}
	var size int64
	var head []byte
	err = db.QueryRowContext(ctx, selectHead).Scan(&size, &head)
	if errors.Is(err, sql.ErrNoRows) {
		if rep.Entries == 0 {
			return rep, nil
		}
		return bad(rep, 1, "the chain head is missing"), nil
	}
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: read head: %w", err)
	}
	if size != rep.Entries {
		return bad(rep, min(size, rep.Entries)+1, fmt.Sprintf("the head records %d entries but %d are stored: the log was truncated or extended", size, rep.Entries)), nil
	}
	if !bytes.Equal(head, prev) {
		return bad(rep, size, "the last entry does not match the head"), nil
	}
	return rep, nil
}

func bad(rep Report, index int64, problem string) Report {
	rep.FirstBad = index
	rep.Problem = problem
	return rep
}
