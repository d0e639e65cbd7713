package identity

import (
	"sync"
	"time"
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

// allow records an attempt for key at now and reports whether it is within the limit.
func (t *throttle) allow(key string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.seen) > 100_000 {
		for k, b := range t.seen {
			if now.Sub(b.start) > t.window {
				delete(t.seen, k)
			}
		}
	}
	b, ok := t.seen[key]
	if !ok || now.Sub(b.start) > t.window {
		b = &bucket{start: now}
		t.seen[key] = b
	}
	b.count++
	return b.count <= t.limit
}
