package api

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"

	"haven/internal/httpx"
	"haven/internal/privacy"
)

type auditSearchRequest struct {
	PatientID string `json:"patientId"`
	// PatientName finds the patient's entries by name (through the name's blind index); each
	// patient it finds is identified through the door and sees it in their access log.
	PatientName string    `json:"patientName"`
	ActorID     string    `json:"actorId"`
	Action      string    `json:"action"`
	Outcome     string    `json:"outcome"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Limit       int       `json:"limit"`
}

// logQuery reads an access log's paging parameters: ?before=<seq> answers the entries older
// than that one, ?limit= at most that many (1 to 1000, 200 by default). Without them the
// answer is the newest 200, as it always was.
func logQuery(r *http.Request) (privacy.LogQuery, error) {
	var q privacy.LogQuery
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return q, httpx.Errorf(http.StatusBadRequest, "before must be the seq of an entry (a whole number from 1)")
		}
		q.Before = n
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return q, httpx.Errorf(http.StatusBadRequest, "limit must be a whole number from 1 to 1000")
		}
		q.Limit = n
	}
	return q, nil
}

func (a *API) myAccessLog(w http.ResponseWriter, r *http.Request) error {
	q, err := logQuery(r)
	if err != nil {
		return err
	}
	page, err := a.d.Privacy.MyAccessLogPage(r.Context(), httpx.Session(r).Subject, q, httpx.Origin(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, page.Events)
}

func (a *API) accessLog(w http.ResponseWriter, r *http.Request) error {
	q, err := logQuery(r)
	if err != nil {
		return err
	}
	page, err := a.d.Privacy.AccessLogPage(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), q, httpx.Origin(r))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, page.Events)
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

// resolveRequest is the privacy officer's finding on a report, and their note to the patient.
// The body is optional: without one the report is closed with no finding, as clients written
// before findings do.
type resolveRequest struct {
	Outcome string `json:"outcome"` // justified or unjustified
	Note    string `json:"note"`    // to the patient, beside the entry they reported
}

func (a *API) resolve(w http.ResponseWriter, r *http.Request) error {
	var req resolveRequest
	body, err := io.ReadAll(r.Body) // already read whole and bounded (httpx.LimitBody)
	if err != nil {
		return httpx.Errorf(http.StatusBadRequest, "the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := httpx.DecodeJSON(r, &req); err != nil {
			return err
		}
	}
	c := privacy.Closing{Outcome: req.Outcome, Note: req.Note}
	if err := a.d.Privacy.Resolve(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), c, httpx.Origin(r)); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{true})
}

func (a *API) searchTrail(w http.ResponseWriter, r *http.Request) error {
	var req auditSearchRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	es, err := a.d.Privacy.SearchTrail(r.Context(), httpx.Session(r).Subject, privacy.TrailQuery{PatientName: req.PatientName,
		Filter: privacy.Filter{PatientID: req.PatientID, ActorID: req.ActorID, Action: req.Action, Outcome: req.Outcome,
			From: req.From, To: req.To, Limit: req.Limit}}, httpx.Origin(r))
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
	nd, err := a.d.Privacy.ExportTrail(r.Context(), httpx.Session(r).Subject, privacy.TrailQuery{PatientName: req.PatientName, Filter: privacy.Filter{PatientID: req.PatientID, ActorID: req.ActorID,
		Action: req.Action, Outcome: req.Outcome, From: req.From, To: req.To, Limit: req.Limit}}, httpx.Origin(r))
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
