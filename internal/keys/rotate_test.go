package keys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tink-crypto/tink-go/v2/tink"

	"haven/internal/keys/kms/localfile"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// rotationFixture is an installation's key material: a root key file, the system keys and a
// number of patients, each with one sealed value.
type rotationFixture struct {
	keyFile  string
	svc      *Service
	patients []string
	sealed   map[string][]byte
	vkey     string
	pub      []byte
	dirCT    []byte
}

func patientLoc(id string) Location { return Location{Table: "patients", Row: id, Field: "name"} }

func newRotationFixture(t *testing.T, db *store.DB, patients int) *rotationFixture {
	t.Helper()
	ctx := context.Background()
	f := &rotationFixture{keyFile: filepath.Join(t.TempDir(), "root.key"), sealed: map[string][]byte{}}
	kek, err := localfile.Client{}.GetAEAD(localfile.URI(f.keyFile))
	if err != nil {
		t.Fatal(err)
	}
	if f.svc, err = Open(ctx, db, kek); err != nil {
		t.Fatal(err)
	}
	for i := range patients {
		id := fmt.Sprintf("p%04d", i)
		if _, err := f.svc.CreatePatientKey(ctx, db, id); err != nil {
			t.Fatal(err)
		}
		ct, err := f.svc.Seal(ctx, id, patientLoc(id), []byte("Canary "+id))
		if err != nil {
			t.Fatal(err)
		}
		f.patients = append(f.patients, id)
		f.sealed[id] = ct
	}
	if _, f.vkey, err = f.svc.AuditSigner(ctx); err != nil {
		t.Fatal(err)
	}
	if _, f.pub, err = f.svc.SignAsPrescriber(ctx, "clin1", []byte("digest")); err != nil {
		t.Fatal(err)
	}
	if f.dirCT, err = f.svc.SealDirectory(Location{Table: "accounts", Row: "a1", Field: "email"}, []byte("ada@example.test")); err != nil {
		t.Fatal(err)
	}
	return f
}

// checkOpens opens every key of the installation with a Haven started afresh on the key file.
func (f *rotationFixture) checkOpens(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	kek, err := localfile.Client{}.GetAEAD(localfile.URI(f.keyFile))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, db, kek)
	if err != nil {
		t.Fatalf("a Haven started after the rotation cannot open its system keys: %v", err)
	}
	for _, id := range f.patients {
		pt, err := s.Open(ctx, id, patientLoc(id), f.sealed[id])
		if err != nil || string(pt) != "Canary "+id {
			t.Fatalf("patient %s: Open = %q, %v", id, pt, err)
		}
	}
	if vkey, err := s.AuditVerifierKey(ctx); err != nil || vkey != f.vkey {
		t.Fatalf("audit verifier key after rotation = %q, %v; want the same key", vkey, err)
	}
	if _, pub, err := s.SignAsPrescriber(ctx, "clin1", []byte("digest")); err != nil || !bytes.Equal(pub, f.pub) {
		t.Fatalf("prescriber key after rotation: %v (same key: %v)", err, bytes.Equal(pub, f.pub))
	}
	if pt, err := s.OpenDirectory(Location{Table: "accounts", Row: "a1", Field: "email"}, f.dirCT); err != nil || string(pt) != "ada@example.test" {
		t.Fatalf("directory value after rotation = %q, %v", pt, err)
	}
}

// versionsInUse counts the wrapped key rows by root key version (0: not recorded).
func versionsInUse(t *testing.T, db *store.DB) map[int64]int {
	t.Helper()
	out := map[int64]int{}
	for _, table := range []string{"patient_keys", "system_keys"} {
		rows, err := db.QueryContext(context.Background(), `SELECT COALESCE(kek_version, 0), COUNT(*) FROM `+table+` GROUP BY COALESCE(kek_version, 0)`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v int64
			var n int
			if err := rows.Scan(&v, &n); err != nil {
				t.Fatal(err)
			}
			out[v] += n
		}
		rows.Close()
	}
	return out
}

func fileVersions(t *testing.T, path string) ([]uint32, uint32) {
	t.Helper()
	ids, primary, err := localfile.Versions(path)
	if err != nil {
		t.Fatal(err)
	}
	return ids, primary
}

func TestRotationResumesAfterInterruption(t *testing.T) {
	tests := []struct {
		name      string
		interrupt func(ctx context.Context, cancel context.CancelFunc) RotateOptions
	}{
		{"stopped after a number of rows", func(context.Context, context.CancelFunc) RotateOptions {
			return RotateOptions{BatchSize: 7, Limit: 20}
		}},
		{"cancelled half-way", func(_ context.Context, cancel context.CancelFunc) RotateOptions {
			return RotateOptions{BatchSize: 7, Progress: func(done, total int) {
				if done >= total/2 {
					cancel()
				}
			}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
				f := newRotationFixture(t, db, 40)
				ids, oldPrimary := fileVersions(t, f.keyFile)
				if len(ids) != 1 {
					t.Fatalf("a new key file holds %d versions", len(ids))
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				rep, err := Rotate(ctx, db, f.keyFile, tt.interrupt(ctx, cancel))
				if rep.Complete {
					t.Fatal("the interrupted rotation says it completed")
				}
				if err != nil && !errors.Is(err, context.Canceled) {
					t.Fatal(err)
				}
				inUse := versionsInUse(t, db)
				if inUse[int64(rep.Version)] == 0 || inUse[int64(oldPrimary)] == 0 {
					t.Fatalf("half-way, rows by version = %v; want some under each", inUse)
				}
				ids, primary := fileVersions(t, f.keyFile)
				if len(ids) != 2 || primary != rep.Version {
					t.Fatalf("half-way, key file versions %v primary %d; want the old and the new (primary %d)", ids, primary, rep.Version)
				}
				f.checkOpens(t, db) // half-way, everything opens

				var progress [][2]int
				rep2, err := Rotate(context.Background(), db, f.keyFile, RotateOptions{BatchSize: 7, Progress: func(d, n int) { progress = append(progress, [2]int{d, n}) }})
				if err != nil {
					t.Fatal(err)
				}
				if !rep2.Resumed || rep2.Version != rep.Version || !rep2.Complete {
					t.Fatalf("second run = %+v; want the same rotation resumed and completed", rep2)
				}
				if len(progress) == 0 || progress[len(progress)-1][0] != rep2.Total {
					t.Fatalf("progress = %v; want it to end at the total %d", progress, rep2.Total)
				}
				if got := versionsInUse(t, db); len(got) != 1 || got[int64(rep.Version)] != 40+5 {
					t.Fatalf("after the rotation, rows by version = %v; want all 45 under %d", got, rep.Version)
				}
				if ids, primary := fileVersions(t, f.keyFile); len(ids) != 1 || primary != rep.Version {
					t.Fatalf("after the rotation the key file holds %v; want only %d", ids, rep.Version)
				}
				f.checkOpens(t, db)
			})
		})
	}
}

func TestReadsWorkDuringRotation(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newRotationFixture(t, db, 60)
		// The running Haven's root key, loaded before the rotation starts.
		kek, err := localfile.Client{}.GetAEAD(localfile.URI(f.keyFile))
		if err != nil {
			t.Fatal(err)
		}
		var (
			wg      sync.WaitGroup
			rep     RotateReport
			rotErr  error
			stopped = make(chan struct{})
		)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(stopped)
			rep, rotErr = Rotate(ctx, db, f.keyFile, RotateOptions{BatchSize: 3})
		}()
		reads, created := 0, 0
		for done := false; !done; {
			select {
			case <-stopped:
				done = true
			default:
			}
			// A fresh Service each round: nothing cached, every key unwrapped through the
			// root key the server loaded before the rotation.
			s, err := Open(ctx, db, kek)
			if err != nil {
				t.Fatalf("during the rotation, system keys do not open: %v", err)
			}
			for _, id := range f.patients {
				pt, err := s.Open(ctx, id, patientLoc(id), f.sealed[id])
				if err != nil || string(pt) != "Canary "+id {
					t.Fatalf("during the rotation, patient %s: %q, %v", id, pt, err)
				}
				reads++
			}
			// The server keeps creating patients meanwhile.
			id := fmt.Sprintf("new%03d", created)
			if _, err := s.CreatePatientKey(ctx, db, id); err != nil {
				t.Fatal(err)
			}
			ct, err := s.Seal(ctx, id, patientLoc(id), []byte("Canary "+id))
			if err != nil {
				t.Fatal(err)
			}
			f.patients, f.sealed[id] = append(f.patients, id), ct
			created++
		}
		wg.Wait()
		if rotErr != nil || !rep.Complete {
			t.Fatalf("rotation = %+v, %v", rep, rotErr)
		}
		t.Logf("%d reads and %d new patients during the rotation", reads, created)
		if got := versionsInUse(t, db); len(got) != 1 || got[int64(rep.Version)] == 0 {
			t.Fatalf("after the rotation, rows by version = %v; want all under %d", got, rep.Version)
		}
		f.checkOpens(t, db)
	})
}

func TestOldVersionRetiredOnlyWhenUnused(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newRotationFixture(t, db, 10)
		_, oldVersion := fileVersions(t, f.keyFile)
		// A Haven that has not noticed the rotation: its root key is the old file's.
		stale := filepath.Join(t.TempDir(), "stale-root.key")
		raw, err := os.ReadFile(f.keyFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(stale, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		staleKEK, err := localfile.Client{}.GetAEAD(localfile.URI(stale))
		if err != nil {
			t.Fatal(err)
		}

		rep, err := Rotate(ctx, db, f.keyFile, RotateOptions{BatchSize: 4, Limit: 4})
		if err != nil || rep.Complete {
			t.Fatalf("first run = %+v, %v", rep, err)
		}
		if ids, _ := fileVersions(t, f.keyFile); len(ids) != 2 {
			t.Fatalf("the old version was retired while keys were under it (file holds %v)", ids)
		}
		// A straggler: a key wrapped under the old version after the rotation began.
		staleSvc := &Service{db: db, kek: staleKEK, now: time.Now, cache: map[string]tink.AEAD{}}
		if _, err := staleSvc.CreatePatientKey(ctx, db, "late"); err != nil {
			t.Fatal(err)
		}
		ct, err := staleSvc.Seal(ctx, "late", patientLoc("late"), []byte("Canary late"))
		if err != nil {
			t.Fatal(err)
		}
		f.patients, f.sealed["late"] = append(f.patients, "late"), ct
		if n, err := countUnder(ctx, db, oldVersion); err != nil || n == 0 {
			t.Fatalf("rows under the old version = %d, %v", n, err)
		}
		var retired *int64
		if err := db.QueryRowContext(ctx, `SELECT retired_at FROM root_key_versions WHERE id = $1`, int64(oldVersion)).Scan(&retired); err != nil || retired != nil {
			t.Fatalf("old version's retired_at = %v, %v; want not yet", retired, err)
		}

		rep, err = Rotate(ctx, db, f.keyFile, RotateOptions{BatchSize: 4})
		if err != nil || !rep.Complete {
			t.Fatalf("second run = %+v, %v", rep, err)
		}
		if len(rep.Retired) != 1 || rep.Retired[0] != oldVersion {
			t.Fatalf("retired %v; want the old version %d", rep.Retired, oldVersion)
		}
		if n, err := countUnder(ctx, db, oldVersion); err != nil || n != 0 {
			t.Fatalf("rows under the retired version = %d, %v", n, err)
		}
		if err := db.QueryRowContext(ctx, `SELECT retired_at FROM root_key_versions WHERE id = $1`, int64(oldVersion)).Scan(&retired); err != nil || retired == nil {
			t.Fatalf("old version's retired_at = %v, %v; want set", retired, err)
		}
		f.checkOpens(t, db) // the straggler too, under the new version only

		age, err := f.svc.RootKeyAge(ctx)
		if err != nil || time.Since(age) > time.Minute {
			t.Fatalf("RootKeyAge = %v, %v; want the new version's creation", age, err)
		}
	})
}

func TestRotationCoversSystemKeys(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newRotationFixture(t, db, 2)
		// Something else a later feature stores in system_keys, sealed by the root key.
		kek, err := localfile.Client{}.GetAEAD(localfile.URI(f.keyFile))
		if err != nil {
			t.Fatal(err)
		}
		other, err := kek.Encrypt([]byte("another secret"), wrapAD("system", "other"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO system_keys (name, wrapped, created_at) VALUES ('other', $1, 1)`, other); err != nil {
			t.Fatal(err)
		}
		rep, err := Rotate(ctx, db, f.keyFile, RotateOptions{})
		if err != nil || !rep.Complete {
			t.Fatalf("rotation = %+v, %v", rep, err)
		}
		rows, err := db.QueryContext(ctx, `SELECT name, wrapped, COALESCE(kek_version, 0) FROM system_keys ORDER BY name`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			var name string
			var wrapped []byte
			var v int64
			if err := rows.Scan(&name, &wrapped, &v); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
			if got, ok := wrappedVersion(wrapped); !ok || got != rep.Version || v != int64(rep.Version) {
				t.Errorf("system key %s: under version %d (recorded %d); want %d", name, got, v, rep.Version)
			}
		}
		want := []string{"audit-checkpoint-signer", "blind-index", "directory", "other", "prescriber/clin1", "search-index"}
		if fmt.Sprint(names) != fmt.Sprint(want) {
			t.Fatalf("system keys = %v; want %v", names, want)
		}
		kek2, err := localfile.Client{}.GetAEAD(localfile.URI(f.keyFile))
		if err != nil {
			t.Fatal(err)
		}
		var wrapped []byte
		if err := db.QueryRowContext(ctx, `SELECT wrapped FROM system_keys WHERE name = 'other'`).Scan(&wrapped); err != nil {
			t.Fatal(err)
		}
		if pt, err := kek2.Decrypt(wrapped, wrapAD("system", "other")); err != nil || string(pt) != "another secret" {
			t.Fatalf("the other secret after rotation = %q, %v", pt, err)
		}
		f.checkOpens(t, db)
	})
}

// FuzzWrappedVersion: whatever a wrapped key row holds, reading its version never panics, and a
// version is only read from a Tink-prefixed ciphertext.
func FuzzWrappedVersion(f *testing.F) {
	f.Add([]byte{0x01, 0, 0, 0, 7, 9, 9})
	f.Add([]byte{0x12, 0x05, 0x01, 0, 0, 0, 7})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, wrapped []byte) {
		if v, ok := wrappedVersion(wrapped); ok && len(wrapped) >= 5 && wrapped[0] == tinkPrefix && v != uint32(wrapped[1])<<24|uint32(wrapped[2])<<16|uint32(wrapped[3])<<8|uint32(wrapped[4]) {
			t.Fatalf("version %d does not match the prefix of %x", v, wrapped)
		}
	})
}
