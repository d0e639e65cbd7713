package api

import (
	"net/http"

	"haven/internal/fhir"
	"haven/internal/governance/compliance"
	"haven/internal/httpx"
)

// governanceRoutes: the patient's own export (step-up) and the compliance report
// (administrators and the privacy officer).
func (a *API) governanceRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/me/export", OperationID: "exportMyRecord", Summary: "Download the signed-in patient's whole record, after a second factor in the last five minutes: format=json (a FHIR R4 Bundle of type collection, the default), html (a readable, printable document) or zip (both, with every document's file). One audit entry in the patient's access log", Tag: "clinical",
			Query:    []Param{{Name: "format", In: "query", Description: "json (default), html or zip"}},
			Response: "", Handler: a.exportMyRecord},
		{Method: "GET", Path: "/compliance-report", OperationID: "getComplianceReport", Summary: "The compliance report: live checks of this installation against HIPAA §164.312 and the 2025 proposed rule, each passed, to review or failed with its evidence (no PHI)", Tag: "admin",
			Act: "compliance.read", Response: compliance.Report{}, Handler: a.complianceReport},
	}
}

func (a *API) exportMyRecord(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "html" && format != "zip" {
		return httpx.Errorf(http.StatusBadRequest, "choose the format json, html or zip")
	}
	s := httpx.Session(r).Subject
	e, err := a.d.Prescriptions.ExportRecord(r.Context(), s, s.PatientID, format == "zip", httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	if format == "html" {
		doc, err := e.HTML(a.d.Zone)
		if err != nil {
			return err
		}
		httpx.ServeAttachment(w, "text/html; charset=utf-8", "health-record.html", doc)
		return nil
	}
	bundle, err := fhir.ExportBundle(e, a.d.BaseURL)
	if err != nil {
		return err
	}
	if format == "zip" {
		doc, err := e.Zip(a.d.Zone, bundle)
		if err != nil {
			return err
		}
		httpx.ServeAttachment(w, "application/zip", "health-record.zip", doc)
		return nil
	}
	httpx.ServeAttachment(w, fhir.MediaType, "health-record.json", bundle)
	return nil
}

func (a *API) complianceReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := a.d.Compliance.Report(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return httpx.WriteJSON(w, http.StatusOK, rep)
}
