package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"haven/internal/audit"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

func fill(t *testing.T, db *store.DB, n int) *audit.Log {
	t.Helper()
	l := audit.New(db, time.Now)
	for i := range n {
		_, err := l.Append(context.Background(), audit.Entry{
			ActorID: "acct-" + fmt.Sprint(i%3), ActorRole: "clinician", Action: "patient.read",
			ResourceType: "Patient", ResourceID: fmt.Sprint("pat-", i), PatientID: fmt.Sprint("pat-", i),
			Outcome: audit.Allow, Reason: "assigned", SourceAddr: "127.0.0.1", RequestID: fmt.Sprint("req-", i),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func TestTamperIsDetected(t *testing.T) {
	tests := []struct {
		name      string
		tamper    []string // SQL run against a verified log of 5 entries
		wantIndex int64
	}{
		{"untouched", nil, 0},
		{"modify", []string{`UPDATE audit_entries SET outcome = 'deny' WHERE seq = 3`}, 3},
		{"modify actor", []string{`UPDATE audit_entries SET actor_id = 'someone-else' WHERE seq = 2`}, 2},
		{"delete", []string{`DELETE FROM audit_entries WHERE seq = 3`}, 3},
		{"delete last", []string{`DELETE FROM audit_entries WHERE seq = 5`}, 5},
		{"insert", []string{`INSERT INTO audit_entries SELECT seq + 100, recorded_at, actor_id, actor_role, action, resource_type,
			resource_id, patient_id, outcome, reason, source_addr, request_id, prev_hash, hash, purpose FROM audit_entries WHERE seq = 2`}, 6},
		{"reorder", []string{
			`UPDATE audit_entries SET seq = -2 WHERE seq = 2`,
			`UPDATE audit_entries SET seq = 2 WHERE seq = 4`,
			`UPDATE audit_entries SET seq = 4 WHERE seq = -2`,
		}, 2},
	}
	for _, d := range storetest.Dialects() {
		for _, tc := range tests {
			t.Run(string(d)+"/"+tc.name, func(t *testing.T) {
				db := storetest.Open(t, d)
				fill(t, db, 5)
				for _, stmt := range tc.tamper {
					if _, err := db.Exec(stmt); err != nil {
						t.Fatalf("tamper: %v", err)
					}
				}
				rep, err := audit.Verify(context.Background(), db, nil)
				if err != nil {
					t.Fatal(err)
				}
				if rep.FirstBad != tc.wantIndex {
					t.Fatalf("FirstBad = %d (%s), want %d", rep.FirstBad, rep.Problem, tc.wantIndex)
				}
				if (tc.wantIndex == 0) != rep.OK() {
					t.Fatalf("OK = %v with problem %q", rep.OK(), rep.Problem)
				}
			})
		}
	}
}

func TestConcurrentAppendsStayDense(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		l := audit.New(db, time.Now)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 10 {
					if _, err := l.Append(context.Background(), audit.Entry{Action: "auth.login", Outcome: audit.Success}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		rep, err := audit.Verify(context.Background(), db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() || rep.Entries != 80 {
			t.Fatalf("report = %+v, want 80 verified entries", rep)
		}
	})
}

func TestAppendFailsClosed(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		l := fill(t, db, 1)
		if _, err := db.Exec(`DROP TABLE audit_head`); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(context.Background(), audit.Entry{Action: "patient.read"}); err == nil {
			t.Fatal("Append succeeded with an unwritable log")
		}
	})
}

// TestAppendsWithCancelledCallers: callers that give up while waiting for a group commit
// strand nobody. Their entries may or may not be written; every other caller's is, in order,
// and the log verifies, whoever was committing when someone left.
func TestAppendsWithCancelledCallers(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		l := audit.New(db, time.Now)
		var wg sync.WaitGroup
		var mu sync.Mutex
		kept := 0
		for g := range 32 {
			wg.Go(func() {
				for i := range 20 {
					ctx, cancel := context.WithCancel(context.Background())
					if (g+i)%5 == 0 {
						cancel() // gives up at once, possibly while queued
					}
					_, err := l.Append(ctx, audit.Entry{Action: "auth.login", Outcome: audit.Success})
					cancel()
					if err == nil {
						mu.Lock()
						kept++
						mu.Unlock()
					} else if (g+i)%5 != 0 {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		// An append after the storm commits whatever a cancelled caller left queued.
		if _, err := l.Append(context.Background(), audit.Entry{Action: "auth.login", Outcome: audit.Success}); err != nil {
			t.Fatal(err)
		}
		rep, err := audit.Verify(context.Background(), db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() || rep.Entries < int64(kept+1) {
			t.Fatalf("report = %+v, want at least %d verified entries", rep, kept+1)
		}
	})
}

// TestSearchPagesAndMatchesAnyPatient: Before pages back from an index without gaps or
// repeats, and PatientIDs matches any of the patients named (a name can name several).
func TestSearchPagesAndMatchesAnyPatient(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		fill(t, db, 10)
		ctx := context.Background()
		var seen []int64
		for before := int64(0); ; {
			page, err := audit.Search(ctx, db, audit.Filter{Before: before, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, e := range page {
				seen = append(seen, e.Seq)
			}
			before = page[len(page)-1].Seq
		}
		if len(seen) != 10 || seen[0] != 10 || seen[9] != 1 {
			t.Fatalf("paging saw %v, want 10 down to 1", seen)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] != seen[i-1]-1 {
				t.Fatalf("paging skipped or repeated: %v", seen)
			}
		}
		for _, tc := range []struct {
			f    audit.Filter
			want int
		}{
			{audit.Filter{PatientIDs: []string{"pat-1", "pat-4", "pat-nobody"}}, 2},
			{audit.Filter{PatientIDs: []string{"pat-1", "pat-4"}, ActorID: "acct-1"}, 2},
			{audit.Filter{PatientIDs: []string{"pat-1", "pat-4"}, ActorID: "acct-2"}, 0},
			{audit.Filter{PatientIDs: []string{"pat-1"}, PatientID: "pat-4"}, 0},
			{audit.Filter{PatientIDs: []string{"pat-1", "pat-4"}, Before: 5}, 1},
		} {
			es, err := audit.Search(ctx, db, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != tc.want {
				t.Errorf("Search(%+v) = %d entries, want %d", tc.f, len(es), tc.want)
			}
		}
	})
}
