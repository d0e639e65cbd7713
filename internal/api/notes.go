package api

import (
	"net/http"

	"haven/internal/clinical"
	"haven/internal/httpx"
)

var noteParam = []Param{{Name: "id", In: "path", Required: true, Description: "note identifier"}}

func (a *API) noteRoutes() []Route {
	return []Route{
		{Method: "PUT", Path: "/visits/{id}/note", OperationID: "saveVisitNote", Summary: "Save the visit's draft note (subjective, objective, assessment, plan; category marks it sensitive: mental-health, substance-use, sexual-health), sealed under the patient's key. Only its author changes a draft; a signed note answers 409", Tag: "notes",
			Query: visitParam, Request: clinical.VisitNote{}, Response: clinical.Note{}, Handler: a.saveVisitNote},
		{Method: "GET", Path: "/visits/{id}/note", OperationID: "getVisitNote", Summary: "The visit's note: the draft (its author's alone) or the signed note with its addenda", Tag: "notes",
			Query: visitParam, Response: clinical.Note{}, Handler: a.visitNote},
		{Method: "GET", Path: "/notes/{id}", OperationID: "getNote", Summary: "One note with its addenda, oldest first; a draft is its author's alone", Tag: "notes",
			Query: noteParam, Response: clinical.Note{}, Handler: a.note},
		{Method: "POST", Path: "/notes/{id}/signature", OperationID: "signNote", Summary: "Sign a draft note (its author): from then on it is never changed, only amended by an addendum. A signed note answers 409", Tag: "notes",
			Query: noteParam, Response: clinical.Note{}, Handler: a.signNote},
		{Method: "POST", Path: "/notes/{id}/addenda", OperationID: "addAddendum", Summary: "Amend a signed note with an addendum: a note of its own that names the original, which stays as it was. The answer is the original with all its addenda. A draft answers 409", Tag: "notes",
			Query: noteParam, Request: noteRequest{}, Response: clinical.Note{}, Status: http.StatusCreated, Handler: a.addAddendum},
	}
}

func (a *API) saveVisitNote(w http.ResponseWriter, r *http.Request) error {
	if err := a.admitTo(r, "note.write"); err != nil {
		return err
	}
	var req clinical.VisitNote
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	n, err := a.d.Visits.SaveNote(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, n)
}

func (a *API) visitNote(w http.ResponseWriter, r *http.Request) error {
	n, err := a.d.Visits.Note(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, n)
}

func (a *API) note(w http.ResponseWriter, r *http.Request) error {
	n, err := a.d.Records.NoteByID(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, n)
}

func (a *API) signNote(w http.ResponseWriter, r *http.Request) error {
	n, err := a.d.Records.SignNote(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, n)
}

func (a *API) addAddendum(w http.ResponseWriter, r *http.Request) error {
	if err := httpx.FromDomain(a.d.Records.AdmitToNote(r.Context(), httpx.Session(r).Subject, "note.addendum", r.PathValue("id"), httpx.Origin(r))); err != nil {
		return err
	}
	var req noteRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	n, err := a.d.Records.AddAddendum(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req.Body, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, n)
}
