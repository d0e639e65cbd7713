package backup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"

	"haven/internal/governance"
	"haven/internal/store"
)

// A frame carries up to rowsPerFrame rows, and is closed early once its values reach
// bytesPerFrame (documents are sealed blobs of up to 10 MiB each; maxFrame bounds a frame).
const (
	rowsPerFrame  = 256
	bytesPerFrame = 8 << 20
)

// Progress is told how many rows are done out of how many.
type Progress func(done, total int64)

// Summary is what a backup or restore did.
type Summary struct {
	Manifest Manifest
	Bytes    int64 // archive bytes written or read
	Elapsed  time.Duration
}

// querier is what a snapshot is read through: a SQLite snapshot file or a PostgreSQL
// repeatable-read transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Write takes a consistent snapshot of db and writes it to w as an archive sealed for kek, the
// installation's root key. It records the run in db's governance runs. progress may be nil.
func Write(ctx context.Context, db *store.DB, kek tink.AEAD, w io.Writer, now func() time.Time, progress Progress) (Summary, error) {
	start := now()
	runID, err := governance.StartRun(ctx, db, governance.RunBackup, start)
	if err != nil {
		return Summary{}, err
	}
	sum, err := write(ctx, db, kek, w, start, progress)
	sum.Elapsed = now().Sub(start)
	detail := fmt.Sprintf("%d tables, %d rows, %d bytes", len(sum.Manifest.Tables), sum.Manifest.Rows(), sum.Bytes)
	if err != nil {
		detail = "failed"
	}
	if ferr := governance.FinishRun(ctx, db, runID, now(), err == nil, detail); ferr != nil && err == nil {
		err = ferr
	}
	return sum, err
}

func write(ctx context.Context, db *store.DB, kek tink.AEAD, w io.Writer, created time.Time, progress Progress) (Summary, error) {
	snap, done, err := snapshot(ctx, db)
	if err != nil {
		return Summary{}, err
	}
	defer done()
	m := Manifest{Created: created.UTC(), Dialect: string(db.Dialect)}
	if err := snap.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&m.SchemaVersion); err != nil {
		return Summary{}, fmt.Errorf("backup: schema version: %w", err)
	}
	tables, err := tableOrder(ctx, snap, db.Dialect)
	if err != nil {
		return Summary{}, err
	}
	var total int64
	for _, t := range tables {
		var n int64
		if err := snap.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quote(t.name)).Scan(&n); err != nil {
			return Summary{}, fmt.Errorf("backup: count %s: %w", t.name, err)
		}
		total += n
	}
	cw := &countingWriter{w: w}
	enc, err := seal(cw, kek, created)
	if err != nil {
		return Summary{}, err
	}
	h := sha256.New()
	fw := &frameWriter{w: enc, sum: h}
	var doneRows int64
	for _, t := range tables {
		n, err := dumpTable(ctx, snap, t, fw, func(k int64) {
			doneRows += k
			if progress != nil {
				progress(doneRows, total)
			}
		})
		if err != nil {
			return Summary{}, err
		}
		m.Tables = append(m.Tables, TableCount{Name: t.name, Rows: n})
	}
	m.SHA256 = h.Sum(nil)
	if err := fw.frame(frameManifest, m); err != nil {
		return Summary{}, err
	}
	if err := enc.Close(); err != nil {
		return Summary{}, fmt.Errorf("backup: finish archive: %w", err)
	}
	return Summary{Manifest: m, Bytes: cw.n}, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// snapshot opens a consistent, read-only view of db: on SQLite a copy made with VACUUM INTO in
// a private temporary directory beside the database; on PostgreSQL a repeatable-read read-only
// transaction. done releases it.
func snapshot(ctx context.Context, db *store.DB) (querier, func(), error) {
	if db.Dialect == store.Postgres {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		if err != nil {
			return nil, nil, fmt.Errorf("backup: begin snapshot: %w", err)
		}
		return tx, func() { tx.Rollback() }, nil
	}
	dir, err := os.MkdirTemp(filepath.Dir(db.Path), ".backup-")
	if err != nil {
		return nil, nil, fmt.Errorf("backup: snapshot directory: %w", err)
	}
	cleanup := func() { os.RemoveAll(dir) }
	path := filepath.Join(dir, "snapshot.db")
	// VACUUM INTO accepts an empty file: made here 0600, whatever the umask.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("backup: snapshot file: %w", err)
	}
	f.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("backup: snapshot: %w", err)
	}
	// A file: URI with the path escaped: a data directory named "clinic#2" must open itself.
	abs, err := filepath.Abs(path)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("backup: snapshot path: %w", err)
	}
	uri := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "mode=ro"}).String()
	snap, err := sql.Open("sqlite", uri)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("backup: open snapshot: %w", err)
	}
	snap.SetMaxOpenConns(1)
	return snap, func() { snap.Close(); cleanup() }, nil
}

// table is one table to dump, with the column of a foreign key to itself, if any.
type table struct {
	name    string
	selfRef string // column referencing the table's own key
	selfKey string // the column it references
}

// tableOrder lists the schema's tables (all but schema_migrations) so that every table comes
// after the tables its foreign keys reference.
func tableOrder(ctx context.Context, q querier, d store.Dialect) ([]table, error) {
	var names []string
	listQ := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	fkQ := `SELECT m.name, p."table", p."from", p."to" FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) p WHERE m.type = 'table'`
	if d == store.Postgres {
		listQ = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
		fkQ = `SELECT tc.table_name, ccu.table_name, kcu.column_name, ccu.column_name
			FROM information_schema.table_constraints tc
			JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
			JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema
			WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()`
	}
	rows, err := q.QueryContext(ctx, listQ)
	if err != nil {
		return nil, fmt.Errorf("backup: list tables: %w", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("backup: list tables: %w", err)
		}
		if n != "schema_migrations" {
			names = append(names, n)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("backup: list tables: %w", err)
	}
	deps := map[string][]string{}
	self := map[string][2]string{}
	rows, err = q.QueryContext(ctx, fkQ)
	if err != nil {
		return nil, fmt.Errorf("backup: list foreign keys: %w", err)
	}
	for rows.Next() {
		var from, to, col string
		var toCol sql.NullString
		if err := rows.Scan(&from, &to, &col, &toCol); err != nil {
			rows.Close()
			return nil, fmt.Errorf("backup: list foreign keys: %w", err)
		}
		if from == to {
			key := toCol.String
			if key == "" {
				key = "id"
			}
			self[from] = [2]string{col, key}
			continue
		}
		deps[from] = append(deps[from], to)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("backup: list foreign keys: %w", err)
	}
	var out []table
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string) error
	visit = func(n string) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("backup: foreign keys form a cycle through %s", n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, d := range deps[n] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[n] = 2
		s := self[n]
		out = append(out, table{name: n, selfRef: s[0], selfKey: s[1]})
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// quote quotes an identifier read from the database's own catalogue.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// dumpTable writes t's rows; a table referencing itself has its rows ordered so that every row
// comes after the row it references.
func dumpTable(ctx context.Context, q querier, t table, fw *frameWriter, tick func(int64)) (int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT * FROM `+quote(t.name))
	if err != nil {
		return 0, fmt.Errorf("backup: read %s: %w", t.name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, fmt.Errorf("backup: columns of %s: %w", t.name, err)
	}
	if err := fw.frame(frameTable, tableFrame{Name: t.name, Columns: cols}); err != nil {
		return 0, err
	}
	var batch, all [][]any
	var n, batchBytes int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := fw.frame(frameRows, batch); err != nil {
			return err
		}
		tick(int64(len(batch)))
		batch, batchBytes = batch[:0], 0
		return nil
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return 0, fmt.Errorf("backup: read %s: %w", t.name, err)
		}
		for i, v := range vals {
			nv, err := neutral(v)
			if err != nil {
				return 0, fmt.Errorf("backup: %s.%s: %w", t.name, cols[i], err)
			}
			vals[i] = nv
		}
		n++
		if t.selfRef != "" {
			all = append(all, vals)
			continue
		}
		batch = append(batch, vals)
		batchBytes += rowSize(vals)
		if len(batch) == rowsPerFrame || batchBytes >= bytesPerFrame {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("backup: read %s: %w", t.name, err)
	}
	if t.selfRef != "" {
		ordered, err := parentsFirst(all, cols, t.selfRef, t.selfKey)
		if err != nil {
			return 0, fmt.Errorf("backup: %s: %w", t.name, err)
		}
		for _, r := range ordered {
			batch = append(batch, r)
			batchBytes += rowSize(r)
			if len(batch) == rowsPerFrame || batchBytes >= bytesPerFrame {
				if err := flush(); err != nil {
					return 0, err
				}
			}
		}
	}
	return n, flush()
}

// rowSize is about how many bytes a row's values take.
func rowSize(vals []any) int64 {
	n := int64(0)
	for _, v := range vals {
		switch x := v.(type) {
		case string:
			n += int64(len(x))
		case []byte:
			n += int64(len(x))
		default:
			n += 8
		}
	}
	return n
}

// parentsFirst orders rows so that a row whose ref column names another row's key comes after it.
func parentsFirst(rows [][]any, cols []string, ref, key string) ([][]any, error) {
	ri, ki := -1, -1
	for i, c := range cols {
		if c == ref {
			ri = i
		}
		if c == key {
			ki = i
		}
	}
	if ri < 0 || ki < 0 {
		return nil, errors.New("self reference column not found")
	}
	placed := map[string]bool{}
	out := make([][]any, 0, len(rows))
	for len(rows) > 0 {
		var rest [][]any
		for _, r := range rows {
			if r[ri] == nil || placed[fmt.Sprint(r[ri])] {
				out = append(out, r)
				placed[fmt.Sprint(r[ki])] = true
			} else {
				rest = append(rest, r)
			}
		}
		if len(rest) == len(rows) {
			return nil, errors.New("rows reference rows that are not there")
		}
		rows = rest
	}
	return out, nil
}

// neutral turns a driver value into one of the archive's types: int64, float64, string, []byte
// or nil.
func neutral(v any) (any, error) {
	switch x := v.(type) {
	case nil, int64, float64, string:
		return x, nil
	case []byte:
		if x == nil {
			return []byte{}, nil // an empty blob, not NULL
		}
		return x, nil
	case int32:
		return int64(x), nil
	case int:
		return int64(x), nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	default:
		return nil, fmt.Errorf("value of type %T has no archive form", v)
	}
}
