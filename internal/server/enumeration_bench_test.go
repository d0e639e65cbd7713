package server

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"haven/internal/identity"
)

// BenchmarkSignInEnumeration times wrong-password sign-ins for known accounts and for unknown
// ones, at the production argon2id parameters, alternating one of each per iteration so that
// both see the same machine. The ratio of the means and the difference of the medians are what
// an attacker timing the answers would see;
// TestAttackTable/enumeration asserts the answers are identical and that both run the same
// hash, this reports the time.
//
// The per-account backoff lets five failures through; each known account is used at most that
// often, so every attempt measured reaches the hash.
func BenchmarkSignInEnumeration(b *testing.B) {
	idc := identity.DefaultConfig()
	idc.AttemptsPerMinute = 1 << 30
	s, h, _, _ := benchServerWith(b, idc, false)
	known := stormAccounts(b, s, 100)
	attempt := func(n int, email string) time.Duration {
		body := fmt.Sprintf(`{"email":%q,"password":"wrong passphrase %d"}`, email, n)
		req := httptest.NewRequest("POST", "https://localhost/api/v1/auth/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = fmt.Sprintf("10.9.%d.%d:40000", n>>8&255, n&255)
		w := httptest.NewRecorder()
		began := time.Now()
		h.ServeHTTP(w, req)
		took := time.Since(began)
		if w.Code != http.StatusUnauthorized {
			b.Fatalf("attempt %d (%s): %d %s", n, email, w.Code, w.Body)
		}
		return took
	}
	if b.N > len(known)*stormPerKnown {
		b.Fatalf("at most %d iterations", len(known)*stormPerKnown)
	}
	knownTimes, unknownTimes := make([]time.Duration, b.N), make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		// Which goes first alternates, so that neither always pays for the other's garbage.
		if i%2 == 0 {
			knownTimes[i] = attempt(2*i, known[i%len(known)])
			unknownTimes[i] = attempt(2*i+1, fmt.Sprintf("nobody-%d@haven.test", i))
		} else {
			unknownTimes[i] = attempt(2*i+1, fmt.Sprintf("nobody-%d@haven.test", i))
			knownTimes[i] = attempt(2*i, known[i%len(known)])
		}
	}
	b.StopTimer()
	knownTotal, unknownTotal := sum(knownTimes), sum(unknownTimes)
	slices.Sort(knownTimes)
	slices.Sort(unknownTimes)
	b.ReportMetric(ms(knownTotal)/float64(b.N), "known-ms")
	b.ReportMetric(ms(unknownTotal)/float64(b.N), "unknown-ms")
	b.ReportMetric(float64(unknownTotal)/float64(knownTotal), "unknown/known")
	b.ReportMetric(ms(pct(knownTimes, 50)-pct(unknownTimes, 50)), "p50-known-minus-unknown-ms")
}

func sum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}
