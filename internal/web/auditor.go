package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/principal"
	"haven/internal/privacy"
)

type auditorData struct {
	Alerts     []privacy.AlertView
	Reviews    []privacy.ReviewView
	Checkpoint *checkpointView
	People     []privacy.Person
	Actions    []privacy.Choice
	Query      privacy.TrailQuery
	FromDate   string // the form's date fields, echoed back
	ToDate     string
	Results    []privacy.TrailEntry
	Older      int64 // the next page's before, or 0
	NoPatient  bool  // the patient's name is no patient's
	Searched   bool
	Resolved   string // the finding of a report just closed
}

// trailFilter reads the auditor's search form. Dates are whole UTC days; "to" includes its day.
// A date that does not parse is refused, never dropped: dropped, it would widen the search to
// every day. The person and the action come from lists of names and words; the patient is
// found by name.
func trailFilter(r *http.Request) (q privacy.TrailQuery, from, to string, err error) {
	q = privacy.TrailQuery{PatientName: strings.TrimSpace(r.PostFormValue("patient")), Filter: privacy.Filter{
		ActorID: strings.TrimSpace(r.PostFormValue("person")), Action: strings.TrimSpace(r.PostFormValue("action")),
		Outcome: r.PostFormValue("outcome")}}
	if v := r.PostFormValue("before"); v != "" {
		if q.Before, err = strconv.ParseInt(v, 10, 64); err != nil || q.Before < 1 {
			return q, from, to, fault.InvalidField("before", "start again from the newest entries")
		}
	}
	from, to = strings.TrimSpace(r.PostFormValue("from")), strings.TrimSpace(r.PostFormValue("to"))
	if from != "" {
		d, perr := time.Parse(time.DateOnly, from)
		if perr != nil {
			return q, from, to, fault.InvalidField("from", "enter a date as YYYY-MM-DD, or leave it empty")
		}
		q.From = d
	}
	if to != "" {
		d, perr := time.Parse(time.DateOnly, to)
		if perr != nil {
			return q, from, to, fault.InvalidField("to", "enter a date as YYYY-MM-DD, or leave it empty")
		}
		q.To = d.Add(24 * time.Hour)
	}
	return q, from, to, nil
}

// auditorExport downloads the matching entries as FHIR R4 AuditEvent NDJSON. The policy asks
// for a fresh second factor first.
func (u *UI) auditorExport(w http.ResponseWriter, r *http.Request) error {
	by, err := u.admit(r, "audit.export", "", "/auditor")
	if err != nil {
		return err
	}
	q, _, _, err := trailFilter(r)
	if err != nil {
		return err
	}
	q.Before, q.Limit = 0, 1000 // the whole selection, not the page on screen
	nd, err := u.d.Privacy.ExportTrail(r.Context(), by, q, httpx.Origin(r))
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
	o := httpx.Origin(r)
	reviews, err := u.d.Privacy.ReviewQueue(r.Context(), s, o)
	if err != nil {
		return auditorData{}, err
	}
	alerts, err := u.d.Privacy.AlertsInWords(r.Context(), s, o)
	if err != nil {
		return auditorData{}, err
	}
	people, err := u.d.Privacy.People(r.Context(), s, o)
	if err != nil {
		return auditorData{}, err
	}
	d := auditorData{Reviews: reviews, Alerts: alerts, People: people, Actions: privacy.ActionChoices()}
	cp, matches, err := u.d.Privacy.CheckpointStatus(r.Context(), s, o)
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
	if f := r.URL.Query().Get("resolved"); f == privacy.OutcomeJustified || f == privacy.OutcomeUnjustified || f == "1" {
		d.Resolved = f
	}
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
	d.Query, d.FromDate, d.ToDate, err = trailFilter(r)
	if err != nil {
		return u.formPage(w, r, "auditor", "Privacy review", d, err)
	}
	p, err := u.d.Privacy.Trail(r.Context(), s.Subject, d.Query, httpx.Origin(r))
	if err != nil {
		return u.formPage(w, r, "auditor", "Privacy review", d, err)
	}
	d.Results, d.Older, d.NoPatient, d.Searched = p.Entries, p.Older, p.NoPatient, true
	return u.render(w, r, http.StatusOK, "auditor", page{Title: "Privacy review", Data: d})
}

type reviewData struct {
	Review privacy.ReviewView
	Note   string // the note typed, echoed back
}

// review is one patient's report, where the privacy officer looks into it and closes it.
func (u *UI) review(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Auditor)
	if err != nil {
		return err
	}
	v, err := u.d.Privacy.ReviewByID(r.Context(), s.Subject, r.PathValue("id"), httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return u.render(w, r, http.StatusOK, "auditreview", page{Title: "A patient's report", Data: reviewData{Review: v}})
}

func (u *UI) resolveReview(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Auditor)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	c := privacy.Closing{Outcome: r.PostFormValue("outcome"), Note: r.PostFormValue("note")}
	if c == (privacy.Closing{}) {
		c.Outcome = "none" // the page always asks for a finding: an empty form is refused as one
	}
	if err := u.d.Privacy.Resolve(r.Context(), s.Subject, id, c, httpx.Origin(r)); err != nil {
		v, verr := u.d.Privacy.ReviewByID(r.Context(), s.Subject, id, httpx.Origin(r))
		if verr != nil {
			return httpx.FromDomain(err)
		}
		return u.formPage(w, r, "auditreview", "A patient's report", reviewData{Review: v, Note: c.Note}, err)
	}
	return goTo("/auditor?resolved=" + url.QueryEscape(c.Outcome))
}
