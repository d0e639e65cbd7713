// Package fault gives domain errors their meaning, so that transports map an error's kind to an
// answer without importing the domain that raised it.
//
// A domain declares its errors as *Error values (sentinels, compared with errors.Is) or builds
// them on the spot (a field that failed validation, a wait before the next attempt); a transport
// finds the kind with errors.As. An Error's Message is written for the person who made the
// request: it never carries PHI, an internal code or a field's value. The cause, kept in Err,
// goes to the log only.
//
// It holds no policy and knows no transport: a kind is a meaning, not an HTTP status.
package fault

import (
	"errors"
	"time"
)

// Kind is what went wrong, from the caller's side.
type Kind int

// Kinds.
const (
	// Internal is anything unexpected: the caller can only try again later.
	Internal Kind = iota
	// Invalid input: a field is missing or malformed; Field names it.
	Invalid
	// NotFound: no such thing, or none the caller may know of.
	NotFound
	// Forbidden: the policy refused.
	Forbidden
	// StepUpRequired: allowed, but only after a fresh second factor.
	StepUpRequired
	// Conflict with the current state (a taken address, the last second factor).
	Conflict
	// Gone: a single-use link already used or expired.
	Gone
	// Unauthenticated: wrong credentials, or no session.
	Unauthenticated
	// Throttled: too many attempts; RetryAfter says how long to wait.
	Throttled
	// Unavailable: a dependency (the audit log, e-mail, the identity provider) cannot serve now.
	Unavailable
)

var kindNames = [...]string{"internal", "invalid", "not-found", "forbidden", "step-up-required",
	"conflict", "gone", "unauthenticated", "throttled", "unavailable"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Error is a domain error with its kind and a message safe to show.
type Error struct {
	Kind    Kind
	Message string
	// Field names the input that failed (Invalid only), as the API calls it.
	Field string
	// RetryAfter is how long to wait before trying again (Throttled only).
	RetryAfter time.Duration
	// Err is the cause, for the log.
	Err error
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind k with a message safe to show.
func New(k Kind, message string) *Error { return &Error{Kind: k, Message: message} }

// Wrap returns an error of kind k whose cause is err. err may be a sentinel *Error: errors.Is
// still finds it, and errors.As finds the outer error first.
func Wrap(k Kind, message string, err error) *Error {
	return &Error{Kind: k, Message: message, Err: err}
}

// InvalidField reports that field failed validation; message says what to enter instead.
func InvalidField(field, message string) *Error {
	return &Error{Kind: Invalid, Field: field, Message: message}
}

// As returns err's outermost *Error, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns the kind of err's outermost *Error, or Internal.
func KindOf(err error) Kind {
	if e := As(err); e != nil {
		return e.Kind
	}
	return Internal
}

// Is reports whether err is of kind k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }
