package httpx_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/identity"
)

// TestThrottledAnswersRetryAfter: a throttled domain error, however wrapped, is a 429 with the
// domain's message and Retry-After in whole seconds (rounded up), set on the response by Adapt.
func TestThrottledAnswersRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		wantRetry string
	}{
		{"seconds", &fault.Error{Kind: fault.Throttled, RetryAfter: 8 * time.Second, Message: "Too many attempts. Wait 8 seconds and try again.", Err: identity.ErrThrottled}, "8"},
		{"wrapped, part of a second", fmt.Errorf("login: %w", &fault.Error{Kind: fault.Throttled, RetryAfter: 1500 * time.Millisecond, Message: "wait", Err: identity.ErrThrottled}), "2"},
		{"no wait known: a per-minute limit", &fault.Error{Kind: fault.Throttled, Message: "wait"}, "60"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := httpx.Adapt(slog.New(slog.NewTextHandler(io.Discard, nil)), httpx.JSONError, func(w http.ResponseWriter, r *http.Request) error {
				return httpx.FromDomain(tc.err)
			})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("POST", "/api/v1/auth/login", nil))
			if w.Code != http.StatusTooManyRequests {
				t.Fatalf("status = %d, want 429", w.Code)
			}
			if got := w.Header().Get("Retry-After"); got != tc.wantRetry {
				t.Fatalf("Retry-After = %q, want %q", got, tc.wantRetry)
			}
			if want := fmt.Sprintf(`"error":%q`, fault.As(tc.err).Message); !strings.Contains(w.Body.String(), want) {
				t.Fatalf("body %s does not carry %s", w.Body, want)
			}
		})
	}
}
