package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/principal"
)

type clinicianData struct {
	Patients []clinical.Patient
	Search   *searchData
}

type searchData struct {
	By      string
	Query   string
	Results []clinical.Patient
}

func (u *UI) clinician(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Clinician, principal.Nurse)
	if err != nil {
		return err
	}
	ps, err := u.d.Records.MyPatients(r.Context(), by, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return u.render(w, r, http.StatusOK, "clinician", page{Title: "My patients", Data: clinicianData{Patients: ps}})
}

// errEmptySearch answers a search with nothing to search for.
var errEmptySearch = fault.New(fault.Invalid, "enter a name, phone or date of birth to search")

// search is a POST so that the PHI typed into it stays out of URLs, history and access logs.
func (u *UI) search(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "patient.search", "", "/clinician")
	if err != nil {
		return err
	}
	sd := &searchData{By: r.PostFormValue("by"), Query: r.PostFormValue("q")}
	results, serr := u.d.Records.Search(r.Context(), by, clinical.SearchKind(sd.By), sd.Query, httpx.Origin(r))
	ps, err := u.d.Records.MyPatients(r.Context(), by, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	d := clinicianData{Patients: ps, Search: sd}
	if serr != nil {
		if strings.TrimSpace(sd.Query) == "" {
			serr = errEmptySearch
		}
		return u.formPage(w, r, "clinician", "My patients", d, serr)
	}
	sd.Results = results
	return u.render(w, r, http.StatusOK, "clinician", page{Title: "Search results", Data: d})
}

type registerData struct {
	In        clinical.NewPatient
	PatientID string
	Notice    *linkNotice // the activation link: e-mailed, or shown once
	// Duplicate asks the clinician to confirm a registration whose name and birth date are on
	// a record already: the records in their care are linked, others only said to exist.
	Duplicate *clinical.Duplicate
}

func (u *UI) registerForm(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, principal.Clinician); err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "register", page{Title: "Register a patient", Data: registerData{}})
}

func (u *UI) register(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "patient.register", "", "/clinician/patients/new")
	if err != nil {
		return err
	}
	in := clinical.NewPatient{Name: r.PostFormValue("name"), BirthDate: r.PostFormValue("birthDate"),
		Phone: r.PostFormValue("phone"), Email: r.PostFormValue("email"), ConfirmDuplicate: r.PostFormValue("confirmDuplicate") == "true"}
	reg, err := u.d.Records.Register(r.Context(), by, in, httpx.Origin(r))
	if dup := (*clinical.Duplicate)(nil); errors.As(err, &dup) {
		return u.render(w, r, http.StatusConflict, "register", page{Title: "Register a patient", Data: registerData{In: in, Duplicate: dup}})
	}
	if err != nil {
		return u.formPage(w, r, "register", "Register a patient", registerData{In: in}, err)
	}
	d := registerData{PatientID: reg.PatientID, Notice: &linkNotice{Heading: "Activation link for the patient",
		Who: "the patient", Link: reg.Invite, Lifetime: "72 hours"}}
	return u.render(w, r, http.StatusCreated, "registered", page{Title: "Patient registered", Data: d})
}

// sendSignInLink issues a patient in the clinician's care a password-reset link.
func (u *UI) sendSignInLink(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	by, err := u.admit(r, "patient.sign-in-link", id, "/clinician/patients/"+id)
	if err != nil {
		return err
	}
	link, err := u.d.Records.SendSignInLink(r.Context(), by, id, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	d := registerData{PatientID: id, Notice: &linkNotice{Heading: "Sign-in link for the patient", Who: "the patient", Link: link, Lifetime: "30 minutes"}}
	return u.render(w, r, http.StatusOK, "signinlink", page{Title: "Sign-in link", Data: d})
}

type recordData struct {
	Record clinical.Record
	Note   string
	// The structured record (record_items.go): its summary in words, whether the reader is a
	// nurse (no problem or note forms), and a failed form's values and kind.
	Items    recordItems
	Nurse    bool
	Form     url.Values
	FormKind string
}

// record is the record page, for a clinician or a nurse: the door decides which records.
func (u *UI) record(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Clinician, principal.Nurse)
	if err != nil {
		return err
	}
	return u.recordPage(w, r, by, r.PathValue("id"), http.StatusOK, page{}, recordData{})
}

func (u *UI) addNote(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	by, err := u.admit(r, "note.write", id, "/clinician/patients/"+url.PathEscape(id))
	if err != nil {
		return err
	}
	if _, nerr := u.d.Records.AddNote(r.Context(), by, id, r.PostFormValue("body"), httpx.Origin(r)); nerr != nil {
		msg, ferr := formError(nerr)
		if ferr != nil {
			return httpx.FromDomain(nerr)
		}
		return u.recordPage(w, r, by, id, http.StatusUnprocessableEntity, page{Error: msg}, recordData{Note: r.PostFormValue("body")})
	}
	return goTo("/clinician/patients/" + url.PathEscape(id))
}
