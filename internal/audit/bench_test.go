package audit_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"haven/internal/audit"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// BenchmarkAppend measures durable audit appends from 1, 64 and 256 concurrent callers (group commit)
// against the disk's sync rate measured in the same run: "fsync" appends 512 bytes to a file and
// fsyncs, once per op. docs/benchmarks.md reports fsync ns/op ÷ append ns/op.
func BenchmarkAppend(b *testing.B) {
	b.Run("fsync", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 512)
		for b.Loop() {
			if _, err := f.Write(buf); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, d := range storetest.Dialects() {
		b.Run(string(d)+"/serial", func(b *testing.B) { benchAppend(b, d, 1) })
		b.Run(string(d)+"/parallel-64", func(b *testing.B) { benchAppend(b, d, 64) })
		b.Run(string(d)+"/parallel-256", func(b *testing.B) { benchAppend(b, d, 256) })
	}
}

func benchAppend(b *testing.B, d store.Dialect, callers int) {
	db := storetest.Open(b, d)
	l := audit.New(db, time.Now)
	e := audit.Entry{ActorID: "acct-123", ActorRole: "clinician", Action: "record.read", ResourceType: "Patient",
		ResourceID: "pat-456", PatientID: "pat-456", Outcome: audit.Allow, Reason: "care-team", SourceAddr: "127.0.0.1", RequestID: "req"}
	b.SetParallelism(max(1, callers/2)) // GOMAXPROCS is 2 here
	b.ResetTimer()
	if callers == 1 {
		for b.Loop() {
			if _, err := l.Append(context.Background(), e); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyMillion measures `audit.Verify` over one million entries on SQLite: chain,
// head, Merkle tree recomputation and comparison with the stored tree. Building the log takes
// a while; run it alone: go test -run '^$' -bench BenchmarkVerifyMillion -benchtime 1x ./internal/audit/
func BenchmarkVerifyMillion(b *testing.B) {
	const n = 1_000_000
	db := storetest.Open(b, store.SQLite)
	l := audit.New(db, time.Now)
	e := audit.Entry{ActorID: "acct-123", ActorRole: "clinician", Action: "record.read", ResourceType: "Patient",
		ResourceID: "pat-456", PatientID: "pat-456", Outcome: audit.Allow, Reason: "care-team", SourceAddr: "127.0.0.1", RequestID: "req"}
	work := make(chan struct{}, n)
	for range n {
		work <- struct{}{}
	}
	close(work)
	done := make(chan error)
	for range 512 {
		go func() {
			for range work {
				if _, err := l.Append(context.Background(), e); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 512 {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		rep, err := audit.Verify(context.Background(), db, nil)
		if err != nil || !rep.OK() || rep.Entries != n {
			b.Fatalf("verify: %+v, %v", rep, err)
		}
	}
}
