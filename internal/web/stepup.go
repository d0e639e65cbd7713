package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/principal"
)

// localPath keeps only a path on this site (no scheme, no host, no "//"), so that ?next= cannot
// send anyone elsewhere.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/"
	}
	return p
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
		return goTo("/step-up?next=" + url.QueryEscape(next))
	}
	return err
}

type stepUpData struct{ Next string }

func (u *UI) stepUpForm(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return goTo(stagePath(s))
	}
	return u.render(w, r, http.StatusOK, "stepup", page{Title: "Confirm it is you", Data: stepUpData{Next: localPath(r.URL.Query().Get("next"))}})
}

func (u *UI) stepUp(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return goTo(stagePath(s))
	}
	next := localPath(r.PostFormValue("next"))
	if err := u.d.Identity.StepUp(r.Context(), s, r.PostFormValue("code"), httpx.Origin(r)); err != nil {
		return u.formPage(w, r, "stepup", "Confirm it is you", stepUpData{Next: next}, err)
	}
	return goTo(next)
}
