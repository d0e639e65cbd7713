// Package httpx holds the HTTP plumbing shared by the JSON API and the browser UI: handlers that
// return errors carrying a safe status and message, the session cookie, request identifiers,
// security headers and body limits.
//
// It knows nothing of PHI. An error's Message is what the client sees; its cause goes to the log
// (which carries identifiers only) and never to the client.
package httpx

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"haven/internal/identity"
	"haven/internal/principal"
)

// Error is an error with a status and a message that are safe to send to the client.
type Error struct {
	Status  int
	Message string
	Err     error // the cause, for the log only
	// Header is sent with the answer: Retry-After on a 429, Allow on a 405.
	Header http.Header
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Message, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// SetHeader copies e.Header onto w's header, for a renderer that answers with e's message.
func (e *Error) SetHeader(w http.ResponseWriter) {
	for k, v := range e.Header {
		w.Header()[k] = v
	}
}

// Errorf returns an Error with status and a safe message.
func Errorf(status int, message string) *Error { return &Error{Status: status, Message: message} }

// Common errors.
var (
	ErrUnauthenticated = Errorf(http.StatusUnauthorized, "sign in to continue")
	ErrForbidden       = Errorf(http.StatusForbidden, "you are not permitted to do this")
	ErrNotFound        = Errorf(http.StatusNotFound, "not found")
	// ErrGuestOnlyVisit refuses a visit guest anything but their visit's page.
	ErrGuestOnlyVisit = Errorf(http.StatusForbidden, "a guest link opens only the visit it was made for; ask the clinician for a new link if you need one")
)

// HandlerFunc is an HTTP handler that returns an error instead of writing one.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// ErrorWriter renders an error for the client: JSON for the API, a page for the UI.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, e *Error)

// Adapt turns h into an http.Handler that renders the error h returns with render, and gives
// it to the request's log line (LogRequests). An error below 400 (the UI's redirects) is an
// answer, not a failure. An error that is the request's own cancellation (its client went
// away) is not answered at all: there is no one to answer.
func Adapt(log *slog.Logger, render ErrorWriter, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		if clientGone(r, err) {
			noteGone(r)
			return
		}
		var he *Error
		if !errors.As(FromDomain(err), &he) {
			he = &Error{Status: http.StatusInternalServerError, Message: "something went wrong; try again later", Err: err}
		}
		noteFailure(log, r, he)
		he.SetHeader(w)
		render(w, r, he)
	})
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// JSONError renders an Error as {"error": message, "requestId": id}.
func JSONError(w http.ResponseWriter, r *http.Request, e *Error) {
	WriteJSON(w, e.Status, map[string]string{"error": e.Message, "requestId": RequestID(r)})
}

// DecodeJSON reads a JSON body into v, refusing unknown fields and anything but white space
// after the value. A body over MaxBodyBytes is a 413 whatever it holds.
func DecodeJSON(r *http.Request, v any) error {
	// SecureHeaders bounds every body already; this keeps the bound where the body is read.
	body := http.MaxBytesReader(nil, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if tooLarge(err) {
			return errBodyTooLarge(err)
		}
		return &Error{Status: http.StatusBadRequest, Message: "the request body is not valid JSON for this operation", Err: err}
	}
	// dec.More is not enough: it is false before a closing bracket and looks no further than
	// one byte, so `{…}}` and anything after it passed. Read to the end.
	switch err := onlySpace(io.MultiReader(dec.Buffered(), body)); {
	case err == nil:
		return nil
	case errors.Is(err, errTrailingData):
		return &Error{Status: http.StatusBadRequest, Message: "the request body has trailing data", Err: err}
	case tooLarge(err):
		return errBodyTooLarge(err)
	default:
		return &Error{Status: http.StatusBadRequest, Message: "the request body could not be read", Err: err}
	}
}

// errTrailingData is the cause logged for a body with more than one JSON value.
var errTrailingData = errors.New("httpx: data after the JSON value")

// onlySpace reads rd to its end and fails at the first byte that is not JSON white space.
func onlySpace(rd io.Reader) error {
	var buf [4096]byte
	for {
		n, err := rd.Read(buf[:])
		for _, b := range buf[:n] {
			switch b {
			case ' ', '\t', '\r', '\n':
			default:
				return errTrailingData
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func errBodyTooLarge(err error) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("the request body is over %d bytes", MaxBodyBytes), Err: err}
}

// LimitBody reads the request body, at most MaxBodyBytes, before h runs, answering 413 beyond
// that. A handler that answers something else when its input does not parse (sign-in counts it
// as a failed attempt) still cannot be fed more than the limit.
func LimitBody(h HandlerFunc) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			if tooLarge(err) {
				return errBodyTooLarge(err)
			}
			return &Error{Status: http.StatusBadRequest, Message: "the request body could not be read", Err: err}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		return h(w, r)
	}
}

// LimitBodyTo is LimitBody with a bound of its own, n bytes, for a route that takes more than
// MaxBodyBytes (a document upload). The bound is the route's alone: every other route keeps
// MaxBodyBytes. Over n, the answer is 413 before the handler runs.
func LimitBodyTo(n int64, h HandlerFunc) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		rd := BodyUpTo(w, r, n)
		body, err := io.ReadAll(rd)
		if err != nil {
			if tooLarge(err) {
				return &Error{Status: http.StatusRequestEntityTooLarge,
					Message: fmt.Sprintf("the file is over %d MiB: send a smaller one", n>>20), Err: err}
			}
			return &Error{Status: http.StatusBadRequest, Message: "the request body could not be read", Err: err}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		return h(w, r)
	}
}

// BodyUpTo returns r's body bounded at n bytes instead of MaxBodyBytes, for a handler that
// reads a larger body itself (a multipart form with a file). Without SecureHeaders in front,
// it is the body as it is.
func BodyUpTo(w http.ResponseWriter, r *http.Request, n int64) io.ReadCloser {
	raw, ok := r.Context().Value(rawBodyKey).(io.ReadCloser)
	if !ok {
		raw = r.Body
	}
	return http.MaxBytesReader(w, raw, n)
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	sessionKey
	requestLogKey
	rawBodyKey
)

// RequestID returns the request's identifier.
func RequestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey).(string)
	return id
}

// WithRequestID gives every request a random identifier, echoed in X-Request-Id.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey, id)))
	})
}

// ClientAddr is the peer's IP address (Haven terminates TLS itself; no proxy headers are trusted).
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Origin describes the request for the audit log.
func Origin(r *http.Request) principal.Origin {
	ua := r.UserAgent()
	if len(ua) > 200 {
		ua = ua[:200]
	}
	return principal.Origin{Addr: ClientAddr(r), RequestID: RequestID(r), UserAgent: ua}
}

// SessionCookie is the session cookie's name. The __Host- prefix makes the browser refuse it
// unless it is Secure, has Path=/ and no Domain: no subdomain can set or read it.
const SessionCookie = "__Host-haven_session"

// SetSession stores the session token in the cookie.
func SetSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: token, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// ClearSession removes the cookie.
func ClearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", Secure: true, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, MaxAge: -1, Expires: time.Unix(0, 0)})
}

// SessionToken returns the token from the request's cookie.
func SessionToken(r *http.Request) string {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// WithSession loads the session named by the cookie, if any, into the request context. An
// expired or unknown session clears the cookie; it does not refuse the request — each route
// decides whether it needs a session.
func WithSession(ids *identity.Service, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := SessionToken(r)
		if token == "" {
			next.ServeHTTP(w, r)
			return
		}
		sess, err := ids.Authenticate(r.Context(), token)
		switch {
		case err == nil:
			r = r.WithContext(context.WithValue(r.Context(), sessionKey, sess))
		case errors.Is(err, identity.ErrNoSession), errors.Is(err, identity.ErrSessionExpired):
			ClearSession(w)
		case clientGone(r, err):
			noteGone(r)
			return
		default:
			e := &Error{Status: http.StatusServiceUnavailable, Message: "the service is unavailable; try again later", Err: fmt.Errorf("session lookup: %w", err)}
			noteFailure(log, r, e)
			JSONError(w, r, e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Session returns the request's session, or nil.
func Session(r *http.Request) *identity.Session {
	s, _ := r.Context().Value(sessionKey).(*identity.Session)
	return s
}

// RequireSession returns the session if it has reached stage, or the error to answer with.
func RequireSession(r *http.Request, stage identity.Stage) (*identity.Session, error) {
	s := Session(r)
	if s == nil {
		return nil, ErrUnauthenticated
	}
	if s.Stage != stage {
		return nil, &Error{Status: http.StatusForbidden, Message: identity.ErrWrongStage.Error()}
	}
	return s, nil
}

// DeviceCookie names the browser for new-device sign-in notices: a random identifier, kept for
// 400 days (the most browsers allow), HttpOnly and Secure, carrying nothing about the person.
const DeviceCookie = "__Host-haven_device"

// WithDevice puts the browser's device identifier in the request context, giving a browser
// that has none a new one.
func WithDevice(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var dev string
		if c, err := r.Cookie(DeviceCookie); err == nil && identity.ValidDeviceID(c.Value) {
			dev = c.Value
		} else {
			dev = identity.NewDeviceID()
			http.SetCookie(w, &http.Cookie{Name: DeviceCookie, Value: dev, Path: "/", Secure: true, HttpOnly: true,
				SameSite: http.SameSiteLaxMode, MaxAge: 400 * 24 * 60 * 60})
		}
		next.ServeHTTP(w, r.WithContext(identity.WithDevice(r.Context(), dev)))
	})
}
