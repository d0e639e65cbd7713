package web

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"haven/internal/fault"
	"haven/internal/httpx"
)

// TestErrorsInWords: what a person reads names a field by its label, never as the API does,
// carries no marker meant for API clients, and reads as a sentence.
func TestErrorsInWords(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"a field by its label", fault.InvalidField("birthDate", "enter a birth date as YYYY-MM-DD, not in the future"),
			"Date of birth: enter a birth date as YYYY-MM-DD, not in the future."},
		{"a field with no label is not named", fault.InvalidField("kind", "choose what to flag"), "Choose what to flag."},
		{"no step-up marker", fault.New(fault.StepUpRequired, "confirm it is you"), "Confirm it is you."},
		{"a sentence already", fault.New(fault.Throttled, "Too many attempts. Wait 1 second and try again."),
			"Too many attempts. Wait 1 second and try again."},
		{"a wrapped domain error", fault.Wrap(fault.Gone, "this link is not valid: it was already used or has expired", errors.New("cause")),
			"This link is not valid: it was already used or has expired."},
		{"an HTTP error", httpx.Errorf(http.StatusConflict, "ça a changé"), "Ça a changé."},
		{"the empty search", errEmptySearch, "Enter a name, phone or date of birth to search."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var he *httpx.Error
			if !errors.As(httpx.FromDomain(tc.err), &he) {
				t.Fatalf("%v maps to no HTTP error", tc.err)
			}
			if got := inWords(tc.err, he); got != tc.want {
				t.Fatalf("inWords = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestErrorPagesSayWhatToDoNext: every error page has a heading in words, a next step and a
// way back; only a fault on Haven's side shows the reference that finds it in the log.
func TestErrorPagesSayWhatToDoNext(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 410, 413, 422, 429, 500, 503} {
		title, d := errorPage(status, "req-1")
		if title == "" || title == http.StatusText(status) || d.Next == "" || d.Home == "" || d.HomeLabel == "" {
			t.Errorf("%d: title %q, next %q, home %q %q", status, title, d.Next, d.Home, d.HomeLabel)
		}
		if (d.Reference != "") != (status >= 500) {
			t.Errorf("%d: reference %q", status, d.Reference)
		}
		if strings.Contains(strings.ToLower(title), "error") {
			t.Errorf("%d: the heading %q says error instead of what happened", status, title)
		}
	}
}
