package web

import (
	"net/http"
	"net/url"

	"haven/internal/principal"
	"haven/internal/visits"
)

// The consultation's pages: the call, the visit chat and the safety numbers on a visit's page,
// and secure messaging between a patient and their care team. Everything these pages carry is
// end to end encrypted by the browser (static/consult/, docs/e2ee.md): the server renders the
// frame and names the thread, the visit and the reader; it never sees a key, a message or a
// frame in clear. The pages name no person's keys either: the browser asks the key directory and
// checks its proofs itself.

func (u *UI) consultRoutes() []route {
	return []route{
		{"GET /patient/messages", u.patientMessages},
		{"GET /clinician/patients/{id}/messages", u.clinicianMessages},
	}
}

// consultView is what the browser's consultation modules need from the page: which visit or
// thread, and who is reading (their account id, to find themselves in the directory). Nothing
// here is secret: the same ids are in the page's addresses and the API's answers.
type consultView struct {
	VisitID string
	Thread  string // "visit.<id>" or "patient.<id>"
	Account string
	Role    principal.Role
	// Keys is the key directory's address for the thread's members (docs/e2ee.md section 1).
	Keys string
	// PatientID names the patient whose record a clinician may file a message into.
	PatientID string
}

// visitConsult is the call and chat panel of a visit's page, for a visit in progress or about
// to be (the pre-call check); none once it is over.
func visitConsult(by principal.Subject, v visits.Visit) *consultView {
	switch v.State {
	case visits.StateBooked, visits.StateWaiting, visits.StateInProgress:
	default:
		return nil
	}
	c := &consultView{VisitID: v.ID, Thread: "visit." + v.ID, Account: by.AccountID, Role: by.Role,
		Keys: "/api/v1/visits/" + url.PathEscape(v.ID) + "/keys"}
	if by.Role == principal.Clinician {
		c.PatientID = v.PatientID
	}
	return c
}

// messagesData is the secure-messaging page.
type messagesData struct {
	Consult consultView
	// Record is the patient's record page (the clinician's way back), or "".
	Record string
}

// patientMessages is a patient's secure messaging with their care team.
func (u *UI) patientMessages(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	by, err := u.admit(r, "message.read", s.Subject.PatientID, "/patient/messages")
	if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "messages", page{Title: "Messages with your care team", Data: messagesData{Consult: threadView(by, by.PatientID)}})
}

// clinicianMessages is a patient's thread as a member of their care team reads it, with the
// way to file a message into the record.
func (u *UI) clinicianMessages(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	record := "/clinician/patients/" + url.PathEscape(id)
	if _, err := signedIn(r, principal.Clinician, principal.Nurse); err != nil {
		return err
	}
	by, err := u.admit(r, "message.read", id, record+"/messages")
	if err != nil {
		return err
	}
	c := threadView(by, id)
	c.PatientID = id
	return u.render(w, r, http.StatusOK, "messages", page{Title: "Secure messages", Data: messagesData{Consult: c, Record: record}})
}

// threadView is a patient's secure-messaging thread for its reader.
func threadView(by principal.Subject, patientID string) consultView {
	return consultView{Thread: "patient." + patientID, Account: by.AccountID, Role: by.Role,
		Keys: "/api/v1/patients/" + url.PathEscape(patientID) + "/thread/keys"}
}
