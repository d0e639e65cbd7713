package visits

import (
	"net/url"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
)

// iCalendar documents (RFC 5545), built with github.com/arran4/golang-ical. What they say is
// decided here and nowhere else, so that it stays minimal: an event has its UID, its stamp, its
// start and end in UTC, a fixed summary, a status and the link to Haven; never a name (the
// patient's or the clinician's: a psychiatrist's name alone says something about the patient),
// a specialty, a reason, an organiser or attendees. Anything else is behind the link, after
// signing in.

const (
	// reminderSummary is the summary of the event a reminder carries.
	reminderSummary = "Appointment"
	// feedSummary is the summary of each event in a clinician's feed.
	feedSummary = "Video visit"
	// icsProduct names Haven as the producer (PRODID).
	icsProduct = "Haven"
)

// icsEvent is one event as an iCalendar document shows it.
type icsEvent struct {
	ID         string // the appointment's identifier; the UID is ID@host
	Start, End time.Time
	Summary    string
	Cancelled  bool
}

// newICS starts a document published (METHOD:PUBLISH): for the recipient's calendar to show,
// not an invitation to answer.
func newICS() *ics.Calendar {
	cal := ics.NewCalendarFor(icsProduct)
	cal.SetMethod(ics.MethodPublish)
	return cal
}

// addICSEvent adds ev to cal, stamped now, with link as its URL.
func addICSEvent(cal *ics.Calendar, ev icsEvent, host, link string, now time.Time) {
	e := cal.AddEvent(ev.ID + "@" + host)
	e.SetDtStampTime(now)
	e.SetStartAt(ev.Start)
	e.SetEndAt(ev.End)
	e.SetSummary(ev.Summary)
	if ev.Cancelled {
		e.SetStatus(ics.ObjectStatusCancelled)
	} else {
		e.SetStatus(ics.ObjectStatusConfirmed)
	}
	e.SetURL(link)
}

// serializeICS writes cal with the CRLF line ends RFC 5545 requires.
func serializeICS(cal *ics.Calendar) []byte {
	return []byte(cal.Serialize(ics.WithNewLineWindows))
}

// reminderICS is the .ics attached to a reminder: the one appointment, and nothing else.
func reminderICS(ev icsEvent, host, link string, now time.Time) []byte {
	cal := newICS()
	addICSEvent(cal, ev, host, link, now)
	return serializeICS(cal)
}

// feedICS is a clinician's calendar feed: their appointments, times only.
func feedICS(evs []icsEvent, host, link string, now time.Time) []byte {
	cal := newICS()
	cal.SetXWRCalName("Haven visits")
	// Subscribed calendars ask again at this pace (clients may choose their own).
	cal.SetRefreshInterval("PT15M", ics.WithValue("DURATION"))
	cal.SetXPublishedTTL("PT15M")
	for _, ev := range evs {
		addICSEvent(cal, ev, host, link, now)
	}
	return serializeICS(cal)
}

// hostOf is the host name of Haven's base URL, the right-hand side of every UID.
func hostOf(baseURL string) string {
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		return strings.ToLower(u.Hostname())
	}
	return "localhost"
}
