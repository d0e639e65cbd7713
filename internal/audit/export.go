package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"haven/internal/store"
)

// An export is a directory a verifier can check with no database at all:
//
//	entries.ndjson            one JSON entry per line, in index order
//	checkpoints/N.checkpoint  every signed checkpoint, as stored
//	key                       the checkpoint verifier key (informational: verify with your own copy)
//	origin                    the log's checkpoint origin (LogOrigin text; absent before it had one)
const (
	exportEntries     = "entries.ndjson"
	exportCheckpoints = "checkpoints"
	exportKey         = "key"
	exportOrigin      = "origin"
)

// Export writes every entry and checkpoint of db, and the verifier key, into dir (created,
// mode 0700; it must not exist yet, so an export is never mixed with an older one).
func Export(ctx context.Context, db *store.DB, dir, vkey string) (int64, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return 0, fmt.Errorf("audit: export: %w", err)
	}
	if err := os.Mkdir(filepath.Join(dir, exportCheckpoints), 0o700); err != nil {
		return 0, fmt.Errorf("audit: export: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, exportEntries), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("audit: export: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	rows, err := db.QueryContext(ctx, selectEntries)
	if err != nil {
		return 0, fmt.Errorf("audit: export: read entries: %w", err)
	}
	var n int64
	for rows.Next() {
		row, err := scanEntry(rows)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("audit: export: scan entry: %w", err)
		}
		// time.Time encodes as RFC 3339 with nanoseconds, so the canonical encoding, and the
		// leaf hash, are reproduced exactly from the export.
		if err := enc.Encode(row.Entry); err != nil {
			rows.Close()
			return 0, fmt.Errorf("audit: export: write entry: %w", err)
		}
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("audit: export: read entries: %w", err)
	}
	if err := w.Flush(); err != nil {
		return 0, fmt.Errorf("audit: export: %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("audit: export: %w", err)
	}
	cprows, err := db.QueryContext(ctx, selectAllCPs)
	if err != nil {
		return 0, fmt.Errorf("audit: export: read checkpoints: %w", err)
	}
	defer cprows.Close()
	for cprows.Next() {
		cp, err := scanCheckpoint(cprows)
		if err != nil {
			return 0, fmt.Errorf("audit: export: read checkpoint: %w", err)
		}
		name := filepath.Join(dir, exportCheckpoints, strconv.FormatInt(cp.Size, 10)+".checkpoint")
		if err := os.WriteFile(name, cp.Signed, 0o600); err != nil {
			return 0, fmt.Errorf("audit: export: %w", err)
		}
	}
	if err := cprows.Err(); err != nil {
		return 0, fmt.Errorf("audit: export: read checkpoints: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, exportKey), []byte(vkey+"\n"), 0o600); err != nil {
		return 0, fmt.Errorf("audit: export: %w", err)
	}
	origin, err := LoadLogOrigin(ctx, db)
	if errors.Is(err, ErrNoLogOrigin) {
		return n, nil
	}
	if err != nil {
		return 0, err
	}
	text, err := origin.MarshalText()
	if err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(dir, exportOrigin), text, 0o600); err != nil {
		return 0, fmt.Errorf("audit: export: %w", err)
	}
	return n, nil
}

// ParseEntry decodes one line of an export. It refuses unknown fields and malformed times.
func ParseEntry(line []byte) (Entry, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var e Entry
	if err := dec.Decode(&e); err != nil {
		return Entry{}, fmt.Errorf("audit: entry: %w", err)
	}
	if dec.More() {
		return Entry{}, errors.New("audit: entry: trailing data")
	}
	e.Time = e.Time.UTC()
	return e, nil
}

// VerifyExport checks an export with no database: it recomputes the Merkle tree from the
// entries and checks every checkpoint's signature (with v, which the verifier holds), origin
// (the export's origin file; an export without one holds only legacy checkpoints) and root.
func VerifyExport(dir string, v note.Verifier) (Report, error) {
	if v == nil {
		return Report{}, errors.New("audit: verifying an export needs the verifier key")
	}
	origin := LogOrigin{LegacyThrough: math.MaxInt64}
	switch text, err := os.ReadFile(filepath.Join(dir, exportOrigin)); {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return Report{}, fmt.Errorf("audit: export: %w", err)
	default:
		if err := origin.UnmarshalText(text); err != nil {
			return Report{}, fmt.Errorf("audit: export: %w", err)
		}
	}
	f, err := os.Open(filepath.Join(dir, exportEntries))
	if err != nil {
		return Report{}, fmt.Errorf("audit: export: %w", err)
	}
	defer f.Close()
	rep := Report{Origin: origin.Name}
	var tree memHashes
	r := bufio.NewReaderSize(f, 1<<16)
	for {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			e, perr := ParseEntry(line)
			rep.Entries++
			if perr != nil {
				return bad(rep, rep.Entries, "entry line cannot be parsed: "+perr.Error()), nil
			}
			if e.Seq != rep.Entries {
				return bad(rep, rep.Entries, fmt.Sprintf("expected index %d, found %d", rep.Entries, e.Seq)), nil
			}
			if err := tree.add(e.Seq-1, Canonical(e)); err != nil {
				return Report{}, err
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return Report{}, fmt.Errorf("audit: export: read entries: %w", err)
		}
	}
	names, err := filepath.Glob(filepath.Join(dir, exportCheckpoints, "*.checkpoint"))
	if err != nil {
		return Report{}, fmt.Errorf("audit: export: %w", err)
	}
	var cps []Checkpoint
	for _, name := range names {
		signed, err := os.ReadFile(name)
		if err != nil {
			return Report{}, fmt.Errorf("audit: export: %w", err)
		}
		t, err := OpenCheckpoint(signed, v, origin)
		if err != nil {
			size, _ := strconv.ParseInt(strings.TrimSuffix(filepath.Base(name), ".checkpoint"), 10, 64)
			problem := "is not signed by the audit key"
			if errors.Is(err, ErrForeignCheckpoint) {
				problem = "names another log than " + originName(origin)
			}
			return bad(rep, min(size, rep.Entries+1), fmt.Sprintf("%s %s", filepath.Base(name), problem)), nil
		}
		cps = append(cps, Checkpoint{Size: t.N, Root: t.Hash, Signed: signed})
	}
	sort.Slice(cps, func(i, j int) bool { return cps[i].Size < cps[j].Size })
	return checkAgainst(rep, tree, cps, v, origin)
}
