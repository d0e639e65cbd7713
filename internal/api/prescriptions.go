package api

import (
	"net/http"

	"haven/internal/clinical"
	"haven/internal/clinical/rx"
	"haven/internal/httpx"
	"haven/internal/rxprint"
)

type (
	prescriptionRequest struct {
		// PatientID names the patient (on a new draft only).
		PatientID string `json:"patientId,omitempty"`
		rx.Content
	}
	prescriptionCodeRequest struct {
		// Code is the verification code printed on the prescription.
		Code string `json:"code"`
	}
)

var rxParam = []Param{{Name: "id", In: "path", Required: true, Description: "prescription identifier"}}

// prescriptionRoutes: a clinician writes, reviews, signs, cancels and renews; the patient and
// the prescriber print; a pharmacy checks and dispenses with the printed code (public).
func (a *API) prescriptionRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/prescriptions", OperationID: "writePrescription", Summary: "Start a draft prescription for a patient in the caller's care (the answer carries the review's warnings)", Tag: "prescriptions",
			Request: prescriptionRequest{}, Response: clinical.Prescription{}, Status: http.StatusCreated, Handler: a.writePrescription},
		{Method: "GET", Path: "/prescriptions", OperationID: "listPrescriptions", Summary: "A patient's prescriptions, newest first (a patient their own: patientId may be left out)", Tag: "prescriptions",
			Query: []Param{{Name: "patientId", In: "query", Description: "the patient"}}, Response: []clinical.Prescription{}, Handler: a.listPrescriptions},
		{Method: "GET", Path: "/prescriptions/{id}", OperationID: "getPrescription", Summary: "One prescription with its review: warnings of a listed allergy or a duplicate of a current medication", Tag: "prescriptions",
			Query: rxParam, Response: clinical.Prescription{}, Handler: a.getPrescription},
		{Method: "PUT", Path: "/prescriptions/{id}", OperationID: "updatePrescription", Summary: "Change a draft (a signed prescription is never changed: 409); the answer carries the review's warnings", Tag: "prescriptions",
			Query: rxParam, Request: prescriptionRequest{}, Response: clinical.Prescription{}, Handler: a.updatePrescription},
		{Method: "POST", Path: "/prescriptions/{id}/signing", OperationID: "beginPrescriptionSigning", Summary: "Begin signing a draft: WebAuthn request options whose challenge is the prescription's digest (method passkey), or method key when the prescriber has no passkey", Tag: "prescriptions",
			Query: rxParam, Response: clinical.SigningStart{}, Handler: a.beginPrescriptionSigning},
		{Method: "POST", Path: "/prescriptions/{id}/signature", OperationID: "signPrescription", Summary: "Sign a draft: the passkey's assertion (a user-verified assertion is the step-up), or method key after a second factor in the last five minutes; a controlled substance needs the passkey. The one-time verification code is in the answer and on the printable", Tag: "prescriptions",
			Query: rxParam, Request: clinical.SignRequest{}, Response: clinical.Signed{}, Handler: a.signPrescription},
		{Method: "POST", Path: "/prescriptions/{id}/cancellation", OperationID: "cancelPrescription", Summary: "Cancel a draft or a signed prescription: a pharmacy's check then answers cancelled", Tag: "prescriptions",
			Query: rxParam, Response: okResponse{}, Handler: a.cancelPrescription},
		{Method: "POST", Path: "/prescriptions/{id}/renewal", OperationID: "renewPrescription", Summary: "Renew a signed or dispensed prescription as a new draft with the same content", Tag: "prescriptions",
			Query: rxParam, Response: clinical.Prescription{}, Status: http.StatusCreated, Handler: a.renewPrescription},
		{Method: "GET", Path: "/prescriptions/{id}/printable", OperationID: "getPrescriptionPrintable", Summary: "The printable prescription (HTML) with its QR code and verification code: its patient or its prescriber", Tag: "prescriptions",
			Query: rxParam, Response: "", Handler: a.prescriptionPrintable},
		{Method: "GET", Path: "/prescriptions/{id}/pdf", OperationID: "getPrescriptionPDF", Summary: "The printable prescription as a PDF: its patient or its prescriber", Tag: "prescriptions",
			Query: rxParam, Response: "", Handler: a.prescriptionPDF},
		{Method: "GET", Path: "/prescriptions/{id}/verification", OperationID: "verifyPrescription", Summary: "A pharmacy checks a prescription with its printed code: valid, cancelled or dispensed, whether the signature verifies, and the printed lines (patient by initials). A wrong code is 404, as an unknown prescription; throttled per address and per prescription", Tag: "prescriptions",
			Public: true, Query: append([]Param{{Name: "code", In: "query", Required: true, Description: "the printed verification code"}}, rxParam...), Response: clinical.Verification{}, Handler: a.verifyPrescription},
		{Method: "POST", Path: "/prescriptions/{id}/dispense", OperationID: "dispensePrescription", Summary: "A pharmacy marks a prescription dispensed with its printed code, once (409 the second time); throttled like the check", Tag: "prescriptions",
			Public: true, Query: rxParam, Request: prescriptionCodeRequest{}, Response: okResponse{}, Handler: a.dispensePrescription},
	}
}

func (a *API) writePrescription(w http.ResponseWriter, r *http.Request) error {
	var req prescriptionRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	p, err := a.d.Prescriptions.Write(r.Context(), httpx.Session(r).Subject, req.PatientID, req.Content, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	// The answer is the draft with its review.
	if p, err = a.d.Prescriptions.Get(r.Context(), httpx.Session(r).Subject, p.ID, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, p)
}

func (a *API) listPrescriptions(w http.ResponseWriter, r *http.Request) error {
	s := httpx.Session(r).Subject
	patientID := r.URL.Query().Get("patientId")
	if patientID == "" {
		patientID = s.PatientID
	}
	ps, err := a.d.Prescriptions.List(r.Context(), s, patientID, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, ps)
}

func (a *API) getPrescription(w http.ResponseWriter, r *http.Request) error {
	p, err := a.d.Prescriptions.Get(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, p)
}

func (a *API) updatePrescription(w http.ResponseWriter, r *http.Request) error {
	var req prescriptionRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	p, err := a.d.Prescriptions.Update(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req.Content, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, p)
}

func (a *API) beginPrescriptionSigning(w http.ResponseWriter, r *http.Request) error {
	st, err := a.d.Prescriptions.BeginSigning(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, st)
}

func (a *API) signPrescription(w http.ResponseWriter, r *http.Request) error {
	var req clinical.SignRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	s, err := a.d.Prescriptions.Sign(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return httpx.WriteJSON(w, http.StatusOK, s)
}

func (a *API) cancelPrescription(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Prescriptions.Cancel(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{OK: true})
}

func (a *API) renewPrescription(w http.ResponseWriter, r *http.Request) error {
	p, err := a.d.Prescriptions.Renew(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, p)
}

func (a *API) paper(r *http.Request) (rxprint.Paper, error) {
	p, err := a.d.Prescriptions.Printable(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return rxprint.Paper{}, httpx.FromDomain(err)
	}
	return rxprint.New(p, a.d.BaseURL, a.d.Zone)
}

func (a *API) prescriptionPrintable(w http.ResponseWriter, r *http.Request) error {
	p, err := a.paper(r)
	if err != nil {
		return err
	}
	doc, err := p.HTML()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	_, err = w.Write(doc)
	return err
}

func (a *API) prescriptionPDF(w http.ResponseWriter, r *http.Request) error {
	p, err := a.paper(r)
	if err != nil {
		return err
	}
	doc, err := p.PDF()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="prescription.pdf"`)
	w.Header().Set("Cache-Control", "private, no-store")
	_, err = w.Write(doc)
	return err
}

func (a *API) verifyPrescription(w http.ResponseWriter, r *http.Request) error {
	v, err := a.d.Prescriptions.Verify(r.Context(), r.PathValue("id"), r.URL.Query().Get("code"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return httpx.WriteJSON(w, http.StatusOK, v)
}

func (a *API) dispensePrescription(w http.ResponseWriter, r *http.Request) error {
	var req prescriptionCodeRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := a.d.Prescriptions.Dispense(r.Context(), r.PathValue("id"), req.Code, httpx.Origin(r)); err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{OK: true})
}
