package web

import (
	"errors"
	"net/http"

	"haven/internal/httpx"
	"haven/internal/identity"
)

type accountData struct {
	Sessions []identity.SessionInfo
	Revoked  bool
}

// account lists the signed-in person's sessions, with a way to end each one.
func (u *UI) account(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r)
	if s == nil || s.Stage != identity.StageFull {
		return goTo(stagePath(s))
	}
	list, err := u.d.Identity.Sessions(r.Context(), s)
	if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "account", page{Title: "Your sessions",
		Data: accountData{Sessions: list, Revoked: r.URL.Query().Get("revoked") == "1"}})
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
