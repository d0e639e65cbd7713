package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"haven/internal/fault"
	"haven/internal/httpx"
)

// TestOneLinePerRequest: every request leaves exactly one line with its method, route pattern,
// status, duration and request id; a redirect is not a failure, a client that went away is 499
// at information level, and the line never holds the URL.
func TestOneLinePerRequest(t *testing.T) {
	const secret = "tok-3f9a" // stands for a token or an identifier in a path or query
	for _, tc := range []struct {
		name      string
		path      string
		h         httpx.HandlerFunc
		gone      bool // the client has gone by the time the handler returns
		status    int
		level     string
		wantError string // in the line's error; "" for none
	}{
		{"an answer", "/things/" + secret, func(w http.ResponseWriter, r *http.Request) error {
			return httpx.WriteJSON(w, http.StatusOK, "ok")
		}, false, 200, "INFO", ""},
		{"a body without a status is 200", "/things/" + secret, func(w http.ResponseWriter, r *http.Request) error {
			_, err := w.Write([]byte("ok"))
			return err
		}, false, 200, "INFO", ""},
		{"a redirect is no failure", "/things/" + secret + "?next=/" + secret, func(w http.ResponseWriter, r *http.Request) error {
			return &httpx.Error{Status: http.StatusSeeOther, Message: "see other", Err: errors.New("redirect")}
		}, false, 303, "INFO", ""},
		{"a refusal", "/things/" + secret, func(w http.ResponseWriter, r *http.Request) error {
			return fault.New(fault.Forbidden, "you are not permitted to do this")
		}, false, 403, "INFO", "403 you are not permitted to do this"},
		{"a fault", "/things/" + secret, func(w http.ResponseWriter, r *http.Request) error {
			return fmt.Errorf("clinical: open record: %w", errors.New("disk on fire"))
		}, false, 500, "ERROR", "disk on fire"},
		{"the client went away", "/things/" + secret, func(w http.ResponseWriter, r *http.Request) error {
			<-r.Context().Done()
			return fmt.Errorf("clinical: search: %w", r.Context().Err())
		}, true, 499, "INFO", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := slog.New(slog.NewJSONHandler(&buf, nil))
			mux := http.NewServeMux()
			mux.Handle("GET /things/{id}", httpx.Adapt(log, httpx.JSONError, tc.h))
			h := httpx.WithRequestID(httpx.LogRequests(log, httpx.NoteRoute(mux)))

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.gone {
				cancel()
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", tc.path, nil).WithContext(ctx))
			if tc.gone && w.Body.Len() != 0 {
				t.Errorf("answered a client that went away: %s", w.Body)
			}

			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1:\n%s", len(lines), buf.String())
			}
			if strings.Contains(lines[0], secret) || strings.Contains(lines[0], "request failed") {
				t.Fatalf("the line holds the URL or says the request failed: %s", lines[0])
			}
			var got struct {
				Level, Msg, Method, Route, Error string
				RequestID                        string  `json:"request_id"`
				Status                           int     `json:"status"`
				Duration                         float64 `json:"duration_ms"`
			}
			if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
				t.Fatal(err)
			}
			if got.Msg != "request" || got.Method != "GET" || got.Route != "GET /things/{id}" || got.Status != tc.status ||
				got.Level != tc.level || got.RequestID == "" || got.RequestID != w.Header().Get("X-Request-Id") || got.Duration < 0 {
				t.Fatalf("line = %s, want status %d at %s", lines[0], tc.status, tc.level)
			}
			if (tc.wantError == "") != (got.Error == "") || !strings.Contains(got.Error, tc.wantError) {
				t.Fatalf("error in the line = %q, want %q", got.Error, tc.wantError)
			}
		})
	}
}

// TestRefusedBeforeRouting: a request answered before the router (a cross-site refusal) still
// has its line, with no route.
func TestRefusedBeforeRouting(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	deny := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.JSONError(w, r, httpx.Errorf(http.StatusForbidden, "cross-origin request refused"))
	})
	httpx.WithRequestID(httpx.LogRequests(log, deny)).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/login", nil))
	if line := buf.String(); strings.Count(line, "\n") != 1 || !strings.Contains(line, `"route":"-"`) || !strings.Contains(line, `"status":403`) {
		t.Fatalf("line = %s", line)
	}
}
