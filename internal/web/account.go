package web

import (
	"errors"
	"net/http"

	"haven/internal/httpx"
	"haven/internal/identity"
)

type accountData struct {
	Sessions      []identity.SessionInfo
	Passkeys      []identity.Passkey
	HasTOTP       bool
	Notice        string // what the last action did
	RecoveryLeft  int
	RecoveryCodes []string // shown once, right after they are made
}

// accountNotices are the confirmations ?done= may ask the account page to show.
var accountNotices = map[string]string{
	"revoked":         "Session ended.",
	"password":        "Password changed. Your other sessions have ended.",
	"totp":            "Authenticator app added.",
	"totp-removed":    "Authenticator app removed.",
	"passkey-renamed": "Passkey renamed.",
	"passkey-removed": "Passkey removed.",
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
	d.Notice = accountNotices[r.URL.Query().Get("done")]
	return u.render(w, r, http.StatusOK, "account", page{Title: accountTitle, Data: d})
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
	keys, err := u.d.Identity.Passkeys(r.Context(), s)
	if err != nil {
		return accountData{}, err
	}
	acct, err := u.d.Identity.Account(r.Context(), s.Subject.AccountID)
	if err != nil {
		return accountData{}, err
	}
	return accountData{Sessions: list, Passkeys: keys, HasTOTP: acct.HasTOTP, RecoveryLeft: left}, nil
}

// accountTitle is the account page's heading.
const accountTitle = "Security and sessions"

// accountAct runs a change on the signed-in account and returns to the account page with a
// notice; a refused change is shown on the page. Removing factors needs a step-up first.
func (u *UI) accountAct(w http.ResponseWriter, r *http.Request, stepUp bool, done string, act func(*identity.Session) error) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return goTo(stagePath(s))
	}
	if stepUp {
		if err := u.needStepUp(r, "/account"); err != nil {
			return err
		}
	}
	if err := act(s); err != nil {
		d, derr := u.accountData(r, s)
		if derr != nil {
			return derr
		}
		return u.formPage(w, r, "account", accountTitle, d, err)
	}
	return goTo("/account?done=" + done)
}

func (u *UI) renamePasskey(w http.ResponseWriter, r *http.Request) error {
	return u.accountAct(w, r, false, "passkey-renamed", func(s *identity.Session) error {
		return u.d.Identity.RenamePasskey(r.Context(), s, r.PathValue("id"), r.PostFormValue("name"), httpx.Origin(r))
	})
}

func (u *UI) removePasskey(w http.ResponseWriter, r *http.Request) error {
	return u.accountAct(w, r, true, "passkey-removed", func(s *identity.Session) error {
		return u.d.Identity.RemovePasskey(r.Context(), s, r.PathValue("id"), httpx.Origin(r))
	})
}

func (u *UI) removeTOTP(w http.ResponseWriter, r *http.Request) error {
	return u.accountAct(w, r, true, "totp-removed", func(s *identity.Session) error {
		return u.d.Identity.RemoveTOTP(r.Context(), s, httpx.Origin(r))
	})
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
	return u.render(w, r, http.StatusOK, "account", page{Title: accountTitle, Data: d})
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
	return goTo("/account?done=revoked")
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
		return u.render(w, r, http.StatusUnprocessableEntity, "account", page{Title: accountTitle, Error: "the two new passwords differ", Data: d})
	}
	if err := u.d.Identity.ChangePassword(r.Context(), s, r.PostFormValue("current"), r.PostFormValue("new"), httpx.Origin(r)); err != nil {
		return u.formPage(w, r, "account", accountTitle, d, err)
	}
	return goTo("/account?done=password")
}
