package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Times are shown in the reader's time zone, never as bare UTC. The browser names its zone:
// static/tz.js puts Intl's IANA name in the tz cookie, which is checked here against the time
// zone database and otherwise ignored. Without it, pages use the deployment's --time-zone.
// The JSON API keeps RFC 3339.

// tzCookie carries the browser's IANA time zone name. It is not a secret and not PHI.
const tzCookie = "tz"

// zoneOf returns the reader's time zone: the browser's when its cookie names a real zone, else
// the deployment's (UTC when it has none).
func (u *UI) zoneOf(r *http.Request) *time.Location {
	if c, err := r.Cookie(tzCookie); err == nil {
		if loc := u.zone(c.Value); loc != nil {
			return loc
		}
	}
	if u.d.Zone != nil {
		return u.d.Zone
	}
	return time.UTC
}

// zone loads the IANA zone a cookie names (as encodeURIComponent wrote it), or returns nil.
// Loaded zones are kept: there are a few hundred at most, as only real names are stored.
func (u *UI) zone(raw string) *time.Location {
	name, err := url.QueryUnescape(raw)
	if err != nil || !zoneName(name) {
		return nil
	}
	if loc, ok := u.zones.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	u.zones.Store(name, loc)
	return loc
}

// zoneName reports whether name looks like an IANA zone ("Europe/Madrid", "Etc/GMT+5"): it
// refuses "Local" (the server's own zone), paths and anything long.
func zoneName(name string) bool {
	if name == "" || len(name) > 64 || name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return false
	}
	for _, c := range name {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("/_+-", c)) {
			return false
		}
	}
	return true
}

// timeFuncs formats times in loc for the templates: date ("24 Nov 2026, 10:02 CET"), day
// ("24 Nov 2026"), clock ("10:02") and zone ("CET").
func timeFuncs(loc *time.Location) template.FuncMap {
	return template.FuncMap{
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(loc).Format("2 Jan 2006, 15:04") + " " + zoneAbbrev(t.In(loc))
		},
		"day":   func(t time.Time) string { return t.In(loc).Format("2 Jan 2006") },
		"clock": func(t time.Time) string { return t.In(loc).Format("15:04") },
		"zone":  func(t time.Time) string { return zoneAbbrev(t.In(loc)) },
		// longDay and when are for appointments, where the weekday matters: "Wednesday 25
		// November 2026" and "Wednesday 25 November 2026 at 10:00 CET".
		"longDay": func(t time.Time) string { return t.In(loc).Format("Monday 2 January 2006") },
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(loc).Format("Monday 2 January 2006 at 15:04") + " " + zoneAbbrev(t.In(loc))
		},
		// dayKey is the date a day's links carry (2026-11-25), in the reader's zone.
		"dayKey": func(t time.Time) string { return t.In(loc).Format(time.DateOnly) },
	}
}

// zoneAbbrev names t's zone as people read it: its abbreviation ("CET"), or its offset from
// UTC where the zone has no abbreviation ("UTC-03" rather than "-03").
func zoneAbbrev(t time.Time) string {
	name, _ := t.Zone()
	if strings.HasPrefix(name, "+") || strings.HasPrefix(name, "-") {
		return "UTC" + name
	}
	return name
}
