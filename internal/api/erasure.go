package api

import (
	"net/http"

	"haven/internal/governance"
	"haven/internal/httpx"
)

// Erasure requests and legal holds (package governance). A patient asks for their own record;
// the privacy officer records requests received another way, approves them with a fresh
// second factor, and places or lifts legal holds (step-up too).
type (
	erasureRequestResponse struct {
		ID string `json:"id"`
	}
	legalHoldRequest struct {
		// Reason is one of litigation, investigation, regulator or other: fixed words, never
		// free text.
		Reason string `json:"reason"`
	}
)

func (a *API) erasureRoutes() []Route {
	patient := []Param{{Name: "id", In: "path", Required: true, Description: "patient identifier"}}
	request := []Param{{Name: "id", In: "path", Required: true, Description: "erasure request identifier"}}
	return []Route{
		{Method: "POST", Path: "/me/erasure-request", OperationID: "requestMyErasure", Summary: "Ask for one's own record to be erased (the privacy officer decides; audit metadata and billing records are kept as the law requires); an open request is answered again", Tag: "governance",
			Response: erasureRequestResponse{}, Status: http.StatusCreated, Handler: a.requestMyErasure},
		{Method: "POST", Path: "/patients/{id}/erasure-requests", OperationID: "recordErasureRequest", Summary: "Record a patient's erasure request received another way (privacy officer)", Tag: "governance",
			Query: patient, Response: erasureRequestResponse{}, Status: http.StatusCreated, Handler: a.recordErasureRequest},
		{Method: "GET", Path: "/erasure-requests", OperationID: "listErasureRequests", Summary: "Erasure requests, newest first, with whether a legal hold stands in the way (privacy officer; identifiers only)", Tag: "governance",
			Response: []governance.ErasureRequest{}, Handler: a.listErasureRequests},
		{Method: "POST", Path: "/erasure-requests/{id}/approval", OperationID: "approveErasure", Summary: "Approve an erasure request (privacy officer, needs a recent step-up): the patient's keyset is destroyed, their records can no longer be opened here or from any backup, their account is closed; 409 under a legal hold or if already decided", Tag: "governance",
			Query: request, Response: okResponse{}, Handler: a.approveErasure},
		{Method: "POST", Path: "/erasure-requests/{id}/refusal", OperationID: "refuseErasure", Summary: "Refuse an erasure request (privacy officer): nothing is destroyed; 409 if already decided", Tag: "governance",
			Query: request, Response: okResponse{}, Handler: a.refuseErasure},
		{Method: "PUT", Path: "/patients/{id}/legal-hold", OperationID: "placeLegalHold", Summary: "Place a legal hold on a patient's records (privacy officer, needs a recent step-up): no purge and no erasure while it holds", Tag: "governance",
			Query: patient, Request: legalHoldRequest{}, Response: okResponse{}, Act: "legalhold.set", PatientParam: "id", Handler: a.placeLegalHold},
		{Method: "DELETE", Path: "/patients/{id}/legal-hold", OperationID: "liftLegalHold", Summary: "Lift the legal hold on a patient's records (privacy officer, needs a recent step-up); 409 if none holds", Tag: "governance",
			Query: patient, Response: okResponse{}, Handler: a.liftLegalHold},
	}
}

func (a *API) requestMyErasure(w http.ResponseWriter, r *http.Request) error {
	by := httpx.Session(r).Subject
	id, err := a.d.Governance.RequestErasure(r.Context(), by, by.PatientID, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, erasureRequestResponse{ID: id})
}

func (a *API) recordErasureRequest(w http.ResponseWriter, r *http.Request) error {
	id, err := a.d.Governance.RequestErasure(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, erasureRequestResponse{ID: id})
}

func (a *API) listErasureRequests(w http.ResponseWriter, r *http.Request) error {
	rs, err := a.d.Governance.ErasureRequests(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, rs)
}

func (a *API) approveErasure(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Governance.ApproveErasure(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) placeLegalHold(w http.ResponseWriter, r *http.Request) error {
	var req legalHoldRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Governance.PlaceHold(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req.Reason, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) liftLegalHold(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Governance.LiftHold(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) refuseErasure(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Governance.RefuseErasure(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}
