package password

import (
	"context"
	"errors"
	"runtime"
	"testing"
)

// A sign-in storm must not take every processor: by default at most half of them hash at once.
func TestDefaultConcurrencyLeavesProcessorsFree(t *testing.T) {
	h := NewHasher(Params{MemoryKiB: 1024, Time: 1, Threads: 1}, 0)
	want := max(1, runtime.GOMAXPROCS(0)/2)
	if cap(h.sem) != want || DefaultConcurrency() != want {
		t.Fatalf("hash slots = %d, DefaultConcurrency = %d; want %d", cap(h.sem), DefaultConcurrency(), want)
	}
	if h := NewHasher(Params{MemoryKiB: 1024, Time: 1, Threads: 1}, 3); cap(h.sem) != 3 {
		t.Fatalf("hash slots = %d; want 3", cap(h.sem))
	}
}

// A queued sign-in whose client has gone leaves the queue without hashing.
func TestQueuedVerifyLeavesWhenItsContextEnds(t *testing.T) {
	h := NewHasher(Params{MemoryKiB: 1024, Time: 1, Threads: 1}, 1)
	enc, err := h.Hash(context.Background(), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	h.sem <- struct{}{} // every slot taken
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ok, err := h.Verify(ctx, "correct horse battery", enc); ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify while every slot is taken, context ended = %v, %v; want false, context.Canceled", ok, err)
	}
	if _, err := h.Hash(ctx, "another password"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash while every slot is taken, context ended: %v; want context.Canceled", err)
	}
	<-h.sem
	if ok, err := h.Verify(context.Background(), "correct horse battery", enc); !ok || err != nil {
		t.Fatalf("Verify after the slot is freed = %v, %v; want true, nil", ok, err)
	}
}
