// Package governance owns what a clinic needs to operate its data: backups and restores,
// retention and legal holds, erasure by crypto-shredding, the patient's own export, and the
// compliance report's evidence. Acts on patients pass the one door like every other; the
// operator's commands (backup, restore, rotation) record what they did in governance_runs.
package governance

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"haven/internal/store"
)

// Run kinds, as governance_runs.kind records them.
const (
	RunBackup       = "backup"
	RunRestoreDrill = "restore"
	RunRotation     = "key-rotation"
	RunPurge        = "retention-purge"
)

// Run is one governance operation as it ran.
type Run struct {
	ID         string
	Kind       string
	StartedAt  time.Time
	FinishedAt time.Time // zero while it runs, or if it never finished
	OK         bool
	Detail     string // counts and identifiers only, never PHI
}

// StartRun records that an operation of kind began, and returns its identifier.
func StartRun(ctx context.Context, db *store.DB, kind string, at time.Time) (string, error) {
	var b [12]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if _, err := db.ExecContext(ctx, `INSERT INTO governance_runs (id, kind, started_at) VALUES ($1, $2, $3)`, id, kind, at.UnixNano()); err != nil {
		return "", fmt.Errorf("governance: record %s start: %w", kind, err)
	}
	return id, nil
}

// FinishRun records how the operation id ended.
func FinishRun(ctx context.Context, db *store.DB, id string, at time.Time, ok bool, detail string) error {
	okInt := 0
	if ok {
		okInt = 1
	}
	if _, err := db.ExecContext(ctx, `UPDATE governance_runs SET finished_at = $1, ok = $2, detail = $3 WHERE id = $4`, at.UnixNano(), okInt, detail, id); err != nil {
		return fmt.Errorf("governance: record run end: %w", err)
	}
	return nil
}

// LastRun is the latest run of kind that finished, successful ones only if okOnly; ok is
// false if there is none.
func LastRun(ctx context.Context, db *store.DB, kind string, okOnly bool) (Run, bool, error) {
	q := `SELECT id, kind, started_at, finished_at, ok, detail FROM governance_runs WHERE kind = $1 AND finished_at IS NOT NULL`
	if okOnly {
		q += ` AND ok = 1`
	}
	q += ` ORDER BY finished_at DESC LIMIT 1`
	var r Run
	var started, finished int64
	var ok int
	err := db.QueryRowContext(ctx, q, kind).Scan(&r.ID, &r.Kind, &started, &finished, &ok, &r.Detail)
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("governance: last %s: %w", kind, err)
	}
	r.StartedAt, r.FinishedAt, r.OK = time.Unix(0, started).UTC(), time.Unix(0, finished).UTC(), ok == 1
	return r, true, nil
}

// LedgerName is the erasure ledger's file name. It lives beside the root key (in the data
// directory of the local key file), never in the database alone: a backup taken before an
// erasure holds the patient's wrapped keyset, and every restore reads the ledger beside the
// root key it is given and destroys the keysets of every patient it lists before anything is
// served. Keep it with the root key: the two are what a restore needs besides the archive.
const LedgerName = "erasures.log"

// RecordErasure appends patientID to the ledger in dir (created 0600 if missing) and syncs it:
// the erasure is durable before the keyset is destroyed.
func RecordErasure(dir, patientID string, at time.Time) error {
	if patientID == "" || strings.ContainsAny(patientID, " \n\t") {
		return fmt.Errorf("governance: erasure ledger: bad patient identifier")
	}
	f, err := os.OpenFile(filepath.Join(dir, LedgerName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("governance: open erasure ledger: %w", err)
	}
	if _, err := fmt.Fprintf(f, "%s %d\n", patientID, at.UnixNano()); err != nil {
		f.Close()
		return fmt.Errorf("governance: write erasure ledger: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("governance: sync erasure ledger: %w", err)
	}
	return f.Close()
}

// EnsureLedger creates an empty ledger in dir if there is none, so that a restore can tell an
// installation with no erasures from a ledger left behind.
func EnsureLedger(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, LedgerName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("governance: create erasure ledger: %w", err)
	}
	return f.Close()
}

// ErasedPatients lists the patients the ledger in dir names. A missing ledger is an error
// (os.ErrNotExist): a restore must not go on as if no one had been erased.
func ErasedPatients(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, LedgerName))
	if err != nil {
		return nil, fmt.Errorf("governance: read erasure ledger: %w", err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		id, at, ok := strings.Cut(line, " ")
		if _, err := strconv.ParseInt(at, 10, 64); !ok || err != nil || id == "" {
			return nil, fmt.Errorf("governance: erasure ledger line %d is not \"patient-id unix-nanoseconds\"", n)
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("governance: read erasure ledger: %w", err)
	}
	return ids, nil
}
