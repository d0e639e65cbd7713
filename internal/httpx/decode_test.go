package httpx_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"haven/internal/httpx"
	"haven/internal/identity"
)

// TestDecodeJSON: one JSON value and white space, nothing else, at most MaxBodyBytes.
func TestDecodeJSON(t *testing.T) {
	type body struct {
		Code string `json:"code"`
	}
	value := `{"code":"123456"}`
	for _, tc := range []struct {
		name string
		body io.Reader
		want int // 0: accepted
	}{
		{"one value", strings.NewReader(value), 0},
		{"white space after", strings.NewReader(value + " \r\n\t \n"), 0},
		{"white space up to the limit", strings.NewReader(value + strings.Repeat(" ", httpx.MaxBodyBytes-len(value))), 0},
		{"not JSON", strings.NewReader(`{"code":`), http.StatusBadRequest},
		{"unknown field", strings.NewReader(`{"code":"1","admin":true}`), http.StatusBadRequest},
		{"second value", strings.NewReader(value + value), http.StatusBadRequest},
		// dec.More() is false before a closing bracket: what follows was never looked at.
		{"closing bracket then garbage", strings.NewReader(value + `}` + strings.Repeat("x", 1000)), http.StatusBadRequest},
		{"garbage after white space", strings.NewReader(value + strings.Repeat(" ", 10_000) + "x"), http.StatusBadRequest},
		{"value over the limit", strings.NewReader(`{"code":"` + strings.Repeat("1", httpx.MaxBodyBytes) + `"}`), http.StatusRequestEntityTooLarge},
		{"white space past the limit", strings.NewReader(value + strings.Repeat(" ", httpx.MaxBodyBytes)), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", tc.body)
			var v body
			err := httpx.DecodeJSON(r, &v)
			if tc.want == 0 {
				if err != nil || v.Code == "" {
					t.Fatalf("DecodeJSON = %v, %+v; want the value", err, v)
				}
				return
			}
			var he *httpx.Error
			if !errors.As(err, &he) || he.Status != tc.want {
				t.Fatalf("DecodeJSON = %v, want status %d", err, tc.want)
			}
		})
	}
}

// TestLimitBody: the handler sees the whole body up to MaxBodyBytes and never runs beyond it.
func TestLimitBody(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		want int
	}{
		{"at the limit", httpx.MaxBodyBytes, http.StatusOK},
		{"one byte over", httpx.MaxBodyBytes + 1, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran := false
			h := httpx.LimitBody(func(w http.ResponseWriter, r *http.Request) error {
				ran = true
				b, err := io.ReadAll(r.Body)
				if err != nil || len(b) != tc.size {
					t.Errorf("handler read %d bytes, %v; want %d", len(b), err, tc.size)
				}
				return nil
			})
			w := httptest.NewRecorder()
			r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat(" ", tc.size)))
			status := http.StatusOK
			if err := h(w, r); err != nil {
				var he *httpx.Error
				if !errors.As(err, &he) {
					t.Fatalf("LimitBody = %v, not an *httpx.Error", err)
				}
				status = he.Status
			}
			if status != tc.want || ran != (tc.want == http.StatusOK) {
				t.Fatalf("status %d, handler ran %v; want %d", status, ran, tc.want)
			}
		})
	}
}

// TestAdaptSendsErrorHeaders: the headers an Error carries (Retry-After, Allow) reach the client.
func TestAdaptSendsErrorHeaders(t *testing.T) {
	h := httpx.Adapt(slog.New(slog.DiscardHandler), httpx.JSONError, func(w http.ResponseWriter, r *http.Request) error {
		return &httpx.Error{Status: http.StatusMethodNotAllowed, Message: "no", Header: http.Header{"Allow": {"GET, HEAD"}}}
	})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("DELETE", "/", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Fatalf("= %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

// TestThrottledSaysWhenToRetry: a 429 tells the client how long to wait (RFC 9110 Retry-After).
func TestThrottledSaysWhenToRetry(t *testing.T) {
	var he *httpx.Error
	if err := httpx.FromDomain(identity.ErrThrottled); !errors.As(err, &he) || he.Status != http.StatusTooManyRequests || he.Header.Get("Retry-After") != "60" {
		t.Fatalf("FromDomain(ErrThrottled) = %#v, want 429 with Retry-After: 60", err)
	}
}
