package api

import (
	"net/http"
	"strconv"
	"time"

	"haven/internal/httpx"
	"haven/internal/privacy"
)

type auditSearchRequest struct {
	PatientID string    `json:"patientId"`
	ActorID   string    `json:"actorId"`
	Action    string    `json:"action"`
	Outcome   string    `json:"outcome"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Limit     int       `json:"limit"`
}

func (a *API) myAccessLog(w http.ResponseWriter, r *http.Request) error {
	events, err := a.d.Privacy.MyAccessLog(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, events)
}

func (a *API) accessLog(w http.ResponseWriter, r *http.Request) error {
	events, err := a.d.Privacy.AccessLog(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, events)
}

func (a *API) reportAccess(w http.ResponseWriter, r *http.Request) error {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil {
		return httpx.Errorf(http.StatusBadRequest, "the entry index must be a number")
	}
	if err := a.d.Privacy.Report(r.Context(), httpx.Session(r).Subject, seq, httpx.Origin(r)); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusCreated, okResponse{true})
}

func (a *API) reviews(w http.ResponseWriter, r *http.Request) error {
	rs, err := a.d.Privacy.OpenReviews(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []privacy.Review{}
	}
	return httpx.WriteJSON(w, http.StatusOK, rs)
}

func (a *API) resolve(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Privacy.Resolve(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) searchTrail(w http.ResponseWriter, r *http.Request) error {
	var req auditSearchRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	es, err := a.d.Privacy.SearchTrail(r.Context(), httpx.Session(r).Subject, privacy.Filter{PatientID: req.PatientID, ActorID: req.ActorID,
		Action: req.Action, Outcome: req.Outcome, From: req.From, To: req.To, Limit: req.Limit}, httpx.Origin(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, es)
}

// auditEventsNDJSON exports the matching audit entries as FHIR R4 AuditEvent resources, one per
// line (application/fhir+ndjson), for the privacy officer's tools. An export leaves Haven: the
// policy asks for a fresh second factor.
func (a *API) auditEventsNDJSON(w http.ResponseWriter, r *http.Request) error {
	var req auditSearchRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	nd, err := a.d.Privacy.ExportTrail(r.Context(), httpx.Session(r).Subject, privacy.Filter{PatientID: req.PatientID, ActorID: req.ActorID,
		Action: req.Action, Outcome: req.Outcome, From: req.From, To: req.To, Limit: req.Limit}, httpx.Origin(r))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/fhir+ndjson")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(nd)
	return err
}

type flagRequest struct {
	PatientID string `json:"patientId"`
	Kind      string `json:"kind"` // "colleague" or "vip"
}

func (a *API) alerts(w http.ResponseWriter, r *http.Request) error {
	as, err := a.d.Privacy.Alerts(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, as)
}

func (a *API) flag(w http.ResponseWriter, r *http.Request) error {
	var req flagRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if req.PatientID == "" || (req.Kind != "colleague" && req.Kind != "vip") {
		return httpx.Errorf(http.StatusUnprocessableEntity, "give a patientId and a kind of colleague or vip")
	}
	if err := a.d.Privacy.Flag(r.Context(), httpx.Session(r).Subject, req.PatientID, req.Kind, httpx.Origin(r)); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusCreated, okResponse{true})
}
