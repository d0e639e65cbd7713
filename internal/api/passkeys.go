package api

import (
	"encoding/json"
	"net/http"

	"haven/internal/httpx"
	"haven/internal/identity"
)

type (
	// passkeyFinishRequest carries the authenticator's answer: the object
	// PublicKeyCredential.toJSON() returns, with the ceremony it answers.
	passkeyFinishRequest struct {
		Ceremony   string          `json:"ceremony"`
		Name       string          `json:"name,omitempty"` // registration only
		Credential json.RawMessage `json:"credential"`
	}
	passkeyRenameRequest struct {
		Name string `json:"name"`
	}
)

func (a *API) beginPasskeySignIn(w http.ResponseWriter, r *http.Request) error {
	opts, err := a.d.Identity.BeginPasskeySignIn(r.Context(), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, opts)
}

func (a *API) finishPasskeySignIn(w http.ResponseWriter, r *http.Request) error {
	var req passkeyFinishRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	token, err := a.d.Identity.FinishPasskeySignIn(r.Context(), req.Ceremony, req.Credential, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	httpx.SetSession(w, token)
	return httpx.WriteJSON(w, http.StatusOK, stageResponse{identity.StageFull})
}

func (a *API) beginPasskeyVerification(w http.ResponseWriter, r *http.Request) error {
	opts, err := a.d.Identity.BeginPasskeyVerification(r.Context(), httpx.Session(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, opts)
}

func (a *API) finishPasskeyVerification(w http.ResponseWriter, r *http.Request) error {
	var req passkeyFinishRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	token, err := a.d.Identity.FinishPasskeyVerification(r.Context(), httpx.Session(r), req.Ceremony, req.Credential, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	if token != "" {
		httpx.SetSession(w, token)
	}
	return httpx.WriteJSON(w, http.StatusOK, stageResponse{identity.StageFull})
}

func (a *API) listPasskeys(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.d.Identity.Passkeys(r.Context(), httpx.Session(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, ps)
}

func (a *API) beginPasskeyRegistration(w http.ResponseWriter, r *http.Request) error {
	opts, err := a.d.Identity.BeginPasskeyRegistration(r.Context(), httpx.Session(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, opts)
}

func (a *API) registerPasskey(w http.ResponseWriter, r *http.Request) error {
	var req passkeyFinishRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	done, err := a.d.Identity.FinishPasskeyRegistration(r.Context(), httpx.Session(r), req.Ceremony, req.Name, req.Credential, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return writeEnrolled(w, http.StatusCreated, done)
}

func (a *API) renamePasskey(w http.ResponseWriter, r *http.Request) error {
	var req passkeyRenameRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Identity.RenamePasskey(r.Context(), httpx.Session(r), r.PathValue("id"), req.Name, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) removePasskey(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Identity.RemovePasskey(r.Context(), httpx.Session(r), r.PathValue("id"), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) removeTOTP(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Identity.RemoveTOTP(r.Context(), httpx.Session(r), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}
