package api

import (
	"net/http"

	"haven/internal/httpx"
)

// calendarRoutes are a clinician's private calendar feed (package visits): making and revoking
// its URL with a session, and reading it without one, the URL's token being the only key (a
// calendar program sends no cookie). The feed's URL holds the token and nothing else.
//
// The routes declare no Act: calendar.feed is granted on one's own account, which the service
// names (the caller's account) when it asks the door; the requests carry no body to read first.
func (a *API) calendarRoutes() []Route {
	return []Route{
		{Method: "POST", Path: "/me/calendar-feed", OperationID: "createCalendarFeed", Tag: "schedule",
			Summary:  "Make the caller's private calendar feed URL (clinicians); any earlier URL stops working. The URL is shown this once",
			Response: calendarFeedResponse{}, Status: http.StatusCreated, Handler: a.createCalendarFeed},
		{Method: "DELETE", Path: "/me/calendar-feed", OperationID: "revokeCalendarFeed", Tag: "schedule",
			Summary:  "Stop the caller's calendar feed URL from working (clinicians)",
			Response: okResponse{}, Handler: a.revokeCalendarFeed},
		{Method: "GET", Path: "/calendar/{token}", OperationID: "getCalendarFeed", Tag: "schedule", Public: true,
			Summary: "A clinician's appointments as an iCalendar feed, 30 days back to 180 ahead: times only, no patient names; the URL is the key",
			Query: []Param{{Name: "token", In: "path", Required: true,
				Description: "the feed's secret token, as in the URL made for it (ending in .ics); an unknown or revoked one answers 404"}},
			Response: "", Handler: a.calendarFeed},
	}
}

// calendarFeedResponse carries a new feed URL, shown this once.
type calendarFeedResponse struct {
	URL string `json:"url"`
}

func (a *API) createCalendarFeed(w http.ResponseWriter, r *http.Request) error {
	url, err := a.d.Visits.NewCalendarFeed(r.Context(), httpx.Session(r).Subject, httpx.Origin(r))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return httpx.WriteJSON(w, http.StatusCreated, calendarFeedResponse{URL: url})
}

func (a *API) revokeCalendarFeed(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Visits.RevokeCalendarFeed(r.Context(), httpx.Session(r).Subject, httpx.Origin(r)); err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, okResponse{OK: true})
}

// calendarFeed serves the feed. Nothing about it may be kept along the way: the document is a
// schedule and the URL a key.
func (a *API) calendarFeed(w http.ResponseWriter, r *http.Request) error {
	doc, err := a.d.Visits.CalendarFeed(r.Context(), r.PathValue("token"), httpx.Origin(r))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	_, err = w.Write(doc)
	return err
}
