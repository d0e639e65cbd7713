package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"haven/internal/store"
	"haven/internal/store/storetest"
)

func TestStmtIsPreparedOnceAndShared(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const sel = `SELECT value FROM settings WHERE name = $1`
		a, err := db.Stmt(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.Stmt(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		if a != b {
			t.Fatal("the same text was prepared twice")
		}
		// Many callers at once: more than the pool has connections, so the statement runs
		// (and is prepared again) on every connection.
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for i := range 64 {
			wg.Go(func() {
				name := fmt.Sprintf("k%d", i)
				if _, err := db.ExecPrepared(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)`, name, []byte(name)); err != nil {
					errs <- err
					return
				}
				var got []byte
				if err := db.QueryRowPrepared(ctx, sel, name).Scan(&got); err != nil {
					errs <- err
					return
				}
				if string(got) != name {
					errs <- fmt.Errorf("%s read back %q", name, got)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		rows, err := db.QueryPrepared(ctx, `SELECT name FROM settings WHERE name LIKE $1`, "k%")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		if n != 64 {
			t.Fatalf("%d rows, want 64", n)
		}
	})
}

func TestStmtInTransaction(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const ins = `INSERT INTO settings (name, value) VALUES ($1, $2)`
		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			st, err := db.TxStmt(ctx, tx, ins)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, "rolled-back", []byte("x")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			st, err := db.TxStmt(ctx, tx, ins)
			if err != nil {
				return err
			}
			_, err = st.ExecContext(ctx, "committed", []byte("x"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// The cached statement outlives the transactions that used it.
		var names []string
		rows, err := db.QueryPrepared(ctx, `SELECT name FROM settings WHERE name IN ($1, $2) ORDER BY name`, "committed", "rolled-back")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var n string
			rows.Scan(&n)
			names = append(names, n)
		}
		rows.Close()
		if fmt.Sprint(names) != "[committed]" {
			t.Fatalf("rows = %v, want [committed]", names)
		}
	})
}

func TestStmtAfterClose(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Stmt(ctx, `SELECT 1`); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Stmt(ctx, `SELECT 1`); err == nil {
			t.Fatal("Stmt after Close succeeded")
		}
		if _, err := db.Stmt(ctx, `SELECT 2`); err == nil {
			t.Fatal("Stmt of a new text after Close succeeded")
		}
	})
}

// TestStmtCacheIsBounded: query text built at run time cannot grow the cache without bound;
// the helpers still answer, unprepared.
func TestStmtCacheIsBounded(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	for i := range store.MaxCachedStatements {
		if _, err := db.Stmt(ctx, fmt.Sprintf("SELECT %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Stmt(ctx, "SELECT -1"); !errors.Is(err, store.ErrStatementCacheFull) {
		t.Fatalf("Stmt past the bound = %v, want ErrStatementCacheFull", err)
	}
	var n int
	if err := db.QueryRowPrepared(ctx, "SELECT -1").Scan(&n); err != nil || n != -1 {
		t.Fatalf("QueryRowPrepared past the bound = %d, %v", n, err)
	}
}

func TestInList(t *testing.T) {
	for _, c := range []struct {
		first  int
		values []string
		list   string
		args   string
	}{
		{1, []string{"a"}, "($1)", "[a]"},
		{2, []string{"a", "b"}, "($2, $3)", "[a b]"},
		{2, []string{"a", "b", "c"}, "($2, $3, $4, $5)", "[a b c c]"},
	} {
		list, args := store.InList(c.first, c.values)
		if list != c.list || fmt.Sprint(args) != c.args {
			t.Errorf("InList(%d, %v) = %s %v, want %s %s", c.first, c.values, list, args, c.list, c.args)
		}
	}
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for _, k := range []string{"a", "b", "c"} {
			if _, err := db.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)`, k, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		list, args := store.InList(2, []string{"a", "c", "zz"})
		rows, err := db.QueryPrepared(ctx, `SELECT name FROM settings WHERE value <> $1 AND name IN `+list+` ORDER BY name`, append([]any{[]byte("-")}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var n string
			rows.Scan(&n)
			got = append(got, n)
		}
		if fmt.Sprint(got) != "[a c]" {
			t.Fatalf("rows = %v, want [a c]", got)
		}
	})
}

// TestTxStmtWhilePoolWaitsForTheLock: a transaction holding SQLite's write lock prepares a text
// it has not used before while every other connection of the pool is a writer waiting for that
// lock. It must not need one of them: before, the two sides waited on each other until the busy
// timeout failed every writer (seen as 500s when 50 patients booked one slot at once).
func TestTxStmtWhilePoolWaitsForTheLock(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil) // immediate: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	const writers = 16 // more than the pool holds
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)`, fmt.Sprintf("waiter-%d", i), []byte("x"))
			errs <- err
		}()
	}
	time.Sleep(200 * time.Millisecond) // the writers take every free connection and wait
	done := make(chan error, 1)
	go func() {
		st, err := db.TxStmt(ctx, tx, `INSERT INTO settings (name, value) VALUES ($1, $2) -- a text not prepared before`)
		if err == nil {
			_, err = st.ExecContext(ctx, "in-tx", []byte("x"))
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("preparing inside the transaction waited for a connection held by a writer waiting for the transaction")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a waiting writer failed: %v", err)
		}
	}
}
