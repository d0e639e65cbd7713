package identity

import "time"

// Limiter is the sign-in throttle offered to other services (the public prescription check):
// attempts per key in fixed windows, in memory, refused with the same words and Retry-After.
type Limiter struct{ t *throttle }

// NewLimiter allows limit attempts per key in each window.
func NewLimiter(limit int, window time.Duration) *Limiter {
	return &Limiter{t: newThrottle(limit, window)}
}

// Take records an attempt for key at now: nil while within the limit, else a fault.Throttled
// error saying how long to wait.
func (l *Limiter) Take(key string, now time.Time) error {
	if wait := l.t.take(key, now); wait > 0 {
		return throttled(wait)
	}
	return nil
}
