package identity

import (
	"errors"
	"testing"
	"time"

	"haven/internal/fault"
)

// TestThrottledSaysHowLongToWait: a refusal for too many attempts is ErrThrottled, of kind
// Throttled, with a wait in whole seconds rounded up, and words that never promise less.
func TestThrottledSaysHowLongToWait(t *testing.T) {
	for _, tc := range []struct {
		wait      time.Duration
		retry     time.Duration
		wantWords string
	}{
		{time.Nanosecond, time.Second, "1 second"},
		{time.Second, time.Second, "1 second"},
		{1500 * time.Millisecond, 2 * time.Second, "2 seconds"},
		{8 * time.Second, 8 * time.Second, "8 seconds"},
		{59*time.Second + time.Millisecond, time.Minute, "1 minute"},
		{time.Minute, time.Minute, "1 minute"},
		{64 * time.Second, 64 * time.Second, "2 minutes"},
		{15 * time.Minute, 15 * time.Minute, "15 minutes"},
	} {
		err := throttled(tc.wait)
		if !errors.Is(err, ErrThrottled) {
			t.Errorf("throttled(%v) = %v, not ErrThrottled", tc.wait, err)
		}
		fe := fault.As(err)
		if fe == nil || fe.Kind != fault.Throttled || fe.RetryAfter != tc.retry {
			t.Fatalf("throttled(%v) = %#v, want kind throttled, RetryAfter %v", tc.wait, fe, tc.retry)
		}
		if want := "Too many attempts. Wait " + tc.wantWords + " and try again."; fe.Message != want {
			t.Errorf("throttled(%v) says %q, want %q", tc.wait, fe.Message, want)
		}
	}
}

// TestBackoffAfterFiveFailures: five failures go through; after the fifth each attempt waits,
// 1 s doubling with every further failure, to at most 15 minutes; a success forgets them.
func TestBackoffAfterFiveFailures(t *testing.T) {
	b := newBackoff()
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for i := range 4 {
		b.fail("k", now)
		if w := b.wait("k", now); w != 0 {
			t.Fatalf("after %d failures wait = %v, want none", i+1, w)
		}
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		b.fail("k", now)
		if w := b.wait("k", now); w != want {
			t.Fatalf("after %d failures wait = %v, want %v", 5+i, w, want)
		}
	}
	for range 20 {
		b.fail("k", now)
	}
	if w := b.wait("k", now); w != maxBackoff {
		t.Fatalf("after many failures wait = %v, want %v", w, maxBackoff)
	}
	if w := b.wait("k", now.Add(maxBackoff)); w != 0 {
		t.Fatalf("once the wait has passed: %v", w)
	}
	b.succeed("k")
	b.fail("k", now)
	if w := b.wait("k", now); w != 0 {
		t.Fatalf("after a success and one failure wait = %v, want none", w)
	}
}

// TestThrottleWaitsUntilTheWindowEnds: over the limit, an attempt is told the rest of its
// window, and may try again exactly when that has passed.
func TestThrottleWaitsUntilTheWindowEnds(t *testing.T) {
	th := newThrottle(2, time.Minute)
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for range 2 {
		if w := th.take("k", now); w != 0 {
			t.Fatalf("within the limit: wait %v", w)
		}
	}
	if w := th.take("k", now.Add(20*time.Second)); w != 40*time.Second {
		t.Fatalf("over the limit 20 s into the window: wait %v, want 40s", w)
	}
	if w := th.take("k", now.Add(time.Minute)); w != 0 {
		t.Fatalf("when the window has ended: wait %v, want none", w)
	}
}
