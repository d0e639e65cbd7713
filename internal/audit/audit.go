// Package audit owns Haven's append-only audit log: one entry per PHI read or write (with its
// authorization decision), per authentication event and per administrative act.
//
// Entries are stored one per row in audit_entries and hash-chained: each row's hash covers the
// previous hash and every field of the entry, and audit_head holds the size and hash of the
// chain. Append is durable before it returns, and callers return PHI only after it succeeds (fail
// closed). Verify recomputes the chain from the stored rows and names the first bad index.
//
// Entries carry identifiers only, never PHI values: no names, no e-mail addresses, no note text.
// The log is written by one sequencer at a time (the mutex in Log; PostgreSQL also locks the
// head row), so indexes are dense and ordered.
package audit

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"haven/internal/principal"
	"haven/internal/store"
)

// Outcomes.
const (
	Allow   = "allow"   // an authorization decision that let the request through
	Deny    = "deny"    // an authorization decision that refused it
	Success = "success" // an authentication or administrative act that succeeded
	Failure = "failure" // one that failed
)

// Entry is one audit record. Its fields follow FHIR AuditEvent: who (ActorID, ActorRole), what
// (Action, ResourceType, ResourceID), which patient, when, outcome, source address and reason.
type Entry struct {
	Seq          int64     `json:"seq"` // 1-based log index, assigned by Append
	Time         time.Time `json:"time"`
	ActorID      string    `json:"actorId"`
	ActorRole    string    `json:"actorRole"`
	Action       string    `json:"action"`
	ResourceType string    `json:"resourceType"`
	ResourceID   string    `json:"resourceId"`
	PatientID    string    `json:"patientId"`
	Outcome      string    `json:"outcome"`
	Reason       string    `json:"reason"`
	SourceAddr   string    `json:"sourceAddr"`
	RequestID    string    `json:"requestId"`
	Purpose      string    `json:"purpose,omitempty"` // HL7 v3 PurposeOfUse: TREAT, PATRQT, HCOMPL, HOPERAT, ETREAT
}

// Origin is where a request came from, as every entry records it.
type Origin = principal.Origin

// ErrUnavailable wraps every failure to record an entry; callers must then withhold the result.
var ErrUnavailable = errors.New("audit: entry could not be recorded")

// Log appends entries to the database. Concurrent appends are group-committed: one committer
// at a time writes every entry queued meanwhile in one transaction (one fsync), so throughput
// does not collapse to the disk's sync rate. Each caller returns once its own entry is durable.
//
// A caller that finds no commit under way commits itself, which spares a lone caller a hop to
// another goroutine. Once its own entries are durable it goes back to its request; if others
// are queued by then, a goroutine of the log commits them, and goes on until the queue is
// empty. No caller ever commits for others past its own entries: under steady load the queue
// never empties, and a caller that committed until it did was held for as long as the load
// lasted (reads of seconds were seen that way).
type Log struct {
	db  *store.DB
	now func() time.Time

	mu         sync.Mutex
	queue      []*pending
	committing bool // a caller or the log's own goroutine is committing
	// hashes caches tree hashes this process committed, so that adding a leaf rarely reads
	// the database. Only the committer touches it.
	hashes map[int64]tlog.Hash
}

type pending struct {
	e    Entry
	seq  int64
	err  error
	done chan struct{}
}

// maxBatch bounds one group commit.
const maxBatch = 512

// New returns a Log over db. now stamps entries (time.Now in production; a fake clock in tests).
func New(db *store.DB, now func() time.Time) *Log {
	return &Log{db: db, now: now, hashes: map[int64]tlog.Hash{}}
}

// maxCachedHashes bounds the tree-hash cache (about 3 MB).
const maxCachedHashes = 1 << 16

const (
	selectHead       = `SELECT size, hash FROM audit_head WHERE id = 1`
	selectHeadLocked = selectHead + ` FOR UPDATE`
	insertHead       = `INSERT INTO audit_head (id, size, hash) VALUES (1, $1, $2)`
	updateHead       = `UPDATE audit_head SET size = $1, hash = $2 WHERE id = 1`
	entryColumns     = `audit_entries (seq, recorded_at, actor_id, actor_role, action,
		resource_type, resource_id, patient_id, outcome, reason, source_addr, request_id, purpose, prev_hash, hash)`
)

// Append records e durably and returns its index. An error means the caller must not release
// what the entry describes (the entry may or may not have been written).
func (l *Log) Append(ctx context.Context, e Entry) (int64, error) {
	one := []Entry{e}
	if err := l.AppendAll(ctx, one); err != nil {
		return 0, err
	}
	return one[0].Seq, nil
}

// AppendAll records every entry durably, in order and in as few commits as the batch limit
// allows, and sets each one's Seq. An error means none of them may be relied on.
func (l *Log) AppendAll(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	now := l.now().UTC()
	ps := make([]*pending, len(entries))
	for i, e := range entries {
		e.Time = now
		ps[i] = &pending{e: e, done: make(chan struct{})}
	}
	last := ps[len(ps)-1]
	collect := func() error {
		for i, p := range ps {
			if p.err != nil {
				return p.err
			}
			entries[i].Seq, entries[i].Time = p.seq, p.e.Time
		}
		return nil
	}
	l.mu.Lock()
	l.queue = append(l.queue, ps...)
	if !l.committing {
		l.committing = true
		l.mu.Unlock()
		l.drain(ctx, last)
		return collect()
	}
	l.mu.Unlock()
	select {
	case <-last.done:
		// Batches commit in queue order, so the last one done means all are.
		return collect()
	case <-ctx.Done():
		return fmt.Errorf("%w: %v", ErrUnavailable, ctx.Err())
	}
}

// drain commits queued batches in order until the queue is empty. Called by a caller, with own
// its last entry, it stops as soon as that entry is durable and leaves what is still queued to
// a goroutine of its own (own nil). Only one drain runs at a time (committing), so batches
// never overlap. The committer's context keeps the caller's values but not its cancellation:
// it commits other callers' entries too.
func (l *Log) drain(ctx context.Context, own *pending) {
	ctx = context.WithoutCancel(ctx)
	l.mu.Lock()
	for len(l.queue) > 0 {
		if own != nil && isDone(own) {
			l.mu.Unlock()
			go l.drain(ctx, nil)
			return
		}
		batch := l.queue[:min(len(l.queue), maxBatch)]
		l.queue = l.queue[len(batch):]
		l.mu.Unlock()
		err := l.commit(ctx, batch)
		for _, b := range batch {
			if err != nil {
				b.err = fmt.Errorf("%w: %v", ErrUnavailable, err)
			}
			close(b.done)
		}
		l.mu.Lock()
	}
	l.committing = false
	l.mu.Unlock()
}

func isDone(p *pending) bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// commit writes a batch of entries, their chain links and their Merkle tree hashes, and
// advances the head, in one transaction.
func (l *Log) commit(ctx context.Context, batch []*pending) error {
	var tree *txHashes
	err := l.db.InTx(ctx, func(tx *sql.Tx) error {
		q := selectHead
		if l.db.Dialect == store.Postgres {
			q = selectHeadLocked
		}
		head, err := l.db.TxStmt(ctx, tx, q)
		if err != nil {
			return fmt.Errorf("read head: %w", err)
		}
		var size int64
		var prev []byte
		err = head.QueryRowContext(ctx).Scan(&size, &prev)
		fresh := errors.Is(err, sql.ErrNoRows)
		if err != nil && !fresh {
			return fmt.Errorf("read head: %w", err)
		}
		tree = newTxHashes(ctx, l.db, tx, l.hashes)
		rows := make([][]any, 0, len(batch))
		for i, p := range batch {
			p.e.Seq = size + int64(i) + 1
			e := p.e
			h := chainHash(prev, e)
			rows = append(rows, []any{e.Seq, e.Time.UnixNano(), e.ActorID, e.ActorRole, e.Action,
				e.ResourceType, e.ResourceID, e.PatientID, e.Outcome, e.Reason, e.SourceAddr, e.RequestID, e.Purpose, nonNil(prev), h})
			if err := tree.add(e.Seq-1, Canonical(e)); err != nil {
				return err
			}
			prev = h
		}
		if err := insertRows(ctx, l.db, tx, entryColumns, rows); err != nil {
			return fmt.Errorf("insert entries: %w", err)
		}
		if err := tree.flush(); err != nil {
			return err
		}
		headQuery := updateHead
		if fresh {
			headQuery = insertHead
		}
		advance, err := l.db.TxStmt(ctx, tx, headQuery)
		if err != nil {
			return fmt.Errorf("advance head: %w", err)
		}
		if _, err := advance.ExecContext(ctx, size+int64(len(batch)), prev); err != nil {
			return fmt.Errorf("advance head: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(l.hashes)+len(tree.fresh) > maxCachedHashes {
		clear(l.hashes)
	}
	for idx, h := range tree.fresh {
		l.hashes[idx] = h
	}
	for _, p := range batch {
		p.seq = p.e.Seq
	}
	return nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// chainHash is SHA-256 over a domain tag, the previous hash and the entry's canonical encoding.
func chainHash(prev []byte, e Entry) []byte {
	h := sha256.New()
	h.Write([]byte("haven-audit-chain-v1\x00"))
	h.Write(prev)
	h.Write(Canonical(e))
	return h.Sum(nil)
}

// Canonical is the entry's unambiguous byte encoding: every field length-prefixed, in a fixed
// order. It is what the chain hashes and, later, what the Merkle tree's leaves hold.
func Canonical(e Entry) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	for _, f := range []string{e.ActorID, e.ActorRole, e.Action, e.ResourceType, e.ResourceID,
		e.PatientID, e.Outcome, e.Reason, e.SourceAddr, e.RequestID, e.Purpose} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// String renders an entry for diagnostics; it holds identifiers only.
func (e Entry) String() string {
	return "#" + strconv.FormatInt(e.Seq, 10) + " " + e.Action + " " + e.ResourceType + "/" + e.ResourceID + " " + e.Outcome
}
