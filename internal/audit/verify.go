package audit

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"haven/internal/store"
)

// Report is the result of verifying the stored log.
type Report struct {
	Entries     int64  // rows read
	FirstBad    int64  // index of the first entry that fails, 0 if none
	Problem     string // what is wrong at FirstBad (or with the head), empty if the log verifies
	Checkpoints int    // signed checkpoints checked
	Covered     int64  // entries covered by the latest checkpoint; the rest are not yet anchored
	Origin      string // the log's checkpoint origin; empty if it has none yet (legacy checkpoints only)
}

// OK reports whether the log verified.
func (r Report) OK() bool { return r.Problem == "" }

const (
	selectEntryRows = `SELECT seq, recorded_at, actor_id, actor_role, action, resource_type, resource_id,
	patient_id, outcome, reason, source_addr, request_id, purpose, prev_hash, hash FROM audit_entries`
	selectEntries = selectEntryRows + ` ORDER BY seq`
)

// storedEntry is a row of audit_entries: the entry and its chain link.
type storedEntry struct {
	Entry
	prevHash, hash []byte
}

// scanEntry reads one row selected with selectEntryRows.
func scanEntry(r interface{ Scan(...any) error }) (storedEntry, error) {
	var s storedEntry
	var ns int64
	e := &s.Entry
	if err := r.Scan(&e.Seq, &ns, &e.ActorID, &e.ActorRole, &e.Action, &e.ResourceType, &e.ResourceID,
		&e.PatientID, &e.Outcome, &e.Reason, &e.SourceAddr, &e.RequestID, &e.Purpose, &s.prevHash, &s.hash); err != nil {
		return storedEntry{}, err
	}
	e.Time = time.Unix(0, ns).UTC()
	return s, nil
}

// Verify recomputes the hash chain and the Merkle tree over every stored entry and checks them
// against the head, the stored tree and every signed checkpoint. It detects a modified, deleted,
// inserted or reordered entry and a truncated log, and names the first index where the stored
// log departs from what was appended. With a verifier key it also checks each checkpoint's
// signature and origin (the installation's, LoadLogOrigin), so a log rewritten consistently in
// the database still fails against the checkpoints signed before the rewrite, and a checkpoint of
// another installation's log is refused. A nil verifier skips only the signature check.
func Verify(ctx context.Context, db *store.DB, v note.Verifier) (Report, error) {
	rows, err := db.QueryContext(ctx, selectEntries)
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: read entries: %w", err)
	}
	defer rows.Close()
	var rep Report
	var prev []byte
	var tree memHashes
	for rows.Next() {
		row, err := scanEntry(rows)
		if err != nil {
			return Report{}, fmt.Errorf("audit: verify: scan entry: %w", err)
		}
		e, storedPrev, storedHash := row.Entry, row.prevHash, row.hash
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
		if err := tree.add(e.Seq-1, Canonical(e)); err != nil {
			return Report{}, err
		}
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
	if rep, err = checkStoredTree(ctx, db, rep, tree); err != nil || !rep.OK() {
		return rep, err
	}
	return checkCheckpoints(ctx, db, rep, tree, v)
}

// checkCheckpoints compares every stored checkpoint with the tree recomputed from the entries.
func checkCheckpoints(ctx context.Context, db *store.DB, rep Report, tree memHashes, v note.Verifier) (Report, error) {
	origin, err := verifyingOrigin(ctx, db)
	if err != nil {
		return Report{}, err
	}
	rep.Origin = origin.Name
	rows, err := db.QueryContext(ctx, selectAllCPs)
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: read checkpoints: %w", err)
	}
	var cps []Checkpoint
	for rows.Next() {
		cp, err := scanCheckpoint(rows)
		if err != nil {
			rows.Close()
			return Report{}, fmt.Errorf("audit: verify: read checkpoint: %w", err)
		}
		cps = append(cps, cp)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("audit: verify: read checkpoints: %w", err)
	}
	return checkAgainst(rep, tree, cps, v, origin)
}

// checkAgainst checks checkpoints, in size order, against the recomputed tree: each must be
// signed by v (when v is not nil) for this log's origin, cover no more entries than exist, and
// have the tree's root.
func checkAgainst(rep Report, tree memHashes, cps []Checkpoint, v note.Verifier, origin LogOrigin) (Report, error) {
	var prevSize int64
	for _, cp := range cps {
		if v != nil {
			signed, err := OpenCheckpoint(cp.Signed, v, origin)
			if errors.Is(err, ErrForeignCheckpoint) {
				return bad(rep, prevSize+1, fmt.Sprintf("the checkpoint of size %d names another log than %s", cp.Size, originName(origin))), nil
			}
			if err != nil || signed.N != cp.Size || signed.Hash != cp.Root {
				return bad(rep, prevSize+1, fmt.Sprintf("the checkpoint of size %d is not signed by the audit key", cp.Size)), nil
			}
		}
		if cp.Size > rep.Entries {
			return bad(rep, rep.Entries+1, fmt.Sprintf("a signed checkpoint covers %d entries but only %d are stored: the log was truncated", cp.Size, rep.Entries)), nil
		}
		root, err := tlog.TreeHash(cp.Size, tree)
		if err != nil {
			return Report{}, fmt.Errorf("audit: verify: tree at %d: %w", cp.Size, err)
		}
		if root != cp.Root {
			return bad(rep, prevSize+1, fmt.Sprintf("entries %d to %d differ from the signed checkpoint of size %d", prevSize+1, cp.Size, cp.Size)), nil
		}
		rep.Checkpoints++
		rep.Covered = cp.Size
		prevSize = cp.Size
	}
	return rep, nil
}

// memHashes holds a whole tree's stored hashes in memory, indexed like audit_hashes.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if idx < 0 || idx >= int64(len(m)) {
			return nil, fmt.Errorf("audit: tree hash %d out of range", idx)
		}
		out[i] = m[idx]
	}
	return out, nil
}

func (m *memHashes) add(n int64, data []byte) error {
	hs, err := tlog.StoredHashes(n, data, *m)
	if err != nil {
		return fmt.Errorf("audit: verify: tree hashes for leaf %d: %w", n, err)
	}
	*m = append(*m, hs...)
	return nil
}

// checkStoredTree compares the stored Merkle tree hashes with those recomputed from the entries,
// so that proofs served from the stored tree can be trusted.
func checkStoredTree(ctx context.Context, db *store.DB, rep Report, tree memHashes) (Report, error) {
	rows, err := db.QueryContext(ctx, `SELECT idx, hash FROM audit_hashes ORDER BY idx`)
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: read tree: %w", err)
	}
	defer rows.Close()
	var next int64
	for rows.Next() {
		var idx int64
		var h []byte
		if err := rows.Scan(&idx, &h); err != nil {
			return Report{}, fmt.Errorf("audit: verify: read tree: %w", err)
		}
		if idx != next || idx >= int64(len(tree)) || !bytes.Equal(h, tree[idx][:]) {
			_, n := tlog.SplitStoredHashIndex(min(idx, next))
			level, _ := tlog.SplitStoredHashIndex(min(idx, next))
			return bad(rep, n<<level+1, "the stored Merkle tree does not match the entries"), nil
		}
		next++
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("audit: verify: read tree: %w", err)
	}
	if next != int64(len(tree)) {
		return bad(rep, rep.Entries, "the stored Merkle tree is missing hashes"), nil
	}
	return rep, nil
}

func bad(rep Report, index int64, problem string) Report {
	rep.FirstBad = index
	rep.Problem = problem
	return rep
}

// originName names o for a report.
func originName(o LogOrigin) string {
	if o.Name == "" {
		return "this one (which has no origin yet)"
	}
	return o.Name
}
