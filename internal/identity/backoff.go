package identity

import (
	"sync"
	"time"
)

// Backoff policy for one account (known or not, so that lockouts reveal nothing).
const (
	freeFailures   = 5                // failures let through before the next attempt must wait
	maxBackoff     = 15 * time.Minute // the longest wait between attempts
	disableAfter   = 100              // consecutive failures that disable the password
	backoffEntries = 100_000          // bound on remembered accounts
)

// backoff delays sign-in attempts on an account exponentially after repeated failures: freeFailures
// go through, then each failure makes the next attempt wait, 1 s after the 5th, doubling with
// each further failure to at most 15 minutes. It is keyed by the attempted address's
// blind-index prefix, so unknown and known accounts are delayed alike.
type backoff struct {
	mu    sync.Mutex
	state map[string]*failures
}

type failures struct {
	count int
	until time.Time
}

func newBackoff() *backoff { return &backoff{state: map[string]*failures{}} }

// wait reports how long key must still wait at now (zero if it may try).
func (b *backoff) wait(key string, now time.Time) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if f, ok := b.state[key]; ok && now.Before(f.until) {
		return f.until.Sub(now)
	}
	return 0
}

// fail records a failure for key at now.
func (b *backoff) fail(key string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.state) >= backoffEntries {
		for k, f := range b.state {
			if now.Sub(f.until) > maxBackoff {
				delete(b.state, k)
			}
		}
	}
	f := b.state[key]
	if f == nil {
		f = &failures{}
		b.state[key] = f
	}
	f.count++
	if f.count >= freeFailures {
		d := time.Second << min(f.count-freeFailures, 10)
		f.until = now.Add(min(d, maxBackoff))
	}
}

// succeed forgets key's failures.
func (b *backoff) succeed(key string) {
	b.mu.Lock()
	delete(b.state, key)
	b.mu.Unlock()
}
