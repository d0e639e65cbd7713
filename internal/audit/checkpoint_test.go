package audit_test

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"haven/internal/audit"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// testOrigin fixes db's checkpoint origin, as the server's first start does.
func testOrigin(t testing.TB, db *store.DB) audit.LogOrigin {
	t.Helper()
	o, err := audit.EnsureLogOrigin(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func testSigner(t testing.TB) (note.Signer, note.Verifier) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "haven-audit")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return s, v
}

type recordingWitness struct {
	mu   sync.Mutex
	got  [][]byte
	code int
}

func (r *recordingWitness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.got = append(r.got, b)
	r.mu.Unlock()
	w.WriteHeader(r.code)
}

func TestCheckpointsArePublishedSignedAndWitnessed(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		signer, verifier := testSigner(t)
		dir := filepath.Join(t.TempDir(), "witness")
		rec := &recordingWitness{code: http.StatusNoContent}
		srv := httptest.NewServer(rec)
		defer srv.Close()
		origin := testOrigin(t, db)
		cps := audit.NewCheckpointer(db, signer, origin, time.Now, audit.DirWitness{Dir: dir}, audit.HTTPWitness{URL: srv.URL})

		if cp, err := cps.Publish(ctx); err != nil || cp.Size != 0 {
			t.Fatalf("empty log: %+v, %v", cp, err)
		}
		fill(t, db, 7)
		cp, err := cps.Publish(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := audit.OpenCheckpoint(cp.Signed, verifier, origin)
		if err != nil || tree.N != 7 || tree.Hash != cp.Root {
			t.Fatalf("checkpoint %q does not open: %+v %v", cp.Signed, tree, err)
		}
		if again, _ := cps.Publish(ctx); again.Size != 7 || len(rec.got) != 1 {
			t.Fatalf("an unchanged log was checkpointed again: %+v, %d pushes", again, len(rec.got))
		}
		file, err := os.ReadFile(filepath.Join(dir, "7.checkpoint"))
		if err != nil || string(file) != string(cp.Signed) {
			t.Fatalf("directory witness: %q, %v", file, err)
		}
		if string(rec.got[0]) != string(cp.Signed) {
			t.Fatalf("HTTP witness got %q", rec.got[0])
		}
		// A forged checkpoint (size changed in the text) does not open.
		forged := strings.Replace(string(cp.Signed), "\n7\n", "\n8\n", 1)
		if _, err := audit.OpenCheckpoint([]byte(forged), verifier, origin); err == nil {
			t.Fatal("a forged checkpoint opened")
		}
		_, other := testSigner(t)
		if _, err := audit.OpenCheckpoint(cp.Signed, other, origin); err == nil {
			t.Fatal("a checkpoint opened with another key")
		}
		rep, err := audit.Verify(ctx, db, verifier)
		if err != nil || !rep.OK() || rep.Checkpoints != 1 || rep.Covered != 7 {
			t.Fatalf("verify = %+v, %v", rep, err)
		}
		// A failing witness is reported, but the checkpoint is kept.
		rec.code = http.StatusInternalServerError
		fill(t, db, 1)
		if _, err := cps.Publish(ctx); err == nil {
			t.Fatal("a failing witness was not reported")
		}
		if latest, _ := audit.Latest(ctx, db); latest.Size != 8 {
			t.Fatalf("latest checkpoint = %d, want 8", latest.Size)
		}
	})
}

// TestConsistentRewriteIsCaughtByCheckpoints: an attacker with database access rewrites the log
// and recomputes every chain link, tree hash and the head. Only the signed checkpoint, taken
// before, reveals it.
func TestConsistentRewriteIsCaughtByCheckpoints(t *testing.T) {
	rewrites := []struct {
		name    string
		entries int
		alter   int // entry to change in the rewritten log, 0 for none
		problem string
	}{
		{"modified", 5, 3, "differ from the signed checkpoint"},
		{"truncated", 3, 0, "truncated"},
	}
	for _, d := range storetest.Dialects() {
		for _, rw := range rewrites {
			t.Run(string(d)+"/"+rw.name, func(t *testing.T) {
				ctx := context.Background()
				db := storetest.Open(t, d)
				signer, verifier := testSigner(t)
				fill(t, db, 5)
				if _, err := audit.NewCheckpointer(db, signer, testOrigin(t, db), time.Now).Publish(ctx); err != nil {
					t.Fatal(err)
				}
				for _, tbl := range []string{"audit_entries", "audit_hashes", "audit_head"} {
					if _, err := db.Exec(`DELETE FROM ` + tbl); err != nil {
						t.Fatal(err)
					}
				}
				l := audit.New(db, time.Now)
				for i := 1; i <= rw.entries; i++ {
					e := audit.Entry{Action: "record.read", Outcome: audit.Allow}
					if i == rw.alter {
						e.Outcome = audit.Deny
					}
					if _, err := l.Append(ctx, e); err != nil {
						t.Fatal(err)
					}
				}
				rep, err := audit.Verify(ctx, db, verifier)
				if err != nil {
					t.Fatal(err)
				}
				if rep.OK() || !strings.Contains(rep.Problem, rw.problem) {
					t.Fatalf("rewrite not caught: %+v", rep)
				}
			})
		}
	}
}

func FuzzOpenCheckpoint(f *testing.F) {
	signer, verifier := testSigner(f)
	origin := audit.LogOrigin{Name: "haven.audit/00112233445566778899aabbccddeeff", LegacyThrough: 7}
	good, _ := note.Sign(&note.Note{Text: "haven.audit/00112233445566778899aabbccddeeff\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"}, signer)
	legacy, _ := note.Sign(&note.Note{Text: "go.sum database tree\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"}, signer)
	f.Add(good)
	f.Add(legacy)
	f.Add([]byte("garbage"))
	f.Add([]byte("\n\n— haven-audit AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tree, err := audit.OpenCheckpoint(b, verifier, origin)
		if err == nil && tree.N < 0 {
			t.Fatalf("negative tree size from %q", b)
		}
	})
}
