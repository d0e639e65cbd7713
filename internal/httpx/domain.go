package httpx

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"haven/internal/fault"
)

// statusOf maps a domain error's kind to its HTTP status.
var statusOf = map[fault.Kind]int{
	fault.Invalid:         http.StatusUnprocessableEntity,
	fault.NotFound:        http.StatusNotFound,
	fault.Forbidden:       http.StatusForbidden,
	fault.StepUpRequired:  http.StatusForbidden,
	fault.Conflict:        http.StatusConflict,
	fault.Gone:            http.StatusGone,
	fault.Unauthenticated: http.StatusUnauthorized,
	fault.Throttled:       http.StatusTooManyRequests,
	fault.Unavailable:     http.StatusServiceUnavailable,
}

// FromDomain maps a domain error to the Error the client sees, by its kind (package fault):
// transports never need to know which domain raised it. An error of no known kind is left as
// it is, and Adapt answers it with 500 and a generic message.
func FromDomain(err error) error {
	if err == nil {
		return nil
	}
	var he *Error
	if errors.As(err, &he) {
		return err
	}
	fe := fault.As(err)
	if fe == nil {
		return err
	}
	status, ok := statusOf[fe.Kind]
	if !ok {
		return err
	}
	e := &Error{Status: status, Message: fe.Message, Err: err}
	switch fe.Kind {
	case fault.Invalid:
		if fe.Field != "" {
			e.Message = fe.Field + ": " + fe.Message
		}
	case fault.StepUpRequired:
		// The marker tells API clients which answer this is: POST /api/v1/auth/step-up.
		e.Message += " (step-up)"
	case fault.Throttled:
		// Whole seconds, rounded up; a refusal that names no wait is a per-minute limit.
		secs := 60
		if fe.RetryAfter > 0 {
			secs = int((fe.RetryAfter + time.Second - 1) / time.Second)
		}
		e.Header = http.Header{"Retry-After": {strconv.Itoa(secs)}}
	}
	return e
}
