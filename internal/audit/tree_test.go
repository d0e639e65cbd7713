package audit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"haven/internal/audit"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

func TestProofs(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l := fill(t, db, 13)
		head, err := audit.Head(ctx, db)
		if err != nil || head.N != 13 {
			t.Fatalf("head = %+v, %v", head, err)
		}
		entries := readEntries(t, db)
		for seq := int64(1); seq <= 13; seq++ {
			p, err := audit.ProveEntry(ctx, db, seq, head.N)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.CheckRecord(p, head.N, head.Hash, seq-1, audit.LeafHash(entries[seq-1])); err != nil {
				t.Fatalf("inclusion proof for %d does not verify: %v", seq, err)
			}
			// A forged proof (one hash flipped) is refused.
			if len(p) > 0 {
				p[0][0] ^= 1
				if tlog.CheckRecord(p, head.N, head.Hash, seq-1, audit.LeafHash(entries[seq-1])) == nil {
					t.Fatalf("forged inclusion proof for %d accepted", seq)
				}
			}
			// The proof does not fit another entry.
			other := entries[(seq)%13]
			p2, _ := audit.ProveEntry(ctx, db, seq, head.N)
			if tlog.CheckRecord(p2, head.N, head.Hash, seq-1, audit.LeafHash(other)) == nil {
				t.Fatalf("proof for %d accepted another entry", seq)
			}
		}
		// Consistency: the tree at 5 is a prefix of the tree at 13.
		old, err := tlog.TreeHash(5, hashesFrom(t, db))
		if err != nil {
			t.Fatal(err)
		}
		for range 7 {
			if _, err := l.Append(ctx, audit.Entry{Action: "record.read", Outcome: audit.Allow}); err != nil {
				t.Fatal(err)
			}
		}
		grown, _ := audit.Head(ctx, db)
		tp, err := audit.ProveGrowth(ctx, db, 5, grown.N)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(tp, grown.N, grown.Hash, 5, old); err != nil {
			t.Fatalf("consistency proof does not verify: %v", err)
		}
		var forgedOld tlog.Hash
		if tlog.CheckTree(tp, grown.N, grown.Hash, 5, forgedOld) == nil {
			t.Fatal("consistency proof accepted a different old root")
		}
	})
}

func TestGroupCommitKeepsTreeAndChain(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		l := audit.New(db, time.Now)
		var wg sync.WaitGroup
		seen := make(chan int64, 200)
		for range 20 {
			wg.Go(func() {
				for range 10 {
					seq, err := l.Append(context.Background(), audit.Entry{Action: "record.read", Outcome: audit.Allow})
					if err != nil {
						t.Error(err)
						return
					}
					seen <- seq
				}
			})
		}
		wg.Wait()
		close(seen)
		got := map[int64]bool{}
		for s := range seen {
			if got[s] {
				t.Fatalf("index %d returned twice", s)
			}
			got[s] = true
		}
		if len(got) != 200 {
			t.Fatalf("%d distinct indexes, want 200", len(got))
		}
		rep, err := audit.Verify(context.Background(), db, nil)
		if err != nil || !rep.OK() || rep.Entries != 200 {
			t.Fatalf("verify = %+v, %v", rep, err)
		}
	})
}

func TestTamperedTreeIsDetected(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		fill(t, db, 6)
		if _, err := db.Exec(`UPDATE audit_hashes SET hash = $1 WHERE idx = 2`, make([]byte, 32)); err != nil {
			t.Fatal(err)
		}
		rep, err := audit.Verify(context.Background(), db, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK() {
			t.Fatal("a modified tree hash went unnoticed")
		}
	})
}

// readEntries loads every entry in index order.
func readEntries(t *testing.T, db *store.DB) []audit.Entry {
	t.Helper()
	rows, err := db.Query(`SELECT seq, recorded_at, actor_id, actor_role, action, resource_type, resource_id,
		patient_id, outcome, reason, source_addr, request_id FROM audit_entries ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		var e audit.Entry
		var ns int64
		if err := rows.Scan(&e.Seq, &ns, &e.ActorID, &e.ActorRole, &e.Action, &e.ResourceType, &e.ResourceID,
			&e.PatientID, &e.Outcome, &e.Reason, &e.SourceAddr, &e.RequestID); err != nil {
			t.Fatal(err)
		}
		e.Time = time.Unix(0, ns).UTC()
		out = append(out, e)
	}
	return out
}

func hashesFrom(t *testing.T, db *store.DB) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			var b []byte
			if err := db.QueryRow(`SELECT hash FROM audit_hashes WHERE idx = $1`, x).Scan(&b); err != nil {
				return nil, err
			}
			copy(out[i][:], b)
		}
		return out, nil
	})
}
