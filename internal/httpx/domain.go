package httpx

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/identity"
	"haven/internal/identity/password"
)

// FromDomain maps a domain error to an HTTP error with a safe message. Unknown errors become a
// 500 whose cause is logged, never shown.
func FromDomain(err error) error {
	var fe *clinical.FieldError
	var pe password.ErrPolicy
	switch {
	case err == nil:
		return nil
	case fault.Is(err, fault.Throttled):
		return throttled(fault.As(err), err)
	case errors.As(err, &fe):
		return &Error{Status: http.StatusUnprocessableEntity, Message: fe.Error(), Err: err}
	case errors.As(err, &pe):
		return &Error{Status: http.StatusUnprocessableEntity, Message: pe.Error(), Err: err}
	case errors.Is(err, clinical.ErrForbidden):
		return &Error{Status: http.StatusForbidden, Message: clinical.ErrForbidden.Error(), Err: err}
	case errors.Is(err, clinical.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Message: clinical.ErrNotFound.Error(), Err: err}
	case errors.Is(err, identity.ErrInvalidCredentials), errors.Is(err, identity.ErrInvalidCode):
		return &Error{Status: http.StatusUnauthorized, Message: unwrapMessage(err), Err: err}
	case errors.Is(err, identity.ErrThrottled):
		return &Error{Status: http.StatusTooManyRequests, Message: identity.ErrThrottled.Error(), Err: err}
	case errors.Is(err, identity.ErrInviteInvalid), errors.Is(err, identity.ErrSetupDone):
		return &Error{Status: http.StatusGone, Message: unwrapMessage(err), Err: err}
	case errors.Is(err, identity.ErrEmailTaken):
		return &Error{Status: http.StatusConflict, Message: identity.ErrEmailTaken.Error(), Err: err}
	case errors.Is(err, identity.ErrInvalidInput):
		return &Error{Status: http.StatusUnprocessableEntity, Message: err.Error(), Err: err}
	case errors.Is(err, identity.ErrStepUpRequired):
		return &Error{Status: http.StatusForbidden, Message: identity.ErrStepUpRequired.Error() + " (step-up)", Err: err}
	case errors.Is(err, identity.ErrPasskeyInvalid):
		return &Error{Status: http.StatusUnauthorized, Message: identity.ErrPasskeyInvalid.Error(), Err: err}
	case errors.Is(err, identity.ErrPasskeyNotFound):
		return &Error{Status: http.StatusNotFound, Message: identity.ErrPasskeyNotFound.Error(), Err: err}
	case errors.Is(err, identity.ErrLastFactor):
		return &Error{Status: http.StatusConflict, Message: identity.ErrLastFactor.Error(), Err: err}
	case errors.Is(err, identity.ErrEmailLinkNotSent):
		return &Error{Status: http.StatusServiceUnavailable, Message: identity.ErrEmailLinkNotSent.Error(), Err: err}
	case errors.Is(err, identity.ErrResetByMailOff):
		return &Error{Status: http.StatusConflict, Message: identity.ErrResetByMailOff.Error(), Err: err}
	case errors.Is(err, identity.ErrPasskeyRequired):
		return &Error{Status: http.StatusForbidden, Message: identity.ErrPasskeyRequired.Error(), Err: err}
	case errors.Is(err, identity.ErrWrongStage):
		return &Error{Status: http.StatusForbidden, Message: identity.ErrWrongStage.Error(), Err: err}
	case errors.Is(err, identity.ErrFederationRefused):
		return &Error{Status: http.StatusForbidden, Message: identity.ErrFederationRefused.Error(), Err: err}
	case errors.Is(err, identity.ErrFederationUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Message: identity.ErrFederationUnavailable.Error(), Err: err}
	case errors.Is(err, identity.ErrFederationOff):
		return &Error{Status: http.StatusNotFound, Message: identity.ErrFederationOff.Error(), Err: err}
	case errors.Is(err, audit.ErrUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Message: "the service cannot record this access right now, so it is refused; try again later", Err: err}
	}
	return err
}

// throttled is 429 with the domain's message, which says how long to wait, and Retry-After
// saying the same in whole seconds, rounded up.
func throttled(fe *fault.Error, err error) *Error {
	e := &Error{Status: http.StatusTooManyRequests, Message: fe.Message, Err: err}
	if e.Message == "" {
		e.Message = "too many attempts; wait and try again"
	}
	if fe.RetryAfter > 0 {
		secs := (fe.RetryAfter + time.Second - 1) / time.Second
		e.Header = http.Header{"Retry-After": {strconv.FormatInt(int64(secs), 10)}}
	}
	return e
}

// unwrapMessage returns the text of the first identity sentinel in err's chain.
func unwrapMessage(err error) string {
	for _, s := range []error{identity.ErrInvalidCredentials, identity.ErrInvalidCode, identity.ErrInviteInvalid, identity.ErrSetupDone} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "request refused"
}
