package fhir

import (
	"encoding/json"
	"errors"
	"net/http"

	"haven/internal/fault"
	"haven/internal/httpx"
)

// OperationOutcome is how every FHIR error is answered.
type OperationOutcome struct {
	Head
	Issue []Issue `json:"issue"`
}

// Issue is one problem an OperationOutcome reports.
type Issue struct {
	Severity    string   `json:"severity"` // fatal | error | warning | information
	Code        string   `json:"code"`     // the IssueType code
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// Errors the layer raises itself. Messages say what to do next; none carries PHI.
var (
	errNoCredentials = &httpx.Error{Status: http.StatusUnauthorized, Message: "sign in, or send a bearer token from " + TokenPath,
		Header: http.Header{"WWW-Authenticate": {`Bearer realm="haven-fhir"`}}}
	errBadToken = &httpx.Error{Status: http.StatusUnauthorized, Message: "the bearer token is not valid or has expired; request a new one from " + TokenPath,
		Header: http.Header{"WWW-Authenticate": {`Bearer realm="haven-fhir", error="invalid_token"`}}}
)

func errNotSupported(msg string) error {
	return &httpx.Error{Status: http.StatusMethodNotAllowed, Message: msg}
}

func errUnknownType(name string) error {
	return &httpx.Error{Status: http.StatusNotFound, Message: "this server does not serve that resource type; " + Base + "/metadata lists the types it serves"}
}

// ErrInvalid is a 400 with a message saying what to fix.
func ErrInvalid(msg string) error { return &httpx.Error{Status: http.StatusBadRequest, Message: msg} }

// bearerError is the answer to a bearer token the smart service refused: 401 for a token
// that is unknown, expired or revoked, 403 for a client whose agreement has lapsed or which
// was disabled (it is known, and refused).
func bearerError(err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Kind == fault.Forbidden {
		return &httpx.Error{Status: http.StatusForbidden, Message: fe.Message, Err: err,
			Header: http.Header{"WWW-Authenticate": {`Bearer realm="haven-fhir", error="insufficient_scope"`}}}
	}
	if errors.As(err, &fe) && fe.Kind == fault.Unavailable {
		return err
	}
	return &httpx.Error{Status: errBadToken.Status, Message: errBadToken.Message, Header: errBadToken.Header, Err: err}
}

// issueCode is the FHIR IssueType for an HTTP status.
func issueCode(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return "invalid"
	case http.StatusUnauthorized:
		return "login"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound, http.StatusGone:
		return "not-found"
	case http.StatusMethodNotAllowed, http.StatusNotAcceptable, http.StatusUnsupportedMediaType:
		return "not-supported"
	case http.StatusConflict, http.StatusPreconditionFailed:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "too-costly"
	case http.StatusTooManyRequests:
		return "throttled"
	}
	if status >= 500 {
		return "exception"
	}
	return "processing"
}

// Outcome is an OperationOutcome of one issue.
func Outcome(severity, code, diagnostics string) *OperationOutcome {
	return &OperationOutcome{Head: Head{ResourceType: "OperationOutcome"}, Issue: []Issue{{Severity: severity, Code: code, Diagnostics: diagnostics}}}
}

// writeError renders an error as an OperationOutcome (httpx.ErrorWriter).
func writeError(w http.ResponseWriter, r *http.Request, e *httpx.Error) {
	oo := Outcome("error", issueCode(e.Status), e.Message)
	if e.Status >= 500 {
		oo.Issue[0].Severity = "fatal"
	}
	writeJSON(w, e.Status, oo)
}

// writeJSON writes v as FHIR JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", MediaType+"; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}
