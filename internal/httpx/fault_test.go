package httpx

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"haven/internal/fault"
)

// TestFromDomainMapsFaultKinds: a domain error's kind decides the answer and its safe message is
// what the client sees; the cause is kept for the log only; an internal fault stays unmapped (a
// 500 whose text is never shown).
func TestFromDomainMapsFaultKinds(t *testing.T) {
	cause := errors.New("secret cause")
	for _, tc := range []struct {
		err     error
		status  int
		message string
	}{
		{fault.InvalidField("patientId", "name the patient"), http.StatusUnprocessableEntity, "patientId: name the patient"},
		{fmt.Errorf("privacy: x: %w", fault.New(fault.NotFound, "no such entry")), http.StatusNotFound, "no such entry"},
		{fault.New(fault.Forbidden, "no"), http.StatusForbidden, "no"},
		{fault.New(fault.StepUpRequired, "confirm"), http.StatusForbidden, "confirm (step-up)"},
		{fault.Wrap(fault.Conflict, "taken", cause), http.StatusConflict, "taken"},
		{fault.New(fault.Gone, "used"), http.StatusGone, "used"},
		{fault.New(fault.Unauthenticated, "sign in"), http.StatusUnauthorized, "sign in"},
		{fault.New(fault.Throttled, "wait"), http.StatusTooManyRequests, "wait"},
		{fault.New(fault.Unavailable, "later"), http.StatusServiceUnavailable, "later"},
	} {
		var he *Error
		if !errors.As(FromDomain(tc.err), &he) || he.Status != tc.status || he.Message != tc.message || !errors.Is(he, tc.err) {
			t.Errorf("FromDomain(%v) = %+v, want %d %q wrapping the error", tc.err, he, tc.status, tc.message)
		}
	}
	internal := fault.Wrap(fault.Internal, "boom", cause)
	if err := FromDomain(internal); err != internal {
		t.Errorf("FromDomain(internal fault) = %v, want it unmapped", err)
	}
}
