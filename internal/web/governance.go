package web

import (
	"net/http"

	"haven/internal/fault"
	"haven/internal/fhir"
	"haven/internal/governance/compliance"
	"haven/internal/httpx"
	"haven/internal/principal"
)

// exportRecord downloads the patient's whole record (format html, the default here, json, or zip: both with every document's file).
// The door asks for a fresh second factor: without one the browser confirms it first and comes
// back here, so the download starts right after.
func (u *UI) exportRecord(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Patient)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "json" && format != "zip" {
		format = "html"
	}
	e, err := u.d.Prescriptions.ExportRecord(r.Context(), by, by.PatientID, format == "zip", httpx.Origin(r))
	if fault.Is(err, fault.StepUpRequired) {
		return stepUpFirst("/patient/export/ready?format=" + format)
	}
	if err != nil {
		return httpx.FromDomain(err)
	}
	if format == "zip" || format == "json" {
		bundle, err := fhir.ExportBundle(e, u.d.BaseURL)
		if err != nil {
			return err
		}
		if format == "json" {
			httpx.ServeAttachment(w, fhir.MediaType, "health-record.json", bundle)
			return nil
		}
		doc, err := e.Zip(u.zoneOf(r), bundle)
		if err != nil {
			return err
		}
		httpx.ServeAttachment(w, "application/zip", "health-record.zip", doc)
		return nil
	}
	doc, err := e.HTML(u.zoneOf(r))
	if err != nil {
		return err
	}
	httpx.ServeAttachment(w, "text/html; charset=utf-8", "health-record.html", doc)
	return nil
}

// exportReady follows a step-up made to download the record: the download is one click away,
// so the browser does not stay on the confirmation form while the file arrives.
func (u *UI) exportReady(w http.ResponseWriter, r *http.Request) error {
	if _, err := signedIn(r, principal.Patient); err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "json" && format != "zip" {
		format = "html"
	}
	return u.render(w, r, http.StatusOK, "export-ready", page{Title: "Your record is ready to download", Data: format})
}

// complianceReport shows administrators and the privacy officer the compliance report; the
// door decides who may read it.
func (u *UI) complianceReport(w http.ResponseWriter, r *http.Request) error {
	by, err := signedIn(r, principal.Admin, principal.Auditor)
	if err != nil {
		return err
	}
	rep, err := u.d.Compliance.Report(r.Context(), by, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return u.render(w, r, http.StatusOK, "compliance", page{Title: "Compliance report", Data: compliance.PageOf(rep, u.zoneOf(r))})
}
