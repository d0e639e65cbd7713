package storetest

import (
	"context"
	"fmt"
	"testing"

	"haven/internal/store"
)

// writesTable is where the triggers CountWrites installs note each row written.
const writesTable = "storetest_writes"

// CountWrites installs triggers on every table of db that note each row inserted, updated or
// deleted, whoever wrote it, and returns a function that reports the rows written so far, by
// table. A test compares what two requests write (the sign-in of an unknown account and of a
// known one) without trusting the code under test to say. A statement that changes no row
// writes nothing and is not counted.
func CountWrites(t testing.TB, db *store.DB) func() map[string]int {
	t.Helper()
	ctx := context.Background()
	tables, err := tableNames(ctx, db)
	if err != nil {
		t.Fatalf("storetest: list tables: %v", err)
	}
	stmts := []string{`CREATE TABLE ` + writesTable + ` (tbl TEXT NOT NULL)`}
	switch db.Dialect {
	case store.SQLite:
		for _, tbl := range tables {
			for _, op := range []string{"INSERT", "UPDATE", "DELETE"} {
				stmts = append(stmts, fmt.Sprintf(`CREATE TRIGGER %s_%s_%s AFTER %s ON %s BEGIN INSERT INTO %s (tbl) VALUES ('%s'); END`,
					writesTable, tbl, op, op, tbl, writesTable, tbl))
			}
		}
	case store.Postgres:
		stmts = append(stmts, `CREATE FUNCTION `+writesTable+`_note() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN INSERT INTO `+writesTable+` (tbl) VALUES (TG_TABLE_NAME); RETURN NULL; END $$`)
		for _, tbl := range tables {
			stmts = append(stmts, fmt.Sprintf(`CREATE TRIGGER %s_%s AFTER INSERT OR UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION %s_note()`,
				writesTable, tbl, tbl, writesTable))
		}
	default:
		t.Fatalf("storetest: unknown dialect %q", db.Dialect)
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("storetest: count writes: %v", err)
		}
	}
	return func() map[string]int {
		t.Helper()
		rows, err := db.QueryContext(ctx, `SELECT tbl, COUNT(*) FROM `+writesTable+` GROUP BY tbl`)
		if err != nil {
			t.Fatalf("storetest: read write counts: %v", err)
		}
		defer rows.Close()
		counts := map[string]int{}
		for rows.Next() {
			var tbl string
			var n int
			if err := rows.Scan(&tbl, &n); err != nil {
				t.Fatalf("storetest: read write counts: %v", err)
			}
			counts[tbl] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("storetest: read write counts: %v", err)
		}
		return counts
	}
}

// tableNames lists db's own tables (not SQLite's internal ones).
func tableNames(ctx context.Context, db *store.DB) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	if db.Dialect == store.Postgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}
