package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"

	"haven/internal/audit"
	"haven/internal/keys"
	"haven/internal/keys/kms/localfile"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

func rootKey(t testing.TB) tink.AEAD {
	t.Helper()
	kek, err := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(t.TempDir(), "root.key")))
	if err != nil {
		t.Fatal(err)
	}
	return kek
}

// populated fills db with patients' keysets and audit entries, as a small installation holds.
func populated(t testing.TB, db *store.DB, kek tink.AEAD, patients int) {
	t.Helper()
	ctx := context.Background()
	ks, err := keys.Open(ctx, db, kek)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ks.AuditSigner(ctx); err != nil {
		t.Fatal(err)
	}
	log := audit.New(db, time.Now)
	for i := range patients {
		id := fmt.Sprintf("patient-%05d", i)
		if _, err := ks.CreatePatientKey(ctx, db, id); err != nil {
			t.Fatal(err)
		}
		if _, err := log.Append(ctx, audit.Entry{Action: "record.read", Outcome: audit.Allow, PatientID: id}); err != nil {
			t.Fatal(err)
		}
	}
}

func archiveOf(t testing.TB, db *store.DB, kek tink.AEAD) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "a.backup")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Write(context.Background(), db, kek, f, time.Now, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

func count(t testing.TB, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRoundTripEveryDialect writes an archive from each dialect and restores it into each: the
// row counts match, the erasure list removes exactly its patients' keysets, the audit log
// verifies, and the drill is recorded in the restored database.
func TestRoundTripEveryDialect(t *testing.T) {
	ctx := context.Background()
	for _, from := range storetest.Dialects() {
		for _, to := range storetest.Dialects() {
			t.Run(string(from)+"-to-"+string(to), func(t *testing.T) {
				kek := rootKey(t)
				src := storetest.Open(t, from)
				populated(t, src, kek, 20)
				path := archiveOf(t, src, kek)
				dst := storetest.Open(t, to)
				m, err := Verify(path, kek)
				if err != nil {
					t.Fatal(err)
				}
				res, err := Restore(ctx, dst, kek, path, m, []string{"patient-00003", "no-such-patient"}, time.Now, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !res.Audit.OK() || res.Audit.Entries != 20 {
					t.Fatalf("audit after restore: %+v", res.Audit)
				}
				if res.Erased != 1 || count(t, dst, "patient_keys") != 19 {
					t.Fatalf("erased %d, %d keysets left; want 1 and 19", res.Erased, count(t, dst, "patient_keys"))
				}
				for _, tb := range []string{"audit_entries", "system_keys"} {
					if a, b := count(t, src, tb), count(t, dst, tb); a != b {
						t.Fatalf("%s: %d rows in the source, %d restored", tb, a, b)
					}
				}
				var drills int
				dst.QueryRow(`SELECT COUNT(*) FROM governance_runs WHERE kind = 'restore' AND ok = 1`).Scan(&drills)
				if drills != 1 {
					t.Fatalf("%d restore drills recorded, want 1", drills)
				}
			})
		}
	}
}

// TestRestoreRefusesDamagedArchives: a flipped byte anywhere, a truncation, the wrong root key
// or bytes appended are refused as ErrCorrupt and the target stays empty.
func TestRestoreRefusesDamagedArchives(t *testing.T) {
	ctx := context.Background()
	kek := rootKey(t)
	src := storetest.Open(t, store.SQLite)
	populated(t, src, kek, 5)
	goodPath := archiveOf(t, src, kek)
	good, err := os.ReadFile(goodPath)
	if err != nil {
		t.Fatal(err)
	}
	goodManifest, err := Verify(goodPath, kek)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(at int) []byte {
		b := bytes.Clone(good)
		b[at] ^= 0x80
		return b
	}
	cases := []struct {
		name string
		data []byte
		kek  tink.AEAD
	}{
		{"magic flipped", flip(3), kek},
		{"header flipped", flip(len(magic) + 10), kek},
		{"body flipped", flip(len(good) / 2), kek},
		{"last byte flipped", flip(len(good) - 1), kek},
		{"truncated in the header", good[:30], kek},
		{"truncated in the body", good[:len(good)/2], kek},
		{"last byte cut", good[:len(good)-1], kek},
		{"bytes appended", append(bytes.Clone(good), 0), kek},
		{"another root key", good, rootKey(t)},
	}
	for _, d := range storetest.Dialects() {
		for _, c := range cases {
			t.Run(string(d)+"/"+c.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "bad.backup")
				os.WriteFile(path, c.data, 0o600)
				dst := storetest.Open(t, d)
				if _, err := Verify(path, c.kek); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Verify: got %v, want ErrCorrupt", err)
				}
				// A Restore handed a good archive's manifest still refuses the damaged content.
				if _, err := Restore(ctx, dst, c.kek, path, goodManifest, nil, time.Now, nil); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("got %v, want ErrCorrupt", err)
				}
				if err := ensureEmpty(ctx, dst); err != nil {
					t.Fatalf("the target was written: %v", err)
				}
			})
		}
	}
}

// TestRestoreRefusesNonEmptyDatabase: a database holding any row is refused and left alone.
func TestRestoreRefusesNonEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	kek := rootKey(t)
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		populated(t, db, kek, 2)
		path := archiveOf(t, db, kek)
		before := count(t, db, "audit_entries")
		m, err := Verify(path, kek)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Restore(ctx, db, kek, path, m, nil, time.Now, nil); !errors.Is(err, ErrNotEmpty) {
			t.Fatalf("got %v, want ErrNotEmpty", err)
		}
		if after := count(t, db, "audit_entries"); after != before {
			t.Fatalf("audit entries %d then %d", before, after)
		}
	})
}

// TestSelfReferencesComeFirst: rows of a table that references itself are ordered parents first.
func TestSelfReferencesComeFirst(t *testing.T) {
	cols := []string{"id", "amends"}
	rows := [][]any{{"c", "b"}, {"b", "a"}, {"a", nil}, {"d", nil}}
	got, err := parentsFirst(rows, cols, "amends", "id")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[any]bool{}
	for _, r := range got {
		if r[1] != nil && !seen[r[1]] {
			t.Fatalf("%v comes before the row it references: %v", r, got)
		}
		seen[r[0]] = true
	}
	if _, err := parentsFirst([][]any{{"x", "missing"}}, cols, "amends", "id"); err == nil {
		t.Fatal("a dangling reference was ordered")
	}
}

// FuzzParse feeds the decrypted-stream parser arbitrary bytes: it never panics and never
// accepts a stream whose manifest does not match.
func FuzzParse(f *testing.F) {
	var plain bytes.Buffer
	h := sha256.New()
	fw := &frameWriter{w: &plain, sum: h}
	fw.frame(frameTable, tableFrame{Name: "t", Columns: []string{"a", "b"}})
	fw.frame(frameRows, [][]any{{int64(1), "x"}, {nil, []byte{1}}})
	fw.frame(frameManifest, Manifest{Tables: []TableCount{{"t", 2}}, SHA256: h.Sum(nil)})
	if _, err := parse(bytes.NewReader(plain.Bytes()), nil, nil); err != nil {
		f.Fatalf("the well-formed seed is refused: %v", err)
	}
	f.Add(plain.Bytes())
	f.Add([]byte{})
	f.Add([]byte{'M', 0, 0, 0, 1, 0xa0})
	f.Fuzz(func(t *testing.T, data []byte) {
		rows := int64(0)
		m, err := parse(bytes.NewReader(data), nil, func(r [][]any) error { rows += int64(len(r)); return nil })
		if err == nil && m.Rows() != rows {
			t.Fatalf("accepted a manifest of %d rows for %d rows", m.Rows(), rows)
		}
	})
}

// TestLargeRowsSplitFrames: rows of large blobs (documents are up to 10 MiB each) go into frames
// cut by size as well as by rows, and restore whole.
func TestLargeRowsSplitFrames(t *testing.T) {
	ctx := context.Background()
	kek := rootKey(t)
	src := storetest.Open(t, store.SQLite)
	blob := bytes.Repeat([]byte{0xa5}, 3<<20)
	for i := range 8 {
		if _, err := src.Exec(`INSERT INTO patient_keys (patient_id, wrapped, created_at) VALUES ($1, $2, 0)`, fmt.Sprintf("p%d", i), blob); err != nil {
			t.Fatal(err)
		}
	}
	path := archiveOf(t, src, kek)
	dst := storetest.Open(t, store.SQLite)
	m, err := Verify(path, kek)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, dst, kek, path, m, nil, time.Now, nil); err != nil {
		t.Fatal(err)
	}
	var total int64
	dst.QueryRow(`SELECT SUM(LENGTH(wrapped)) FROM patient_keys`).Scan(&total)
	if total != 8*3<<20 {
		t.Fatalf("restored %d bytes of blobs, want %d", total, 8*3<<20)
	}
}

// TestSnapshotOfOddlyNamedDirectory: a data directory whose name SQLite would read as a URI
// fragment or query is backed up from itself.
func TestSnapshotOfOddlyNamedDirectory(t *testing.T) {
	ctx := context.Background()
	kek := rootKey(t)
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "clinic#2?x=1", "haven.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	populated(t, db, kek, 3)
	m, err := Verify(archiveOf(t, db, kek), kek)
	if err != nil {
		t.Fatal(err)
	}
	keysets := int64(-1)
	for _, tc := range m.Tables {
		if tc.Name == "patient_keys" {
			keysets = tc.Rows
		}
	}
	if keysets != 3 {
		t.Fatalf("patient_keys: %d rows in the archive, want 3", keysets)
	}
}
