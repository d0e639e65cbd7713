// Package storetest gives tests a fresh, migrated Haven database on every dialect, so that a
// storage test is written once and runs on SQLite and on PostgreSQL.
//
// PostgreSQL is found at postgres://127.0.0.1:5432/test unless HAVEN_TEST_POSTGRES names another
// server. Each test gets a schema of its own, dropped at cleanup, so test packages running in
// parallel never collide. A PostgreSQL that cannot be reached fails the test: it is never skipped.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"haven/internal/store"
)

// DefaultPostgres is the test server used when HAVEN_TEST_POSTGRES is unset.
const DefaultPostgres = "postgres://127.0.0.1:5432/test?sslmode=disable"

// Dialects lists every dialect a storage test must pass on.
func Dialects() []store.Dialect { return []store.Dialect{store.SQLite, store.Postgres} }

// ForEachDialect runs fn as a subtest once per dialect, each with a fresh database.
func ForEachDialect(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Dialects() {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh migrated database of dialect d, closed (and for PostgreSQL dropped) at
// the end of the test.
func Open(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()
	dsn := DSN(t, d)
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", d, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// DSN creates an empty database of dialect d for the test and returns its DSN without opening
// it: a SQLite file path in the test's temporary directory, or a PostgreSQL URL whose
// search_path is a schema made for this test.
func DSN(t testing.TB, d store.Dialect) string {
	t.Helper()
	switch d {
	case store.SQLite:
		return filepath.Join(t.TempDir(), "haven.db")
	case store.Postgres:
		return postgresSchema(t)
	default:
		t.Fatalf("storetest: unknown dialect %q", d)
		return ""
	}
}

// PostgresBase is the server tests connect to.
func PostgresBase() string {
	if dsn := os.Getenv("HAVEN_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return DefaultPostgres
}

func postgresSchema(t testing.TB) string {
	t.Helper()
	base := PostgresBase()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("storetest: open postgres %s: %v", base, err)
	}
	defer admin.Close()
	ctx := context.Background()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("storetest: PostgreSQL is required for storage tests and was not reachable at %s (set HAVEN_TEST_POSTGRES, or run .ci/run which starts it): %v", base, err)
	}
	var b [8]byte
	rand.Read(b[:])
	schema := "haven_test_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: parse %s: %v", base, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
