package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"
	"golang.org/x/mod/sumdb/note"

	"haven/internal/audit"
	"haven/internal/governance"
	"haven/internal/keys"
	"haven/internal/store"
)

// ErrNotEmpty is returned when the restore target already holds data.
var ErrNotEmpty = errors.New("backup: the target database is not empty: restore only into a new installation (an empty data directory or database)")

// walk decrypts and parses the archive in r, calling onTable and onRows (either may be nil) as
// it goes, and returns the manifest once the whole stream has verified: frames in order, row
// counts and hash as the manifest says, nothing after it.
func walk(r io.Reader, kek tink.AEAD, onTable func(tableFrame) error, onRows func([][]any) error) (Manifest, error) {
	dec, err := open(r, kek)
	if err != nil {
		return Manifest{}, err
	}
	return parse(dec, onTable, onRows)
}

// parse reads the decrypted stream's frames; see walk.
func parse(dec io.Reader, onTable func(tableFrame) error, onRows func([][]any) error) (Manifest, error) {
	h := sha256.New()
	var counts []TableCount
	var cols int
	for {
		kind, body, err := readFrame(dec, h)
		if errors.Is(err, io.EOF) {
			return Manifest{}, fmt.Errorf("%w: no manifest", ErrCorrupt)
		}
		if err != nil {
			return Manifest{}, err
		}
		switch kind {
		case frameTable:
			var t tableFrame
			if err := decMode.Unmarshal(body, &t); err != nil || t.Name == "" || len(t.Columns) == 0 {
				return Manifest{}, fmt.Errorf("%w: bad table frame", ErrCorrupt)
			}
			counts = append(counts, TableCount{Name: t.Name})
			cols = len(t.Columns)
			if onTable != nil {
				if err := onTable(t); err != nil {
					return Manifest{}, err
				}
			}
		case frameRows:
			var rows [][]any
			if err := decMode.Unmarshal(body, &rows); err != nil || len(counts) == 0 {
				return Manifest{}, fmt.Errorf("%w: bad rows frame", ErrCorrupt)
			}
			for _, row := range rows {
				if len(row) != cols {
					return Manifest{}, fmt.Errorf("%w: row width", ErrCorrupt)
				}
				for _, v := range row {
					switch v.(type) {
					case nil, int64, float64, string, []byte:
					default:
						return Manifest{}, fmt.Errorf("%w: value of type %T", ErrCorrupt, v)
					}
				}
			}
			counts[len(counts)-1].Rows += int64(len(rows))
			if onRows != nil {
				if err := onRows(rows); err != nil {
					return Manifest{}, err
				}
			}
		case frameManifest:
			var m Manifest
			if err := decMode.Unmarshal(body, &m); err != nil {
				return Manifest{}, fmt.Errorf("%w: bad manifest", ErrCorrupt)
			}
			if !bytes.Equal(m.SHA256, h.Sum(nil)) {
				return Manifest{}, fmt.Errorf("%w: content hash differs from the manifest", ErrCorrupt)
			}
			if len(m.Tables) != len(counts) {
				return Manifest{}, fmt.Errorf("%w: table count differs from the manifest", ErrCorrupt)
			}
			for i, t := range m.Tables {
				if t != counts[i] {
					return Manifest{}, fmt.Errorf("%w: rows of %s differ from the manifest", ErrCorrupt, t.Name)
				}
			}
			var extra [1]byte
			if n, err := io.ReadFull(dec, extra[:]); n != 0 || !errors.Is(err, io.EOF) {
				return Manifest{}, fmt.Errorf("%w: data after the manifest", ErrCorrupt)
			}
			return m, nil
		default:
			return Manifest{}, fmt.Errorf("%w: unknown frame", ErrCorrupt)
		}
	}
}

// Verify reads the whole archive at path and checks it decrypts under kek and parses, without
// writing anything.
func Verify(path string, kek tink.AEAD) (Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: open archive: %w", err)
	}
	defer f.Close()
	return walk(f, kek, nil, nil)
}

// RestoreResult is what a restore did, and what the audit verification found afterwards.
type RestoreResult struct {
	Summary
	Erased int // patients whose keysets the erasure ledger destroyed
	Audit  audit.Report
}

// Restore writes the archive at path, whose whole content Verify has checked and described as
// m, into db, which must be an empty installation at the archive's schema version. It inserts
// every row in one transaction, checking the content again as it reads (nothing is committed if
// it changed), destroys the keysets of the patients in erased (the ledger beside the root key),
// then verifies the audit log and records the drill in db.
func Restore(ctx context.Context, db *store.DB, kek tink.AEAD, path string, m Manifest, erased []string, now func() time.Time, progress Progress) (RestoreResult, error) {
	start := now()
	if len(m.SHA256) != sha256.Size {
		return RestoreResult{}, errors.New("backup: restore needs the manifest of a verified archive (call Verify first)")
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return RestoreResult{}, err
	}
	if v != m.SchemaVersion {
		return RestoreResult{}, fmt.Errorf("backup: the archive is at schema version %d and this Haven at %d: restore with the Haven version that made the archive, then upgrade", m.SchemaVersion, v)
	}
	if err := ensureEmpty(ctx, db); err != nil {
		return RestoreResult{}, err
	}
	types, err := columnTypes(ctx, db)
	if err != nil {
		return RestoreResult{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return RestoreResult{}, fmt.Errorf("backup: open archive: %w", err)
	}
	defer f.Close()
	cr := &countingReader{r: f}
	total := m.Rows()
	res := RestoreResult{}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		var stmt *sql.Stmt
		var cur tableFrame
		var done int64
		defer func() {
			if stmt != nil {
				stmt.Close()
			}
		}()
		m2, err := walk(cr, kek, func(t tableFrame) error {
			if stmt != nil {
				stmt.Close()
			}
			cur = t
			ph := make([]string, len(t.Columns))
			qc := make([]string, len(t.Columns))
			for i, c := range t.Columns {
				ph[i] = fmt.Sprintf("$%d", i+1)
				qc[i] = quote(c)
			}
			var err error
			stmt, err = tx.PrepareContext(ctx, `INSERT INTO `+quote(t.Name)+` (`+strings.Join(qc, ", ")+`) VALUES (`+strings.Join(ph, ", ")+`)`)
			if err != nil {
				return fmt.Errorf("backup: restore %s: %w", t.Name, err)
			}
			return nil
		}, func(rows [][]any) error {
			for _, r := range rows {
				for i, c := range cur.Columns {
					r[i] = coerce(r[i], types[cur.Name+"."+c])
				}
				if _, err := stmt.ExecContext(ctx, r...); err != nil {
					return fmt.Errorf("backup: restore a row of %s: %w", cur.Name, err)
				}
			}
			done += int64(len(rows))
			if progress != nil {
				progress(done, total)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !bytes.Equal(m2.SHA256, m.SHA256) {
			return fmt.Errorf("%w: the archive changed while it was restored", ErrCorrupt)
		}
		for _, id := range erased {
			r, err := tx.ExecContext(ctx, `DELETE FROM patient_keys WHERE patient_id = $1`, id)
			if err != nil {
				return fmt.Errorf("backup: apply the erasure ledger: %w", err)
			}
			if n, _ := r.RowsAffected(); n > 0 {
				res.Erased++
			}
		}
		return nil
	})
	if err != nil {
		return RestoreResult{}, err
	}
	res.Manifest, res.Bytes = m, cr.n
	if res.Audit, err = verifyAudit(ctx, db, kek); err != nil {
		return res, err
	}
	res.Elapsed = now().Sub(start)
	runID, err := governance.StartRun(ctx, db, governance.RunRestoreDrill, start)
	if err != nil {
		return res, err
	}
	detail := fmt.Sprintf("%d tables, %d rows from a %s archive; %d erasures applied; audit log %s",
		len(m.Tables), m.Rows(), m.Dialect, res.Erased, map[bool]string{true: "verified", false: "FAILED verification"}[res.Audit.OK()])
	return res, governance.FinishRun(ctx, db, runID, now(), res.Audit.OK(), detail)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ensureEmpty refuses a database with any row outside schema_migrations.
func ensureEmpty(ctx context.Context, db *store.DB) error {
	tables, err := tableOrder(ctx, db, db.Dialect)
	if err != nil {
		return err
	}
	for _, t := range tables {
		var one int
		err := db.QueryRowContext(ctx, `SELECT 1 FROM `+quote(t.name)+` LIMIT 1`).Scan(&one)
		if err == nil {
			return ErrNotEmpty
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("backup: check %s is empty: %w", t.name, err)
		}
	}
	return nil
}

// columnTypes maps "table.column" to "bytes" or "text" for PostgreSQL targets, whose columns
// accept only their own type; SQLite takes values as they come.
func columnTypes(ctx context.Context, db *store.DB) (map[string]string, error) {
	out := map[string]string{}
	if db.Dialect != store.Postgres {
		return out, nil
	}
	rows, err := db.QueryContext(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema()`)
	if err != nil {
		return nil, fmt.Errorf("backup: target columns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t, c, typ string
		if err := rows.Scan(&t, &c, &typ); err != nil {
			return nil, fmt.Errorf("backup: target columns: %w", err)
		}
		switch typ {
		case "bytea":
			out[t+"."+c] = "bytes"
		case "text", "character varying":
			out[t+"."+c] = "text"
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("backup: target columns: %w", err)
	}
	return out, nil
}

// coerce fits a value read from SQLite (where a TEXT column may hold a blob and the reverse)
// to a PostgreSQL column's type.
func coerce(v any, typ string) any {
	switch x := v.(type) {
	case []byte:
		if typ == "text" {
			return string(x)
		}
	case string:
		if typ == "bytes" {
			return []byte(x)
		}
	}
	return v
}

// verifyAudit checks the restored audit log against the checkpoint key the root key unwraps.
func verifyAudit(ctx context.Context, db *store.DB, kek tink.AEAD) (audit.Report, error) {
	ks, err := keys.Open(ctx, db, kek)
	if err != nil {
		return audit.Report{}, err
	}
	var v note.Verifier
	vkey, err := ks.AuditVerifierKey(ctx)
	switch {
	case errors.Is(err, keys.ErrNoAuditKey):
	case err != nil:
		return audit.Report{}, err
	default:
		if v, err = note.NewVerifier(vkey); err != nil {
			return audit.Report{}, fmt.Errorf("backup: checkpoint verifier key: %w", err)
		}
	}
	rep, err := audit.Verify(ctx, db, v)
	if err != nil {
		return audit.Report{}, fmt.Errorf("backup: verify the restored audit log: %w", err)
	}
	return rep, nil
}
