// Package store owns Haven's database connection: SQLite (the embedded default) or PostgreSQL,
// chosen by the DSN, with embedded migrations applied at start.
//
// Every query in Haven is written once, with $1-style placeholders that both drivers accept;
// only the schema differs per dialect (see migrations/). Store knows nothing of the rows it holds:
// the domain packages keep their SQL next to their code. It refuses to hold plaintext PHI — there
// is no column for it; callers pass ciphertext sealed by package keys.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// Dialect names the database engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open Haven database.
type DB struct {
	*sql.DB
	Dialect Dialect
	// Path is the SQLite database file; empty for PostgreSQL.
	Path string

	stmts *stmtCache
}

func newDB(sqlDB *sql.DB, d Dialect, path string) *DB {
	return &DB{DB: sqlDB, Dialect: d, Path: path, stmts: &stmtCache{m: map[string]*sql.Stmt{}}}
}

// Close closes the cached prepared statements and then the database.
func (db *DB) Close() error {
	return errors.Join(db.stmts.close(), db.DB.Close())
}

// ErrNotFound is returned by lookups that match no row.
var ErrNotFound = errors.New("store: not found")

// IsPostgresDSN reports whether dsn names a PostgreSQL database rather than a SQLite file.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to the database named by dsn (a postgres:// URL, or a SQLite file path) and
// applies pending migrations.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var db *DB
	var err error
	if IsPostgresDSN(dsn) {
		db, err = openPostgres(ctx, dsn)
	} else {
		db, err = openSQLite(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openPostgres(ctx context.Context, dsn string) (*DB, error) {
	sqlDB, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", redactDSN(err, dsn))
	}
	sqlDB.SetMaxOpenConns(16)
	sqlDB.SetMaxIdleConns(16)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: connect to postgres: %w", redactDSN(err, dsn))
	}
	return newDB(sqlDB, Postgres, ""), nil
}

// openSQLite opens path in WAL mode with full fsync. The file is created 0600 before the driver
// sees it: SQLite gives the -wal and -shm files the mode of the database file, and the driver
// would otherwise create all three 0644.
func openSQLite(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create database directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: create database file: %w", err)
	}
	f.Close()
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("store: restrict database file: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	// The path goes into a file: URI, escaped: a data directory named "clinic#2" must not open
	// "clinic" (SQLite reads '#' as a fragment and '?' as the start of parameters).
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: database path: %w", err)
	}
	uri := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	sqlDB, err := sql.Open("sqlite", uri.String())
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	// WAL allows many readers and one writer; _txlock=immediate makes writers queue on the
	// busy timeout instead of failing with SQLITE_BUSY on lock upgrade.
	sqlDB.SetMaxOpenConns(8)
	sqlDB.SetMaxIdleConns(8)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", filepath.Base(path), err)
	}
	return newDB(sqlDB, SQLite, path), nil
}

// InTx runs fn in a transaction, committing if it returns nil and rolling back otherwise.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint failure on either dialect.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}

// Execer runs a statement on the database or inside a caller's transaction, so that writes of
// several packages can share one transaction.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}
