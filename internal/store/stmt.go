package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// MaxCachedStatements bounds the prepared-statement cache. Statements are keyed by their text,
// which is always a constant in Haven's code; reaching the bound means a caller is building
// query text at run time and must not use the cache.
const MaxCachedStatements = 512

// ErrStatementCacheFull is returned by Stmt when MaxCachedStatements distinct texts are cached.
var ErrStatementCacheFull = errors.New("store: prepared-statement cache is full (query text built at run time?)")

// stmtCache holds the statements prepared on one *sql.DB.
type stmtCache struct {
	mu     sync.Mutex
	m      map[string]*sql.Stmt
	closed bool
}

// Stmt returns query prepared on the database, preparing it on first use and reusing it after.
// Parsing a statement costs more CPU than running a point query on SQLite (a third of a PHI
// read's CPU went to SQLite's parser), so the hot paths (session lookup, care-team check,
// record reads, audit commits) keep theirs prepared.
//
// The statement is safe for concurrent use: database/sql prepares it again, once, on each
// connection it runs on (pgx additionally caches statements per connection on its own). It is
// closed by Close; callers must not close it. Use it inside a transaction with tx.StmtContext.
// query must be a constant: every distinct text stays prepared for the life of the DB.
func (db *DB) Stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c := db.stmts
	c.mu.Lock()
	st, ok := c.m[query]
	closed, full := c.closed, len(c.m) >= MaxCachedStatements
	c.mu.Unlock()
	switch {
	case ok:
		return st, nil
	case closed:
		return nil, fmt.Errorf("store: prepare: %w", sql.ErrConnDone)
	case full:
		return nil, ErrStatementCacheFull
	}
	// Prepared outside the lock, so that a slow prepare holds up no other statement; two
	// callers racing on the same text keep the first and close the second.
	st, err := db.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[query]; ok {
		st.Close()
		return prev, nil
	}
	if c.closed {
		st.Close()
		return nil, fmt.Errorf("store: prepare: %w", sql.ErrConnDone)
	}
	c.m[query] = st
	return st, nil
}

// The helpers below run a constant query prepared: on SQLite through the cache (Stmt); on
// PostgreSQL they hand it to pgx, which already prepares each statement once per connection
// (its statement cache), so a *sql.Stmt there would only add database/sql's bookkeeping. If a
// statement cannot be prepared, the query runs unprepared and its error, if any, surfaces as
// usual.

// QueryRowPrepared is QueryRowContext for a constant query, prepared.
func (db *DB) QueryRowPrepared(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.DB.QueryRowContext(ctx, query, args...)
}

// QueryPrepared is QueryContext for a constant query, prepared.
func (db *DB) QueryPrepared(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := db.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.DB.QueryContext(ctx, query, args...)
}

// ExecPrepared is ExecContext for a constant query, prepared.
func (db *DB) ExecPrepared(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := db.prepared(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return db.DB.ExecContext(ctx, query, args...)
}

// prepared is the cached statement for query on SQLite, or nil: on PostgreSQL, or if it cannot
// be prepared.
func (db *DB) prepared(ctx context.Context, query string) *sql.Stmt {
	if db.Dialect != SQLite {
		return nil
	}
	st, err := db.Stmt(ctx, query)
	if err != nil {
		return nil
	}
	return st
}

// TxStmt returns query prepared for tx: the cached statement bound to the transaction's
// connection (prepared on that connection once, then reused). The transaction closes what it
// returns; the cached statement stays.
//
// A text not cached yet is prepared on the transaction's own connection, and cached in the
// background for the next time. Preparing it for the cache first would take a second
// connection from the pool while the transaction holds SQLite's write lock: when every other
// connection is a writer waiting for that lock (many bookings at once), each side waits for the
// other until the busy timeout fails the writers.
func (db *DB) TxStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	c := db.stmts
	c.mu.Lock()
	st, ok := c.m[query]
	c.mu.Unlock()
	if ok {
		return tx.StmtContext(ctx, st), nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	// A cache that cannot be filled only costs a parse next time.
	go db.Stmt(context.WithoutCancel(ctx), query)
	return st, nil
}

// close closes every cached statement; later calls to Stmt fail.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for q, st := range c.m {
		if err := st.Close(); err != nil {
			errs = append(errs, err)
		}
		delete(c.m, q)
	}
	return errors.Join(errs...)
}
