package api

import (
	"net/http"

	"haven/internal/billing"
	"haven/internal/httpx"
)

// chargeRoutes are billing's: a charge per visit, read by its patient, the care team and the
// billing role, and exported for a billing system (step-up).
func (a *API) chargeRoutes() []Route {
	charge := []Param{{Name: "id", In: "path", Required: true, Description: "charge identifier"}}
	filter := []Param{
		{Name: "status", In: "query", Description: "only charges in this status: draft, submitted, paid, denied or void"},
		{Name: "patientId", In: "query", Description: "only this patient's charges (a patient always sees only their own)"},
		{Name: "from", In: "query", Description: "only visits from this time (RFC 3339)"},
		{Name: "to", In: "query", Description: "only visits before this time (RFC 3339)"},
	}
	return []Route{
		{Method: "GET", Path: "/charges", OperationID: "listCharges", Summary: "Charges, newest visit first: the billing role's whole clinic, a clinician's patients in their care, a patient their own once billed (not drafts or void ones)", Tag: "billing",
			Query: filter, Response: []billing.Charge{}, Handler: a.listCharges},
		{Method: "POST", Path: "/charges", OperationID: "createCharge", Summary: "Record the charge for a visit that ended (a draft): procedure codes (CPT or HCPCS, e.g. 99213), diagnosis codes (ICD-10-CM, e.g. J06.9), amount in minor units (cents); 409 if the visit has not ended or already has a live charge", Tag: "billing",
			Request: billing.NewCharge{}, Response: billing.Charge{}, Status: http.StatusCreated, Handler: a.createCharge},
		{Method: "GET", Path: "/charges/export", OperationID: "exportCharges", Summary: "Export charges for the billing system (needs a recent step-up): format=csv (one row per charge) or format=fhir (a FHIR R4 Bundle of Claims); all but void charges unless status says", Tag: "billing",
			Query: append([]Param{{Name: "format", In: "query", Required: true, Description: "csv or fhir"}}, filter...), Response: "", Handler: a.exportCharges},
		{Method: "GET", Path: "/charges/{id}", OperationID: "getCharge", Summary: "One charge", Tag: "billing",
			Query: charge, Response: billing.Charge{}, Handler: a.getCharge},
		{Method: "PATCH", Path: "/charges/{id}", OperationID: "updateCharge", Summary: "Change a charge's status (draft → submitted → paid or denied; void; denied back to draft), or a draft's codes, amount or note; 409 for a move its life does not allow", Tag: "billing",
			Query: charge, Request: billing.Change{}, Response: billing.Charge{}, Handler: a.updateCharge},
	}
}

func chargeFilter(r *http.Request) (billing.Filter, error) {
	from, to, err := period(r)
	if err != nil {
		return billing.Filter{}, err
	}
	q := r.URL.Query()
	return billing.Filter{Status: billing.Status(q.Get("status")), PatientID: q.Get("patientId"), From: from, To: to}, nil
}

func (a *API) listCharges(w http.ResponseWriter, r *http.Request) error {
	f, err := chargeFilter(r)
	if err != nil {
		return err
	}
	cs, err := a.d.Billing.List(r.Context(), httpx.Session(r).Subject, f, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, cs)
}

func (a *API) createCharge(w http.ResponseWriter, r *http.Request) error {
	var req billing.NewCharge
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	c, err := a.d.Billing.Create(r.Context(), httpx.Session(r).Subject, req, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusCreated, c)
}

func (a *API) getCharge(w http.ResponseWriter, r *http.Request) error {
	c, err := a.d.Billing.Get(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, c)
}

func (a *API) updateCharge(w http.ResponseWriter, r *http.Request) error {
	var req billing.Change
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return err
	}
	c, err := a.d.Billing.Update(r.Context(), httpx.Session(r).Subject, r.PathValue("id"), req, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return httpx.WriteJSON(w, http.StatusOK, c)
}

// exportCharges answers the file as an attachment, never cached.
func (a *API) exportCharges(w http.ResponseWriter, r *http.Request) error {
	f, err := chargeFilter(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	out, media, err := a.d.Billing.Export(r.Context(), httpx.Session(r).Subject, f, format, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	name := "charges.csv"
	if format == billing.FormatFHIR {
		name = "claims.json"
	}
	w.Header().Set("Content-Type", media)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(out)
	return err
}
