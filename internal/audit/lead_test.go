package audit

import (
	"context"
	"testing"
	"time"

	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestLeaderHandsOver: a group-commit leader commits until its own entry is durable and then
// passes the turn, even though more entries are queued behind it. Before, it committed until
// the queue was empty, which under steady load kept its own caller waiting for seconds.
func TestLeaderHandsOver(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		l := New(db, time.Now)
		ctx := context.Background()
		// Three batches' worth of waiting callers' entries, the leader's own first.
		var ps []*pending
		for i := range 3 * maxBatch {
			ps = append(ps, &pending{e: Entry{ActorID: "a", Action: "record.read", RequestID: string(rune('a' + i%26))}, done: make(chan struct{})})
		}
		l.queue = append(l.queue, ps...)
		l.committing = true
		isDone := func(p *pending) bool {
			select {
			case <-p.done:
				return true
			default:
				return false
			}
		}
		tookTurn := func() bool {
			select {
			case <-l.turn:
				return true
			default:
				return false
			}
		}
		for b := range 3 {
			own := ps[b*maxBatch+maxBatch/2] // a caller in the middle of batch b
			l.lead(ctx, own)
			if !isDone(own) || own.err != nil {
				t.Fatalf("batch %d: the leader returned before its own entry was durable (%v)", b, own.err)
			}
			if next := (b + 1) * maxBatch; next < len(ps) && isDone(ps[next]) {
				t.Fatalf("batch %d: the leader went on to commit the next batch", b)
			}
			if left := len(l.queue); left != (2-b)*maxBatch {
				t.Fatalf("batch %d: %d entries left queued, want %d", b, left, (2-b)*maxBatch)
			}
			if got, want := tookTurn(), b < 2; got != want {
				t.Fatalf("batch %d: turn passed = %v, want %v", b, got, want)
			}
		}
		if l.committing {
			t.Fatal("the last leader left the log marked as committing")
		}
		for i, p := range ps {
			if p.seq != int64(i+1) {
				t.Fatalf("entry %d has index %d", i, p.seq)
			}
		}
		// The next append leads again, alone.
		if seq, err := l.Append(ctx, Entry{ActorID: "a", Action: "record.read"}); err != nil || seq != int64(len(ps)+1) {
			t.Fatalf("Append = %d, %v", seq, err)
		}
	})
}
