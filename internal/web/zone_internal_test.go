package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestReadersZone: the browser's tz cookie sets the zone pages show times in when it names a
// real IANA zone; anything else (a made-up zone, the server's own "Local", a path, a long
// value) is ignored for the deployment's zone, or UTC when it has none.
func TestReadersZone(t *testing.T) {
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, cookie string
		deployment   *time.Location
		want         string
	}{
		{"browser's zone", "Asia%2FTokyo", madrid, "Asia/Tokyo"},
		{"unencoded", "America/New_York", nil, "America/New_York"},
		{"an offset zone", "Etc%2FGMT%2B5", nil, "Etc/GMT+5"},
		{"no cookie", "", madrid, "Europe/Madrid"},
		{"no cookie, no deployment zone", "", nil, "UTC"},
		{"made up", "Mars%2FOlympus", madrid, "Europe/Madrid"},
		{"the server's own", "Local", nil, "UTC"},
		{"a path", "..%2F..%2Fetc%2Fpasswd", nil, "UTC"},
		{"absolute path", "%2Fetc%2Flocaltime", nil, "UTC"},
		{"bad escape", "Asia%2", nil, "UTC"},
		{"too long", "Europe%2F" + string(make([]byte, 80)), nil, "UTC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &UI{d: Deps{Zone: tc.deployment}}
			r := httptest.NewRequest(http.MethodGet, "/patient", nil)
			if tc.cookie != "" {
				r.Header.Set("Cookie", tzCookie+"="+tc.cookie)
			}
			if got := u.zoneOf(r).String(); got != tc.want {
				t.Fatalf("zone = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestTimesInWords: times read as "24 Nov 2026, 18:02 JST", in the reader's zone; a zone with
// no abbreviation shows its offset from UTC.
func TestTimesInWords(t *testing.T) {
	at := time.Date(2026, 11, 24, 9, 2, 0, 0, time.UTC)
	for _, tc := range []struct{ zone, date, day, clock string }{
		{"UTC", "24 Nov 2026, 09:02 UTC", "24 Nov 2026", "09:02"},
		{"Asia/Tokyo", "24 Nov 2026, 18:02 JST", "24 Nov 2026", "18:02"},
		{"America/Sao_Paulo", "24 Nov 2026, 06:02 UTC-03", "24 Nov 2026", "06:02"},
		{"Pacific/Kiritimati", "24 Nov 2026, 23:02 UTC+14", "24 Nov 2026", "23:02"},
		{"America/Los_Angeles", "24 Nov 2026, 01:02 PST", "24 Nov 2026", "01:02"},
		{"Pacific/Pago_Pago", "23 Nov 2026, 22:02 SST", "23 Nov 2026", "22:02"},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		f := timeFuncs(loc)
		date, day, clock := f["date"].(func(time.Time) string), f["day"].(func(time.Time) string), f["clock"].(func(time.Time) string)
		if got := date(at); got != tc.date {
			t.Errorf("%s: date = %q, want %q", tc.zone, got, tc.date)
		}
		if got := day(at); got != tc.day {
			t.Errorf("%s: day = %q, want %q", tc.zone, got, tc.day)
		}
		if got := clock(at); got != tc.clock {
			t.Errorf("%s: clock = %q, want %q", tc.zone, got, tc.clock)
		}
		if got := date(time.Time{}); got != "" {
			t.Errorf("%s: the zero time reads %q", tc.zone, got)
		}
	}
}
