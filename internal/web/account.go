package web

import (
	"errors"
	"net/http"

	"haven/internal/httpx"
	"haven/internal/identity"
)

type accountData struct {
	Sessions      []identity.SessionInfo
	Revoked       bool
	PasswordDone  bool
	RecoveryLeft  int
	RecoveryCodes []string // shown once, right after they are made
}

// account lists the signed-in person's sessions, with a way to end each one.
func (u *UI) account(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return goTo(stagePath(s))
	}
	d, err := u.accountData(r, s)
	if err != nil {
		return err
	}
	d.Revoked = r.URL.Query().Get("revoked") == "1"
	d.PasswordDone = r.URL.Query().Get("password") == "1"
	return u.render(w, r, http.StatusOK, "account", page{Title: "Your sessions", Data: d})
}

func (u *UI) accountData(r *http.Request, s *identity.Session) (accountData, error) {
	list, err := u.d.Identity.Sessions(r.Context(), s)
	if err != nil {
		return accountData{}, err
	}
	left, err := u.d.Identity.RecoveryCodesLeft(r.Context(), s.Subject.AccountID)
	if err != nil {
		return accountData{}, err
	}
	return accountData{Sessions: list, RecoveryLeft: left}, nil
}

// regenerateRecovery makes new recovery codes (after a step-up) and shows them once.
func (u *UI) regenerateRecovery(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return goTo(stagePath(s))
	}
	if err := u.needStepUp(r, "/account"); err != nil {
		return err
	}
	codes, err := u.d.Identity.RegenerateRecoveryCodes(r.Context(), s, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	d, err := u.accountData(r, s)
	if err != nil {
		return err
	}
	d.RecoveryCodes = codes
	return u.render(w, r, http.StatusOK, "account", page{Title: "Your sessions", Data: d})
}

func (u *UI) revokeSession(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return goTo(stagePath(s))
	}
	err := u.d.Identity.RevokeSession(r.Context(), s, r.PathValue("id"), httpx.Origin(r))
	if errors.Is(err, identity.ErrNoSession) {
		return httpx.ErrNotFound
	}
	if err != nil {
		return err
	}
	return goTo("/account?revoked=1")
}

// changePassword takes the current and the new password (after a step-up); other sessions end.
func (u *UI) changePassword(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return goTo(stagePath(s))
	}
	if err := u.needStepUp(r, "/account"); err != nil {
		return err
	}
	d, err := u.accountData(r, s)
	if err != nil {
		return err
	}
	if r.PostFormValue("new") != r.PostFormValue("confirm") {
		return u.render(w, r, http.StatusUnprocessableEntity, "account", page{Title: "Your sessions", Error: "the two new passwords differ", Data: d})
	}
	if err := u.d.Identity.ChangePassword(r.Context(), s, r.PostFormValue("current"), r.PostFormValue("new"), httpx.Origin(r)); err != nil {
		return u.formPage(w, r, "account", "Your sessions", d, err)
	}
	return goTo("/account?password=1")
}
