package web

import (
	"net/http"
	"strings"
	"time"

	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/monitor"
	"haven/internal/principal"
	"haven/internal/privacy"
)

type auditorData struct {
	Alerts     []monitor.Alert
	Reviews    []privacy.Review
	Checkpoint *checkpointView
	Filter     privacy.Filter
	Results    []privacy.Entry
	Searched   bool
	Resolved   bool
	FromDate   string // the form's date fields, echoed back
	ToDate     string
}

// trailFilter reads the auditor's search form. Dates are whole UTC days; "to" includes its day.
// A date that does not parse is refused, never dropped: dropped, it would widen the search to
// every day.
func trailFilter(r *http.Request) (f privacy.Filter, from, to string, err error) {
	f = privacy.Filter{PatientID: strings.TrimSpace(r.PostFormValue("patient")), ActorID: strings.TrimSpace(r.PostFormValue("actor")),
		Action: strings.TrimSpace(r.PostFormValue("action")), Outcome: r.PostFormValue("outcome"), Limit: 200}
	from, to = strings.TrimSpace(r.PostFormValue("from")), strings.TrimSpace(r.PostFormValue("to"))
	if from != "" {
		d, perr := time.Parse(time.DateOnly, from)
		if perr != nil {
			return f, from, to, fault.InvalidField("from", "enter a date as YYYY-MM-DD, or leave it empty")
		}
		f.From = d
	}
	if to != "" {
		d, perr := time.Parse(time.DateOnly, to)
		if perr != nil {
			return f, from, to, fault.InvalidField("to", "enter a date as YYYY-MM-DD, or leave it empty")
		}
		f.To = d.Add(24 * time.Hour)
	}
	return f, from, to, nil
}

// auditorExport downloads the matching entries as FHIR R4 AuditEvent NDJSON. The policy asks
// for a fresh second factor first.
func (u *UI) auditorExport(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "audit.export", "", "/auditor")
	if err != nil {
		return err
	}
	f, _, _, err := trailFilter(r)
	if err != nil {
		return err
	}
	f.Limit = 1000
	nd, err := u.d.Privacy.ExportTrail(r.Context(), by, f, httpx.Origin(r))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/fhir+ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="haven-auditevents.ndjson"`)
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(nd)
	return err
}

type checkpointView struct {
	privacy.Checkpoint
	RootB64 string
	Matches bool // the stored tree still has this root at this size
}

func (u *UI) auditorData(r *http.Request, s principal.Subject) (auditorData, error) {
	reviews, err := u.d.Privacy.OpenReviews(r.Context(), s, httpx.Origin(r))
	if err != nil {
		return auditorData{}, err
	}
	alerts, err := u.d.Privacy.Alerts(r.Context(), s, httpx.Origin(r))
	if err != nil {
		return auditorData{}, err
	}
	d := auditorData{Reviews: reviews, Alerts: alerts}
	cp, matches, err := u.d.Privacy.CheckpointStatus(r.Context(), s, httpx.Origin(r))
	if err != nil {
		return auditorData{}, err
	}
	if cp.Size > 0 {
		d.Checkpoint = &checkpointView{Checkpoint: cp, RootB64: cp.Root.String(), Matches: matches}
	}
	return d, nil
}

func (u *UI) auditor(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Auditor)
	if err != nil {
		return err
	}
	d, err := u.auditorData(r, s.Subject)
	if err != nil {
		return err
	}
	d.Resolved = r.URL.Query().Get("resolved") == "1"
	return u.render(w, r, http.StatusOK, "auditor", page{Title: "Privacy review", Data: d})
}

func (u *UI) auditorSearch(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Auditor)
	if err != nil {
		return err
	}
	d, err := u.auditorData(r, s.Subject)
	if err != nil {
		return err
	}
	d.Filter, d.FromDate, d.ToDate, err = trailFilter(r)
	if err != nil {
		return u.formPage(w, r, "auditor", "Privacy review", d, err)
	}
	if d.Results, err = u.d.Privacy.SearchTrail(r.Context(), s.Subject, d.Filter, httpx.Origin(r)); err != nil {
		return err
	}
	d.Searched = true
	return u.render(w, r, http.StatusOK, "auditor", page{Title: "Privacy review", Data: d})
}

func (u *UI) resolveReview(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Auditor)
	if err != nil {
		return err
	}
	if err := u.d.Privacy.Resolve(r.Context(), s.Subject, r.PathValue("id"), httpx.Origin(r)); err != nil {
		return err
	}
	return goTo("/auditor?resolved=1")
}
