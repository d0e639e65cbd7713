package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// The server's log has one line per request, written when the answer is done: method, route
// pattern, status, duration and request id, and for a failure its cause. The route is the
// pattern the router chose ("GET /clinician/patients/{id}"), never the URL: a path or a query
// can carry a token or an identifier, and the log must stay free of them without relying on
// every URL being clean.
//
// A redirect is an answer like any other, not a failure. A client that went away before the
// answer is 499 (nginx's "client closed request"), logged as information, not as an error.

// StatusClientClosedRequest is the status logged for a request whose client went away first.
const StatusClientClosedRequest = 499

// requestLog is what the pipeline learns about a request for its log line.
type requestLog struct {
	route string
	err   *Error // a failure's safe status and message, with its cause
	gone  bool   // the client went away; nothing was answered
}

func requestLogOf(r *http.Request) *requestLog {
	rl, _ := r.Context().Value(requestLogKey).(*requestLog)
	return rl
}

// LogRequests writes each request's line to log once next has answered it. It goes inside
// WithRequestID and outside everything else, so that a request refused before routing (a
// cross-site request) has its line too.
func LogRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rl := &requestLog{}
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), requestLogKey, rl))
		next.ServeHTTP(sw, r)

		status := sw.code
		if rl.gone || (status == 0 && errors.Is(r.Context().Err(), context.Canceled)) {
			status = StatusClientClosedRequest
		} else if status == 0 {
			status = http.StatusOK
		}
		route := rl.route
		if route == "" {
			route = "-" // refused before routing
		}
		attrs := []slog.Attr{
			slog.String("request_id", RequestID(r)), slog.String("method", r.Method), slog.String("route", route),
			slog.Int("status", status), slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if rl.err != nil && status >= 400 && status != StatusClientClosedRequest {
			// The cause may be wrapped domain errors; Haven's errors carry identifiers, never PHI.
			attrs = append(attrs, slog.String("error", rl.err.Error()))
		}
		log.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// NoteRoute records, for the request's log line, the pattern the router chose. It wraps the
// router, which sets the pattern on the request it is handed.
func NoteRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if rl := requestLogOf(r); rl != nil {
			rl.route = r.Pattern
		}
	})
}

// noteFailure gives the request's log line the failure it answered with. Without LogRequests
// around the handler (a test of one handler) the failure has a line of its own.
func noteFailure(log *slog.Logger, r *http.Request, e *Error) {
	if rl := requestLogOf(r); rl != nil {
		rl.err = e
		return
	}
	if e.Status < 400 {
		return
	}
	level := slog.LevelInfo
	if e.Status >= 500 {
		level = slog.LevelError
	}
	log.LogAttrs(r.Context(), level, "request failed", slog.String("request_id", RequestID(r)),
		slog.String("method", r.Method), slog.String("route", r.Pattern), slog.Int("status", e.Status),
		slog.String("error", e.Error()))
}

// clientGone reports whether err is the request's own cancellation: its client went away, so
// there is no one to answer.
func clientGone(r *http.Request, err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(r.Context().Err(), context.Canceled)
}

// noteGone marks the request as abandoned by its client.
func noteGone(r *http.Request) {
	if rl := requestLogOf(r); rl != nil {
		rl.gone = true
	}
}

// statusWriter remembers the status of the answer.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines, hijack).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
