package api

import (
	"encoding/json"
	"net/http"

	"haven/internal/httpx"
	"haven/internal/smart"
)

// integrationRoutes: the administrator's registry of connected systems (SMART Backend
// Services clients). Each act needs a recent step-up and is audited by package smart.
func (a *API) integrationRoutes() []Route {
	id := []Param{{Name: "id", In: "path", Required: true, Description: "the connected system's client id"}}
	return []Route{
		{Method: "GET", Path: "/admin/integrations", OperationID: "listIntegrations", Summary: "List the connected systems (SMART Backend Services clients): names, keys, scopes, purpose of use and agreement dates; needs a recent step-up", Tag: "admin",
			Act: "integration.manage", Response: []smart.Client{}, Handler: a.listIntegrations},
		{Method: "POST", Path: "/admin/integrations", OperationID: "registerIntegration", Summary: "Register a connected system with its public JWK set (or its https address), the SMART system scopes it may ask for, its purpose of use (TREAT, HPAYMT, HOPERAT) and its business associate agreement's first and last days; needs a recent step-up. The answer's clientId goes in the system's assertions (iss and sub)", Tag: "admin",
			Act: "integration.manage", Request: integrationRequest{}, Response: smart.Client{}, Status: http.StatusCreated, Handler: a.registerIntegration},
		{Method: "PUT", Path: "/admin/integrations/{id}", OperationID: "updateIntegration", Summary: "Replace a connected system's registration (renew its agreement, rotate its keys, change its scopes); needs a recent step-up", Tag: "admin",
			Act: "integration.manage", Query: id, Request: integrationRequest{}, Response: smart.Client{}, Handler: a.updateIntegration},
		{Method: "POST", Path: "/admin/integrations/{id}/disable", OperationID: "disableIntegration", Summary: "Disable a connected system: its tokens stop working at once and it gets no new ones; needs a recent step-up", Tag: "admin",
			Act: "integration.manage", Query: id, Response: smart.Client{}, Handler: a.disableIntegration},
		{Method: "POST", Path: "/admin/integrations/{id}/enable", OperationID: "enableIntegration", Summary: "Let a disabled connected system ask for tokens again; needs a recent step-up", Tag: "admin",
			Act: "integration.manage", Query: id, Response: smart.Client{}, Handler: a.enableIntegration},
	}
}

// integrationRequest is a connected system's registration. jwks is a JWK set object of
// public keys (RSA of 2048 bits or more, or P-384); jwksUrl, an https address publishing one.
type integrationRequest struct {
	Name           string          `json:"name"`
	JWKS           json.RawMessage `json:"jwks,omitempty"`
	JWKSURL        string          `json:"jwksUrl,omitempty"`
	Scopes         string          `json:"scopes"`
	Purpose        string          `json:"purpose"`
	AgreementStart string          `json:"agreementStart"`
	AgreementEnd   string          `json:"agreementEnd"`
}

func (q integrationRequest) client() smart.NewClient {
	return smart.NewClient{Name: q.Name, JWKS: string(q.JWKS), JWKSURL: q.JWKSURL, Scopes: q.Scopes, Purpose: q.Purpose,
		AgreementStart: q.AgreementStart, AgreementEnd: q.AgreementEnd}
}

func (a *API) listIntegrations(w http.ResponseWriter, r *http.Request) error {
	cs, err := a.d.SMART.Clients(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, cs)
}

func (a *API) registerIntegration(w http.ResponseWriter, r *http.Request) error {
	var req integrationRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	c, err := a.d.SMART.Register(r.Context(), httpx.Session(r).Subject, req.client(), httpx.Origin(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusCreated, c)
}

func (a *API) updateIntegration(w http.ResponseWriter, r *http.Request) error {
	var req integrationRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	c, err := a.d.SMART.Update(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req.client(), httpx.Origin(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, c)
}

func (a *API) disableIntegration(w http.ResponseWriter, r *http.Request) error {
	return a.setIntegrationDisabled(w, r, true)
}

func (a *API) enableIntegration(w http.ResponseWriter, r *http.Request) error {
	return a.setIntegrationDisabled(w, r, false)
}

func (a *API) setIntegrationDisabled(w http.ResponseWriter, r *http.Request, disabled bool) error {
	c, err := a.d.SMART.SetDisabled(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), disabled, httpx.Origin(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, c)
}
