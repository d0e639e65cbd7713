package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"haven/internal/store"
	"haven/internal/store/storetest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		v1, err := db.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v1 < 1 {
			t.Fatalf("schema version = %d after open, want >= 1", v1)
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		v2, _ := db.SchemaVersion(ctx)
		if v1 != v2 {
			t.Fatalf("schema version changed on re-migrate: %d -> %d", v1, v2)
		}
	})
}

func TestUniqueViolationIsRecognised(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		ins := `INSERT INTO settings (name, value) VALUES ($1, $2)`
		if _, err := db.ExecContext(ctx, ins, "k", []byte("v")); err != nil {
			t.Fatal(err)
		}
		_, err := db.ExecContext(ctx, ins, "k", []byte("v"))
		if !store.IsUniqueViolation(err) {
			t.Fatalf("IsUniqueViolation(%v) = false", err)
		}
	})
}

func TestBytesRoundTrip(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		want := []byte{0, 1, 2, 0xff, 'x'}
		if _, err := db.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)`, "b", want); err != nil {
			t.Fatal(err)
		}
		var got []byte
		if err := db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, "b").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("bytes = %x, want %x", got, want)
		}
	})
}

func TestSQLiteFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "haven.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A write creates the -wal and -shm files.
	if _, err := db.Exec(`INSERT INTO settings (name, value) VALUES ('x', $1)`, []byte("y")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"haven.db", "haven.db-wal", "haven.db-shm"} {
		fi, err := os.Stat(filepath.Join(dir, "sub", name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s mode = %o, want 600", name, perm)
		}
	}
	fi, _ := os.Stat(filepath.Join(dir, "sub"))
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("directory mode = %o, want 700", perm)
	}
}

// TestSQLitePathIsTakenLiterally: a data directory whose name holds URI syntax opens the file
// it names, not a truncated path elsewhere.
func TestSQLitePathIsTakenLiterally(t *testing.T) {
	for _, name := range []string{"clinic#2", "a?b=c", "100% sure", "space d"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, name, "haven.db")
			db, err := store.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO settings (name, value) VALUES ('x', $1)`, []byte("y")); err != nil {
				t.Fatal(err)
			}
			db.Close()
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 || entries[0].Name() != name {
				t.Fatalf("files beside the data directory: %v", entries)
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
				t.Fatalf("database not at %s: %v", path, err)
			}
		})
	}
}
