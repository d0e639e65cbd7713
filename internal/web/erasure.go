package web

import (
	"net/http"
	"strings"

	"haven/internal/fault"
	"haven/internal/governance"
	"haven/internal/httpx"
	"haven/internal/principal"
)

// The privacy officer's governance page (erasure requests, legal holds) and the patient's
// "Ask to erase my record" confirmation. The acts themselves are governance's, through the door.

type governanceData struct {
	Requests []governance.ErasureRequest
	Holds    []governance.Hold
	Reasons  []string
	Done     string
	// Names are the patients' names by identifier (each one named is recorded in their access
	// log); an erased record has none.
	Names map[string]string
}

// ErrNoSuchPatient and ErrManyPatients answer a patient's name on the forms that find no one,
// or more than one.
var (
	errNoSuchPatient = fault.InvalidField("patient", "no patient has this name: check the spelling, or search the audit trail by name first")
	errManyPatients  = fault.InvalidField("patient", "more than one patient has this name: add more of it, such as the family name in full")
)

// patientNamed finds the one patient the form's name field names.
func (u *UI) patientNamed(r *http.Request, by principal.Subject) (string, error) {
	name := strings.TrimSpace(r.PostFormValue("patient"))
	if name == "" {
		return "", fault.InvalidField("patient", "enter the patient's name")
	}
	ids, err := u.d.Records.PatientsNamed(r.Context(), by, name, httpx.Origin(r))
	switch {
	case err != nil:
		return "", err
	case len(ids) == 0:
		return "", errNoSuchPatient
	case len(ids) > 1:
		return "", errManyPatients
	}
	return ids[0], nil
}

type erasureData struct{ Sent bool }

func (u *UI) erasureRoutes() []route {
	return []route{
		{"GET /auditor/governance", u.governancePage},
		{"POST /auditor/erasure-requests", u.recordErasureRequest},
		{"POST /auditor/erasure-requests/{id}/approve", u.approveErasure},
		{"POST /auditor/erasure-requests/{id}/refuse", u.refuseErasure},
		{"POST /auditor/legal-holds", u.placeLegalHold},
		{"POST /auditor/legal-holds/{id}/lift", u.liftLegalHold},
		{"GET /patient/erasure", u.erasureForm},
		{"POST /patient/erasure", u.requestErasure},
	}
}

var governanceDone = map[string]string{
	"requested": "The erasure request is recorded.",
	"approved":  "The record was erased: it can no longer be opened, here or from any backup.",
	"refused":   "The request is refused: nothing was destroyed.",
	"held":      "The legal hold is placed: nothing of this patient is purged or erased while it holds.",
	"lifted":    "The legal hold is lifted.",
}

func (u *UI) governanceData(r *http.Request, by principal.Subject) (governanceData, error) {
	reqs, err := u.d.Governance.ErasureRequests(r.Context(), by, httpx.Origin(r))
	if err != nil {
		return governanceData{}, err
	}
	holds, err := u.d.Governance.Holds(r.Context(), by, httpx.Origin(r))
	if err != nil {
		return governanceData{}, err
	}
	var ids []string
	for _, q := range reqs {
		if q.State == governance.ErasureRequested {
			ids = append(ids, q.PatientID)
		}
	}
	for _, h := range holds {
		ids = append(ids, h.PatientID)
	}
	names, err := u.d.Records.PatientNames(r.Context(), by, ids, httpx.Origin(r))
	if err != nil {
		return governanceData{}, err
	}
	return governanceData{Requests: reqs, Holds: holds, Reasons: governance.HoldReasons(), Names: names,
		Done: governanceDone[r.URL.Query().Get("done")]}, nil
}

func (u *UI) governancePage(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Auditor)
	if err != nil {
		return err
	}
	d, err := u.governanceData(r, s.Subject)
	if err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "governance", page{Title: "Erasure and legal holds", Data: d})
}

// governanceAct runs act for the privacy officer and goes back to the page, or shows the page
// again with the error in words. A step-up the act needs sends them to confirm it first.
func (u *UI) governanceAct(w http.ResponseWriter, r *http.Request, action, done string, act func(by principal.Subject) error) error {
	if _, err := require(r, principal.Auditor); err != nil {
		return err
	}
	by, err := u.admit(r, action, "", "/auditor/governance")
	if err != nil {
		return err
	}
	if err := act(by); err != nil {
		d, derr := u.governanceData(r, by)
		if derr != nil {
			return derr
		}
		return u.formPage(w, r, "governance", "Erasure and legal holds", d, err)
	}
	return goTo("/auditor/governance?done=" + done)
}

func (u *UI) recordErasureRequest(w http.ResponseWriter, r *http.Request) error {
	return u.governanceAct(w, r, "erasure.request", "requested", func(by principal.Subject) error {
		id, err := u.patientNamed(r, by)
		if err != nil {
			return err
		}
		_, err = u.d.Governance.RequestErasure(r.Context(), by, id, httpx.Origin(r))
		return err
	})
}

func (u *UI) approveErasure(w http.ResponseWriter, r *http.Request) error {
	return u.governanceAct(w, r, "erasure.approve", "approved", func(by principal.Subject) error {
		return u.d.Governance.ApproveErasure(r.Context(), by, r.PathValue("id"), httpx.Origin(r))
	})
}

func (u *UI) refuseErasure(w http.ResponseWriter, r *http.Request) error {
	return u.governanceAct(w, r, "erasure.refuse", "refused", func(by principal.Subject) error {
		return u.d.Governance.RefuseErasure(r.Context(), by, r.PathValue("id"), httpx.Origin(r))
	})
}

func (u *UI) placeLegalHold(w http.ResponseWriter, r *http.Request) error {
	return u.governanceAct(w, r, "legalhold.set", "held", func(by principal.Subject) error {
		id, err := u.patientNamed(r, by)
		if err != nil {
			return err
		}
		return u.d.Governance.PlaceHold(r.Context(), by, id, r.PostFormValue("reason"), httpx.Origin(r))
	})
}

func (u *UI) liftLegalHold(w http.ResponseWriter, r *http.Request) error {
	return u.governanceAct(w, r, "legalhold.set", "lifted", func(by principal.Subject) error {
		return u.d.Governance.LiftHold(r.Context(), by, r.PathValue("id"), httpx.Origin(r))
	})
}

// erasureForm says, in words, what an erasure destroys and what the law makes Haven keep.
func (u *UI) erasureForm(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, principal.Patient); err != nil {
		return err
	}
	return u.render(w, r, http.StatusOK, "erasure", page{Title: "Ask to erase your record", Data: erasureData{}})
}

func (u *UI) requestErasure(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	if r.PostFormValue("confirm") != "yes" {
		return goTo("/patient/erasure")
	}
	if _, err := u.d.Governance.RequestErasure(r.Context(), s.Subject, s.Subject.PatientID, httpx.Origin(r)); err != nil {
		return u.formPage(w, r, "erasure", "Ask to erase your record", erasureData{}, err)
	}
	return u.render(w, r, http.StatusOK, "erasure", page{Title: "Your request is sent", Data: erasureData{Sent: true}})
}

// holdReasonLabel is a legal hold's reason in words.
func holdReasonLabel(reason string) string {
	switch reason {
	case "litigation":
		return "Litigation"
	case "investigation":
		return "Investigation"
	case "regulator":
		return "A regulator's request"
	}
	return "Other"
}
