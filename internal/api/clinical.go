package api

import (
	"net/http"

	"haven/internal/clinical"
	"haven/internal/httpx"
)

func (a *API) myPatients(w http.ResponseWriter, r *http.Request) error {
	ps, err := a.d.Records.MyPatients(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, ps)
}

func (a *API) register(w http.ResponseWriter, r *http.Request) error {
	var req clinical.NewPatient
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	reg, err := a.d.Records.Register(r.Context(), httpx.Session(r).Subject, req, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, registrationResponse{PatientID: reg.PatientID, linkResponse: newLinkResponse(reg.Invite)})
}

// sendSignInLink issues a patient in the caller's care a password-reset link.
func (a *API) sendSignInLink(w http.ResponseWriter, r *http.Request) error {
	link, err := a.d.Records.SendSignInLink(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, newLinkResponse(link))
}

func (a *API) search(w http.ResponseWriter, r *http.Request) error {
	var req searchRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	ps, err := a.d.Records.Search(r.Context(), httpx.Session(r).Subject, req.By, req.Query, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, ps)
}

func (a *API) record(w http.ResponseWriter, r *http.Request) error {
	rec, err := a.d.Records.Get(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, rec)
}

func (a *API) addNote(w http.ResponseWriter, r *http.Request) error {
	var req noteRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	id, err := a.d.Records.AddNote(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req.Body, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, idResponse{id})
}

func (a *API) myRecord(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r).Subject
	rec, err := a.d.Records.Get(r.Context(), s, s.PatientID, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, rec)
}

// updateMyContact changes the signed-in patient's phone number and e-mail address. The door
// decides before the body is read: staff have no record of their own to change.
func (a *API) updateMyContact(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r).Subject
	if err := a.d.Admit(r.Context(), s, "record.contact-update", s.PatientID, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	var req clinical.Contact
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	done, err := a.d.Records.UpdateContact(r.Context(), s, s.PatientID, req, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, done)
}
