package identity

import (
	"fmt"
	"sync"
	"time"

	"haven/internal/fault"
)

// throttle counts attempts per key in fixed windows. It lives in memory: a restart forgets it,
// which costs an attacker a restart of our server, not a bypass.
type throttle struct {
	limit  int
	window time.Duration
	mu     sync.Mutex
	seen   map[string]*bucket
}

type bucket struct {
	start time.Time
	count int
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, seen: map[string]*bucket{}}
}

// take records an attempt for key at now and returns how long key must wait before its next
// attempt is allowed: zero while it is within the limit, else until its window ends.
func (t *throttle) take(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.seen) > 100_000 {
		for k, b := range t.seen {
			if now.Sub(b.start) >= t.window {
				delete(t.seen, k)
			}
		}
	}
	b, ok := t.seen[key]
	if !ok || now.Sub(b.start) >= t.window {
		b = &bucket{start: now}
		t.seen[key] = b
	}
	b.count++
	if b.count <= t.limit {
		return 0
	}
	return b.start.Add(t.window).Sub(now)
}

// throttled refuses an attempt that must wait: ErrThrottled, as a fault.Throttled whose
// RetryAfter is the wait rounded up to whole seconds (what Retry-After can say) and whose
// message says the same wait in words.
func throttled(wait time.Duration) error {
	wait = max(time.Second, (wait + time.Second - 1).Truncate(time.Second))
	return &fault.Error{
		Kind:       fault.Throttled,
		Message:    "Too many attempts. Wait " + waitWords(wait) + " and try again.",
		RetryAfter: wait,
		Err:        ErrThrottled,
	}
}

// waitWords says a wait of whole seconds the way people do: in seconds under a minute, else in
// minutes, rounded up so that the words never promise less than the wait.
func waitWords(d time.Duration) string {
	if d < time.Minute {
		return plural(int(d/time.Second), "second")
	}
	return plural(int((d+time.Minute-1)/time.Minute), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
