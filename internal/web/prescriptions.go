package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"haven/internal/clinical"
	"haven/internal/clinical/rx"
	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/principal"
)

// Prescribing: a clinician lists a patient's prescriptions and starts a draft; the draft's page
// shows the review's warnings first, lets the clinician change it, sign it with their passkey
// (static/rxsign.js) or with Haven's key after a fresh code, cancel or renew it. The patient
// sees theirs on a phone and opens the printable version; a pharmacy checks one at /rx/{id}
// (static/rxcheck.js), a public page that sends nothing until the pharmacist asks.

func (u *UI) prescriptionRoutes() []route {
	return []route{
		{"GET /clinician/patients/{id}/prescriptions", u.rxList},
		{"POST /clinician/patients/{id}/prescriptions", u.rxCreate},
		{"GET /clinician/prescriptions/{id}", u.rxPage},
		{"POST /clinician/prescriptions/{id}", u.rxUpdate},
		{"POST /clinician/prescriptions/{id}/sign", u.rxSignKey},
		{"POST /clinician/prescriptions/{id}/cancel", u.rxCancel},
		{"POST /clinician/prescriptions/{id}/renew", u.rxRenew},
		{"GET /patient/prescriptions", u.patientRx},
		{"GET /rx/{id}", u.rxCheck},
	}
}

func rxPath(id string) string { return "/clinician/prescriptions/" + url.PathEscape(id) }

type rxListData struct {
	// Prescriber: the reader may write prescriptions (a clinician; a nurse reads them).
	Prescriber    bool
	PatientID     string
	Prescriptions []clinical.Prescription
	Form          rx.Content
}

type rxPageData struct {
	Prescriber bool
	Rx         clinical.Prescription
	Form       rx.Content
	// Code is the verification code, shown once right after a signature with the key.
	Code string
}

// rxForm reads a prescription's fields.
func rxForm(r *http.Request) (rx.Content, error) {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	c := rx.Content{Medication: f("medication"), Code: f("code"), Strength: f("strength"), Form: f("form"), Dose: f("dose"),
		Route: f("route"), Frequency: f("frequency"), Quantity: f("quantity"), Notes: f("notes"), Schedule: f("schedule")}
	if s := f("refills"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return c, fault.InvalidField("refills", "write the number of refills, 0 to 12")
		}
		c.Refills = n
	}
	return c, nil
}

func (u *UI) rxList(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Clinician, principal.Nurse)
	if err != nil {
		return err
	}
	pid := r.PathValue("id")
	ps, err := u.d.Prescriptions.List(r.Context(), by, pid, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return u.render(w, r, http.StatusOK, "prescriptions", page{Title: "Prescriptions", Data: rxListData{Prescriber: by.Role == principal.Clinician, PatientID: pid, Prescriptions: ps}})
}

func (u *UI) rxCreate(w http.ResponseWriter, r *http.Request) error {
	pid := r.PathValue("id")
	by, err := u.admit(r, "prescription.write", pid, "/clinician/patients/"+url.PathEscape(pid)+"/prescriptions")
	if err != nil {
		return err
	}
	c, err := rxForm(r)
	if err == nil {
		var p clinical.Prescription
		if p, err = u.d.Prescriptions.Write(r.Context(), by, pid, c, httpx.Origin(r)); err == nil {
			return goTo(rxPath(p.ID))
		}
	}
	msg, ferr := formError(err)
	if ferr != nil {
		return ferr
	}
	ps, lerr := u.d.Prescriptions.List(r.Context(), by, pid, httpx.Origin(r))
	if lerr != nil {
		return httpx.FromDomain(lerr)
	}
	return u.render(w, r, http.StatusUnprocessableEntity, "prescriptions", page{Title: "Prescriptions", Error: msg, ErrorField: faultField(err),
		Data: rxListData{Prescriber: true, PatientID: pid, Prescriptions: ps, Form: c}})
}

func (u *UI) rxShow(w http.ResponseWriter, r *http.Request, by principal.Subject, status int, form *rx.Content, code, msg, field string) error {
	p, err := u.d.Prescriptions.Get(r.Context(), by, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	d := rxPageData{Prescriber: by.Role == principal.Clinician, Rx: p, Form: p.Content, Code: code}
	if form != nil {
		d.Form = *form
	}
	return u.render(w, r, status, "prescription", page{Title: rxTitle(p), Error: msg, ErrorField: field, Data: d})
}

func rxTitle(p clinical.Prescription) string {
	switch p.Status {
	case clinical.RxDraft:
		return "Draft prescription"
	case clinical.RxCancelled:
		return "Cancelled prescription"
	case clinical.RxDispensed:
		return "Dispensed prescription"
	}
	return "Signed prescription"
}

func (u *UI) rxPage(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Clinician, principal.Nurse)
	if err != nil {
		return err
	}
	return u.rxShow(w, r, by, http.StatusOK, nil, "", "", "")
}

// rxAct runs a clinician's act on the prescription in the path and shows its page again, with
// a refusal the clinician can act on in words; a missing step-up goes to confirm it first.
func (u *UI) rxAct(w http.ResponseWriter, r *http.Request, act func(by principal.Subject, id string) (string, error)) error {
	by, err := signedIn(r, principal.Clinician)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	to, aerr := act(by, id)
	if aerr == nil {
		return goTo(to)
	}
	if fault.Is(aerr, fault.StepUpRequired) {
		return stepUpFirst(rxPath(id))
	}
	msg, ferr := formError(aerr)
	if ferr != nil {
		return ferr
	}
	return u.rxShow(w, r, by, http.StatusUnprocessableEntity, nil, "", msg, faultField(aerr))
}

func (u *UI) rxUpdate(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Clinician)
	if err != nil {
		return err
	}
	c, err := rxForm(r)
	if err == nil {
		if _, err = u.d.Prescriptions.Update(r.Context(), by, r.PathValue("id"), c, httpx.Origin(r)); err == nil {
			return goTo(rxPath(r.PathValue("id")))
		}
	}
	msg, ferr := formError(err)
	if ferr != nil {
		return ferr
	}
	return u.rxShow(w, r, by, http.StatusUnprocessableEntity, &c, "", msg, faultField(err))
}

func (u *UI) rxSignKey(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Clinician)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	s, err := u.d.Prescriptions.Sign(r.Context(), by, id, clinical.SignRequest{Method: clinical.SignKey}, httpx.Origin(r))
	if fault.Is(err, fault.StepUpRequired) {
		return stepUpFirst(rxPath(id))
	}
	if err != nil {
		msg, ferr := formError(err)
		if ferr != nil {
			return ferr
		}
		return u.rxShow(w, r, by, http.StatusUnprocessableEntity, nil, "", msg, "")
	}
	return u.rxShow(w, r, by, http.StatusOK, nil, s.Code, "", "")
}

func (u *UI) rxCancel(w http.ResponseWriter, r *http.Request) error {
	return u.rxAct(w, r, func(by principal.Subject, id string) (string, error) {
		return rxPath(id), u.d.Prescriptions.Cancel(r.Context(), by, id, httpx.Origin(r))
	})
}

func (u *UI) rxRenew(w http.ResponseWriter, r *http.Request) error {
	return u.rxAct(w, r, func(by principal.Subject, id string) (string, error) {
		p, err := u.d.Prescriptions.Renew(r.Context(), by, id, httpx.Origin(r))
		return rxPath(p.ID), err
	})
}

func (u *UI) patientRx(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Patient)
	if err != nil {
		return err
	}
	ps, err := u.d.Prescriptions.List(r.Context(), by, by.PatientID, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	var shown []clinical.Prescription
	for _, p := range ps {
		if p.Status != clinical.RxDraft { // a draft is the prescriber's until signed
			shown = append(shown, p)
		}
	}
	return u.render(w, r, http.StatusOK, "patientrx", page{Title: "Your prescriptions", Data: shown})
}

// rxCheck is the pharmacy's page. It shows a form; the code comes from the QR code's fragment
// (never sent to the server with the page) or is typed, and the module asks the API.
func (u *UI) rxCheck(w http.ResponseWriter, r *http.Request) error {
	return u.render(w, r, http.StatusOK, "rxcheck", page{Title: "Check a prescription", Data: r.PathValue("id")})
}
