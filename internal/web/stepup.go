package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/principal"
)

// maxNext bounds a return path: anything longer is not one of this site's pages.
const maxNext = 2048

// safeNext is the one check for every "go back to next after X" in the UI: it returns next if it
// is a path on this site, and "/" otherwise, so that ?next= cannot send anyone elsewhere.
//
// Browsers and proxies are lenient where this check must not be: a URL parser drops tabs and
// newlines ("/\t/evil.example" is followed as "//evil.example"), reads a backslash as a slash,
// and some servers decode %2f and %5c before routing. So next must be printable ASCII with no
// space or backslash, start with exactly one "/", parse with no scheme, host or user, and its
// path, however many times it is percent-decoded, must neither start with "//" or "/\" nor
// hold a control character or a backslash.
func safeNext(next string) string {
	if !isLocalPath(next) {
		return "/"
	}
	return next
}

func isLocalPath(p string) bool {
	if len(p) == 0 || len(p) > maxNext || p[0] != '/' {
		return false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	// Decode until nothing changes (%252f → %2f → /); a path still encoded after that many
	// rounds is no page of ours.
	path := u.EscapedPath()
	for range 4 {
		d, err := url.PathUnescape(path)
		if err != nil {
			return false
		}
		if strings.HasPrefix(d, "//") || strings.HasPrefix(d, "/\\") ||
			strings.ContainsFunc(d, func(r rune) bool { return r == '\\' || unicode.IsControl(r) }) {
			return false
		}
		if d == path {
			return true
		}
		path = d
	}
	return false
}

// admit asks the door, before the form is read, whether the signed-in person may perform
// action (a policy action name) on patientID, if any. A refusal is recorded by the door; a
// missing step-up sends the person to confirm it, then back to next.
func (u *UI) admit(r *http.Request, action, patientID, next string) (principal.Subject, error) {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return principal.Subject{}, goTo(stagePath(s))
	}
	err := u.d.Admit(r.Context(), s.Subject, action, patientID, httpx.Origin(r))
	if fault.Is(err, fault.StepUpRequired) {
		return principal.Subject{}, goTo("/step-up?next=" + url.QueryEscape(next))
	}
	if err != nil {
		return principal.Subject{}, err
	}
	return s.Subject, nil
}

// needStepUp sends a person whose second factor is not recent to confirm it, then back to next
// (acts on their own account, which identity guards itself).
func (u *UI) needStepUp(r *http.Request, next string) error {
	err := u.d.Identity.RequireStepUp(httpx.Session(r))
	if errors.Is(err, identity.ErrStepUpRequired) {
		return stepUpFirst(next)
	}
	return err
}

// stepUpFirst sends the browser to confirm its second factor, then to next.
func stepUpFirst(next string) error {
	return goTo("/step-up?next=" + url.QueryEscape(safeNext(next)))
}

type stepUpData struct{ Next string }

func (u *UI) stepUpForm(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return goTo(stagePath(s))
	}
	return u.render(w, r, http.StatusOK, "stepup", page{Title: "Confirm it is you", Data: stepUpData{Next: safeNext(r.URL.Query().Get("next"))}})
}

func (u *UI) stepUp(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return goTo(stagePath(s))
	}
	next := safeNext(r.PostFormValue("next"))
	if err := u.d.Identity.StepUp(r.Context(), s, r.PostFormValue("code"), httpx.Origin(r)); err != nil {
		return u.formPage(w, r, "stepup", "Confirm it is you", stepUpData{Next: next}, err)
	}
	return goTo(next)
}
