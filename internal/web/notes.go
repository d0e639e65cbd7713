package web

import (
	"net/http"
	"net/url"
	"strings"

	"haven/internal/clinical"
	"haven/internal/httpx"
	"haven/internal/principal"
)

// Visit notes on the clinician's pages: the visit page's sections saved as a draft (ended and
// signed with the visit), and an addendum to a signed note from the record page.

func (u *UI) noteRoutes() []route {
	return []route{
		{"POST /visits/{id}/note", u.saveVisitNote},
		{"POST /clinician/patients/{id}/addenda", u.addAddendum},
	}
}

// noteForm reads the visit note's sections from the visit page's form; the summary is the plan.
func noteForm(r *http.Request) clinical.VisitNote {
	return clinical.VisitNote{SOAP: clinical.SOAP{Subjective: strings.TrimSpace(r.PostFormValue("subjective")),
		Objective: strings.TrimSpace(r.PostFormValue("objective")), Assessment: strings.TrimSpace(r.PostFormValue("assessment")),
		Plan: strings.TrimSpace(r.PostFormValue("summary"))}, Category: r.PostFormValue("category")}
}

// formNote is what a refused form typed, to show again.
func formNote(n clinical.VisitNote) clinical.Note {
	soap := n.SOAP
	return clinical.Note{SOAP: &soap, Category: n.Category}
}

// visitNote is the visit's draft note for its page, or none yet.
func (u *UI) visitNote(r *http.Request, by principal.Subject, visitID string) (clinical.Note, error) {
	n, err := u.d.Visits.Note(r.Context(), by, visitID, httpx.Origin(r))
	if isNotFound(err) {
		return clinical.Note{}, nil
	}
	if err != nil {
		return clinical.Note{}, httpx.FromDomain(err)
	}
	return n, nil
}

func (u *UI) saveVisitNote(w http.ResponseWriter, r *http.Request) error {
	n := noteForm(r)
	summary := r.PostFormValue("summary")
	return u.visitAct(w, r, principal.Clinician, "note.write", func(by principal.Subject, id string) error {
		_, err := u.d.Visits.SaveNote(r.Context(), by, id, n, httpx.Origin(r))
		return err
	}, func(d *visitData) { d.Summary, d.Note = summary, formNote(n) })
}

func (u *UI) addAddendum(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	back := "/clinician/patients/" + url.PathEscape(id)
	by, err := u.admit(r, "note.addendum", id, back)
	if err != nil {
		return err
	}
	if _, aerr := u.d.Records.AddAddendum(r.Context(), by, r.PostFormValue("note"), r.PostFormValue("body"), httpx.Origin(r)); aerr != nil {
		msg, ferr := formError(aerr)
		if ferr != nil {
			return ferr
		}
		rec, err := u.d.Records.Get(r.Context(), by, id, httpx.Origin(r))
		if err != nil {
			return httpx.FromDomain(err)
		}
		return u.render(w, r, http.StatusUnprocessableEntity, "record", page{Title: "Patient record", Error: msg, Data: recordData{Record: rec}})
	}
	return goTo(back + "#notes-heading")
}
