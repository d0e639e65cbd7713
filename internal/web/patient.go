package web

import (
	"net/http"
	"net/url"
	"strconv"

	"haven/internal/clinical"
	"haven/internal/httpx"
	"haven/internal/principal"
	"haven/internal/privacy"
)

// The patient's pages: their record, and who opened it. The access log reads in words, with
// the list and search views one person made on one day as one line; older entries are behind
// a link; reporting an access is a deliberate step from that entry's own page.

const (
	homeLogEntries = 50  // entries the home page reads for its latest lines
	homeLogLines   = 8   // lines it shows
	logPageEntries = 100 // entries on a page of the whole log
)

type patientData struct {
	Record clinical.Record
	Log    []privacy.Group
	More   bool // the home page shows only the latest lines
	// The structured record (record_items.go), the vitals form's values after a mistake, and
	// whether a reading was just recorded.
	Items    recordItems
	Form     url.Values
	Recorded bool
}

func (u *UI) patient(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	return u.patientPage(w, r, s.Subject, http.StatusOK, page{}, nil)
}

// patientPage renders the patient's home page: their record and who opened it.
func (u *UI) patientPage(w http.ResponseWriter, r *http.Request, by principal.Subject, status int, pg page, form url.Values) error {
	rec, items, err := u.patientRecord(r, by)
	if err != nil {
		return err
	}
	p, err := u.d.Privacy.MyAccessLogPage(r.Context(), by,
		privacy.LogQuery{Limit: homeLogEntries, OthersOnly: true}, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	if form == nil {
		form = url.Values{}
	}
	d := patientData{Record: rec, Log: privacy.GroupEvents(p.Events, u.zoneOf(r)), Items: items, Form: form,
		Recorded: status == http.StatusOK && r.URL.Query().Get("recorded") == "1"}
	if len(d.Log) > homeLogLines || p.Older != 0 {
		d.Log, d.More = d.Log[:min(len(d.Log), homeLogLines)], true
	}
	pg.Title, pg.Data = "My record", d
	return u.render(w, r, status, "patient", pg)
}

type accessLogData struct {
	Log    []privacy.Group
	Older  int64 // the next page's ?before=, or 0
	Paged  bool  // this is not the newest page
	Before int64
}

// accessLog is the patient's whole access log, a page at a time, newest first.
func (u *UI) accessLog(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before < 1 {
			return httpx.Errorf(http.StatusBadRequest, "This page link is not right. Go back to the newest entries.")
		}
	}
	p, err := u.d.Privacy.MyAccessLogPage(r.Context(), s.Subject,
		privacy.LogQuery{Before: before, Limit: logPageEntries, OthersOnly: true}, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	d := accessLogData{Log: privacy.GroupEvents(p.Events, u.zoneOf(r)), Older: p.Older, Paged: before != 0, Before: before}
	return u.render(w, r, http.StatusOK, "accesslog", page{Title: "Who opened my record", Data: d})
}

type accessEntryData struct {
	Event    privacy.AccessEvent
	Reported bool // just reported, on this answer
}

// accessEntry is one entry of the patient's log on a page of its own, where the patient may
// report it.
func (u *UI) accessEntry(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil {
		return httpx.ErrNotFound
	}
	ev, err := u.d.Privacy.AccessEntry(r.Context(), s.Subject, s.Subject.PatientID, seq, httpx.Origin(r))
	if err != nil {
		return httpx.FromDomain(err)
	}
	return u.render(w, r, http.StatusOK, "accessentry", page{Title: "An access to your record",
		Data: accessEntryData{Event: ev, Reported: r.URL.Query().Get("reported") == "1"}})
}

// reportAccess is the patient's "I don't recognise this", from one entry's page.
func (u *UI) reportAccess(w http.ResponseWriter, r *http.Request) error {
	s, err := require(r, principal.Patient)
	if err != nil {
		return err
	}
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil {
		return httpx.ErrNotFound
	}
	if err := u.d.Privacy.Report(r.Context(), s.Subject, seq, httpx.Origin(r)); err != nil {
		return err
	}
	return goTo("/patient/access-log/" + strconv.FormatInt(seq, 10) + "?reported=1")
}
