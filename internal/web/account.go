package web

import (
	"errors"
	"net/http"

	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/principal"
)

type accountData struct {
	Sessions      []identity.SessionInfo
	Passkeys      []identity.Passkey
	HasTOTP       bool
	Email         string // a staff member's sign-in address; patients' is on their record
	MailOn        bool   // an e-mail change then waits for the link sent to the new address
	Notice        string // what the last action did
	RecoveryLeft  int
	RecoveryCodes []string // shown once, right after they are made
	// Calendar: a clinician may subscribe to their schedule; FeedURL is a new feed's private
	// address, shown once, right after it is made.
	Calendar bool
	FeedURL  string
	// Devices are the browsers whose keys encrypted visits and messages are sealed to.
	Devices []accountDevice
}

// accountNotices are the confirmations ?done= may ask the account page to show.
var accountNotices = map[string]string{
	"revoked":         "Session ended.",
	"password":        "Password changed. Your other sessions have ended.",
	"totp":            "Authenticator app added.",
	"totp-removed":    "Authenticator app removed.",
	"passkey-renamed": "Passkey renamed.",
	"passkey-removed": "Passkey removed.",
	"email":           "E-mail address changed. Sign in with the new one from now on.",
	"email-sent":      "We sent a link to the new address. Your address changes when you open it, within 30 minutes.",
	"feed-revoked":    "Your calendar feed is turned off. Calendars that used its address stop showing your appointments.",
	"device-removed":  "Device removed. New messages and visits are no longer encrypted to it.",
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
	devices, err := u.myDevices(r, s.Subject)
	if err != nil {
		return accountData{}, err
	}
	return accountData{Sessions: list, Passkeys: keys, HasTOTP: acct.HasTOTP, Email: acct.Email, MailOn: u.d.Identity.MailOn(), RecoveryLeft: left,
		Calendar: s.Subject.Role == principal.Clinician, Devices: devices}, nil
}

// accountTitle is the account page's heading.
const accountTitle = "Security and sessions"

// accountAct runs a change on the signed-in account and returns to the account page with the
// notice the change names (a key of accountNotices); a refused change is shown on the page.
// Sensitive changes need a step-up first.
func (u *UI) accountAct(w http.ResponseWriter, r *http.Request, stepUp bool, act func(*identity.Session) (string, error)) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return goTo(stagePath(s))
	}
	if stepUp {
		if err := u.needStepUp(r, "/account"); err != nil {
			return err
		}
	}
	done, err := act(s)
	if err != nil {
		d, derr := u.accountData(r, s)
		if derr != nil {
			return derr
		}
		return u.formPage(w, r, "account", accountTitle, d, err)
	}
	return goTo("/account?done=" + done)
}

func (u *UI) renamePasskey(w http.ResponseWriter, r *http.Request) error {
	return u.accountAct(w, r, false, func(s *identity.Session) (string, error) {
		return "passkey-renamed", u.d.Identity.RenamePasskey(r.Context(), s, r.PathValue("id"), r.PostFormValue("name"), httpx.Origin(r))
	})
}

func (u *UI) removePasskey(w http.ResponseWriter, r *http.Request) error {
	return u.accountAct(w, r, true, func(s *identity.Session) (string, error) {
		return "passkey-removed", u.d.Identity.RemovePasskey(r.Context(), s, r.PathValue("id"), httpx.Origin(r))
	})
}

func (u *UI) removeTOTP(w http.ResponseWriter, r *http.Request) error {
	return u.accountAct(w, r, true, func(s *identity.Session) (string, error) {
		return "totp-removed", u.d.Identity.RemoveTOTP(r.Context(), s, httpx.Origin(r))
	})
}

// changeEmail moves a staff account to another address after a step-up: at once, or when the
// link sent to the new address is opened.
func (u *UI) changeEmail(w http.ResponseWriter, r *http.Request) error {
	return u.accountAct(w, r, true, func(s *identity.Session) (string, error) {
		done, err := u.d.Identity.ChangeEmail(r.Context(), s, r.PostFormValue("email"), httpx.Origin(r))
		if done == identity.EmailConfirmationSent {
			return "email-sent", err
		}
		return "email", err
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

type emailConfirmData struct {
	Token string
	Done  bool
}

const emailConfirmTitle = "Confirm your new e-mail address"

// emailConfirmForm shows a button, not the change itself: mail scanners open links, and a GET
// must change nothing.
func (u *UI) emailConfirmForm(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if !u.d.Identity.EmailChangeValid(r.Context(), token) {
		return httpx.Errorf(http.StatusGone, "this link is not valid: it was already used or has expired; ask for the change again")
	}
	return u.render(w, r, http.StatusOK, "emailconfirm", page{Title: emailConfirmTitle, Data: emailConfirmData{Token: token}})
}

func (u *UI) confirmEmail(w http.ResponseWriter, r *http.Request) error {
	d := emailConfirmData{Token: r.PostFormValue("token")}
	if err := u.d.Identity.ConfirmEmailChange(r.Context(), d.Token, httpx.Origin(r)); err != nil {
		return u.formPage(w, r, "emailconfirm", emailConfirmTitle, d, err)
	}
	return u.render(w, r, http.StatusOK, "emailconfirm", page{Title: "E-mail address changed", Data: emailConfirmData{Done: true}})
}
