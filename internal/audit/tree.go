package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"haven/internal/store"
)

// Leaf index n of the tree holds the entry with Seq n+1.

const selectStoredHash = `SELECT hash FROM audit_hashes WHERE idx = $1`

// querier is what reading stored hashes needs from *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// dbHashes reads stored tree hashes from the database (tlog.HashReader).
type dbHashes struct {
	ctx context.Context
	q   querier
}

func (r dbHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		var b []byte
		err := r.q.QueryRowContext(r.ctx, selectStoredHash, idx).Scan(&b)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("audit: tree hash %d is missing", idx)
		}
		if err != nil {
			return nil, fmt.Errorf("audit: read tree hash %d: %w", idx, err)
		}
		if len(b) != tlog.HashSize {
			return nil, fmt.Errorf("audit: tree hash %d is malformed", idx)
		}
		copy(out[i][:], b)
	}
	return out, nil
}

// txHashes adds leaves inside a commit: hashes computed earlier in the same batch are read
// from memory, recent ones from the sequencer's cache, older ones from the transaction.
type txHashes struct {
	ctx     context.Context
	tx      *sql.Tx
	db      *store.DB
	cache   map[int64]tlog.Hash // committed hashes the sequencer remembers; read-only here
	fresh   map[int64]tlog.Hash
	pending []int64
}

func newTxHashes(ctx context.Context, db *store.DB, tx *sql.Tx, cache map[int64]tlog.Hash) *txHashes {
	return &txHashes{ctx: ctx, db: db, tx: tx, cache: cache, fresh: map[int64]tlog.Hash{}}
}

func (t *txHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if h, ok := t.fresh[idx]; ok {
			out[i] = h
			continue
		}
		if h, ok := t.cache[idx]; ok {
			out[i] = h
			continue
		}
		hs, err := dbHashes{t.ctx, t.tx}.ReadHashes([]int64{idx})
		if err != nil {
			return nil, err
		}
		out[i] = hs[0]
	}
	return out, nil
}

// add computes the stored hashes that leaf n with data brings.
func (t *txHashes) add(n int64, data []byte) error {
	hashes, err := tlog.StoredHashes(n, data, t)
	if err != nil {
		return fmt.Errorf("tree hashes for leaf %d: %w", n, err)
	}
	first := tlog.StoredHashIndex(0, n)
	for i, h := range hashes {
		t.fresh[first+int64(i)] = h
		t.pending = append(t.pending, first+int64(i))
	}
	return nil
}

// flush writes the hashes added in this batch in one statement.
func (t *txHashes) flush() error {
	rows := make([][]any, 0, len(t.pending))
	for _, idx := range t.pending {
		h := t.fresh[idx]
		rows = append(rows, []any{idx, h[:]})
	}
	if err := insertRows(t.ctx, t.db, t.tx, "audit_hashes (idx, hash)", rows); err != nil {
		return fmt.Errorf("insert tree hashes: %w", err)
	}
	t.pending = nil
	return nil
}

// insertRows inserts rows with multi-row INSERTs (both dialects accept VALUES lists), each
// under PostgreSQL's limit of 65535 parameters.
//
// A batch's size varies from commit to commit, so an INSERT of exactly its rows has a new text
// each time. SQLite would parse it anew on every commit; there the rows go in chunks of a
// power-of-two count, largest first (41 rows are 32 + 8 + 1), so that every statement has one
// of a dozen texts, prepared once (store.DB.Stmt). PostgreSQL gets one statement per batch:
// each chunk would cost a round trip, and pgx already keeps the statements it has seen
// prepared on each connection. SQLite gets anonymous "?" placeholders: it resolves "$N" names
// by a linear search, quadratic over a long VALUES list.
func insertRows(ctx context.Context, db *store.DB, tx *sql.Tx, into string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	width := len(rows[0])
	most := 1
	for most*2*width <= 60000 {
		most *= 2
	}
	args := make([]any, 0, min(len(rows), most)*width)
	for len(rows) > 0 {
		n := min(len(rows), most)
		if db.Dialect == store.SQLite {
			for n&(n-1) != 0 {
				n &= n - 1 // the highest power of two in n
			}
		}
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		query := insertText(db.Dialect, into, width, n)
		var err error
		if db.Dialect == store.SQLite {
			var st *sql.Stmt
			if st, err = db.TxStmt(ctx, tx, query); err == nil {
				_, err = st.ExecContext(ctx, args...)
			}
		} else {
			_, err = tx.ExecContext(ctx, query, args...)
		}
		if err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// insertText is INSERT INTO into VALUES with n rows of width placeholders.
func insertText(d store.Dialect, into string, width, n int) string {
	var q strings.Builder
	q.WriteString("INSERT INTO " + into + " VALUES ")
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for j := range width {
			if j > 0 {
				q.WriteString(", ")
			}
			if d == store.SQLite {
				q.WriteByte('?')
			} else {
				q.WriteString("$" + strconv.Itoa(i*width+j+1))
			}
		}
		q.WriteByte(')')
	}
	return q.String()
}

// Head returns the size of the log and the root hash of its Merkle tree.
func Head(ctx context.Context, db *store.DB) (tlog.Tree, error) {
	var size int64
	var chain []byte
	err := db.QueryRowContext(ctx, selectHead).Scan(&size, &chain)
	if errors.Is(err, sql.ErrNoRows) {
		return tlog.Tree{}, nil
	}
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("audit: read head: %w", err)
	}
	root, err := tlog.TreeHash(size, dbHashes{ctx, db})
	if err != nil {
		return tlog.Tree{}, fmt.Errorf("audit: tree root: %w", err)
	}
	return tlog.Tree{N: size, Hash: root}, nil
}

// ProveEntry returns the proof that the entry with index seq is in the tree of size treeSize.
func ProveEntry(ctx context.Context, db *store.DB, seq, treeSize int64) (tlog.RecordProof, error) {
	if seq < 1 || seq > treeSize {
		return nil, fmt.Errorf("audit: entry %d is not in a tree of size %d", seq, treeSize)
	}
	p, err := tlog.ProveRecord(treeSize, seq-1, dbHashes{ctx, db})
	if err != nil {
		return nil, fmt.Errorf("audit: prove entry %d: %w", seq, err)
	}
	return p, nil
}

// ProveGrowth returns the proof that the tree of size oldSize is a prefix of the tree of size
// newSize: the log only grew.
func ProveGrowth(ctx context.Context, db *store.DB, oldSize, newSize int64) (tlog.TreeProof, error) {
	if oldSize < 1 || oldSize > newSize {
		return nil, fmt.Errorf("audit: cannot prove growth from %d to %d", oldSize, newSize)
	}
	p, err := tlog.ProveTree(newSize, oldSize, dbHashes{ctx, db})
	if err != nil {
		return nil, fmt.Errorf("audit: prove growth %d→%d: %w", oldSize, newSize, err)
	}
	return p, nil
}

// LeafHash is the Merkle leaf hash of an entry.
func LeafHash(e Entry) tlog.Hash { return tlog.RecordHash(Canonical(e)) }

// EntryAt reads the entry with index seq.
func EntryAt(ctx context.Context, db *store.DB, seq int64) (Entry, error) {
	row, err := scanEntry(db.QueryRowContext(ctx, selectEntryRows+` WHERE seq = $1`, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, fmt.Errorf("audit: no entry %d", seq)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("audit: read entry %d: %w", seq, err)
	}
	return row.Entry, nil
}

// StoredHashes reads the stored Merkle tree hashes of db (for checking a checkpoint's root).
func StoredHashes(ctx context.Context, db *store.DB) tlog.HashReader { return dbHashes{ctx, db} }
