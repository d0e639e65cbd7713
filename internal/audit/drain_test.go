package audit

import (
	"context"
	"sync"
	"testing"
	"time"

	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestCallerCommitsOnlyUntilItsOwnEntry: a caller that commits stops once its own entry is
// durable, although more are queued behind it, and the log's own goroutine commits the rest,
// in order. Before, the caller committed until the queue was empty, which under steady load
// kept its read waiting for seconds.
func TestCallerCommitsOnlyUntilItsOwnEntry(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		l := New(db, time.Now)
		// Three batches' worth of waiting callers' entries, the committing caller's in the
		// middle of the first.
		var ps []*pending
		for range 3 * maxBatch {
			ps = append(ps, &pending{e: Entry{ActorID: "a", Action: "record.read"}, done: make(chan struct{})})
		}
		own := ps[maxBatch/2]
		l.queue = append(l.queue, ps...)
		l.committing = true
		l.drain(context.Background(), own)
		if !isDone(own) || own.err != nil {
			t.Fatalf("the caller returned before its own entry was durable (%v)", own.err)
		}
		for _, p := range ps {
			<-p.done // committed by the log's goroutine
		}
		for i, p := range ps {
			if p.err != nil || p.seq != int64(i+1) {
				t.Fatalf("entry %d: index %d, %v", i, p.seq, p.err)
			}
		}
		// The log's goroutine stops once the queue is empty, and the next append commits.
		if seq, err := l.Append(context.Background(), Entry{ActorID: "a", Action: "record.read"}); err != nil || seq != int64(len(ps)+1) {
			t.Fatalf("Append = %d, %v", seq, err)
		}
	})
}

// TestAppendReturnsUnderSteadyLoad: appends keep returning while other callers keep the queue
// from ever emptying.
func TestAppendReturnsUnderSteadyLoad(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		l := New(db, time.Now)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				for ctx.Err() == nil {
					if _, err := l.Append(context.Background(), Entry{ActorID: "load", Action: "record.read"}); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		for range 50 {
			if _, err := l.Append(context.Background(), Entry{ActorID: "me", Action: "record.read"}); err != nil {
				t.Fatal(err)
			}
		}
		stop()
		wg.Wait()
		rep, err := Verify(context.Background(), db, nil)
		if err != nil || !rep.OK() {
			t.Fatalf("Verify = %+v, %v", rep, err)
		}
	})
}
