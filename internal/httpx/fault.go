package httpx

import (
	"net/http"

	"haven/internal/fault"
)

// faultStatus is the answer to each kind of domain error; 0 for Internal (and any kind not
// known here), which stays a 500 whose cause is logged, never shown.
func faultStatus(k fault.Kind) int {
	switch k {
	case fault.Invalid:
		return http.StatusUnprocessableEntity
	case fault.NotFound:
		return http.StatusNotFound
	case fault.Forbidden, fault.StepUpRequired:
		return http.StatusForbidden
	case fault.Conflict:
		return http.StatusConflict
	case fault.Gone:
		return http.StatusGone
	case fault.Unauthenticated:
		return http.StatusUnauthorized
	case fault.Throttled:
		return http.StatusTooManyRequests
	case fault.Unavailable:
		return http.StatusServiceUnavailable
	}
	return 0
}

// fromFault maps err's outermost *fault.Error to an HTTP error with its safe message (the field
// named first, for invalid input), or returns nil when err carries no kind a client may see.
func fromFault(err error) *Error {
	fe := fault.As(err)
	if fe == nil {
		return nil
	}
	status := faultStatus(fe.Kind)
	if status == 0 {
		return nil
	}
	msg := fe.Message
	if fe.Field != "" {
		msg = fe.Field + ": " + msg
	}
	return &Error{Status: status, Message: msg, Err: err}
}
