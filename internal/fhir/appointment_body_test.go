package fhir

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"haven/internal/httpx"
)

// appointmentSeeds are bodies a booking system sends, good and bad.
var appointmentSeeds = []string{
	`{"resourceType":"Appointment","status":"booked","slot":[{"reference":"Slot/abc.1795597200"}],"participant":[{"actor":{"reference":"Practitioner/abc"},"status":"accepted"}]}`,
	`{"resourceType":"Appointment","status":"booked","start":"2026-11-25T09:00:00Z","participant":[{"actor":{"reference":"Patient/p1"}},{"actor":{"reference":"https://x.test/fhir/R4/Practitioner/abc"}}]}`,
	`{"resourceType":"Appointment","id":"a1","status":"cancelled","participant":[{"actor":{"reference":"Patient/p1"}}]}`,
	`{"resourceType":"Patient"}`,
	`{"resourceType":"Appointment","status":"booked","start":"tomorrow"}`,
	`{"resourceType":"Appointment","status":"booked"} {"more":1}`,
	`[]`,
	``,
	`{"resourceType":"Appointment","status":"booked","slot":[{"reference":"Slot/abc.-1"}]}`,
}

// TestParseAppointment: what a body asks for, and the refusals of what Haven cannot do.
func TestParseAppointment(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       appointmentRequest
		err        string // a word of the error, "" if none
	}{
		{"by slot", appointmentSeeds[0], appointmentRequest{Status: "booked", ClinicianID: "abc", Start: time.Unix(1795597200, 0).UTC()}, ""},
		{"by start, full URL", appointmentSeeds[1], appointmentRequest{Status: "booked", ClinicianID: "abc", PatientID: "p1", Start: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}, ""},
		{"cancel", appointmentSeeds[2], appointmentRequest{ID: "a1", Status: "cancelled", PatientID: "p1"}, ""},
		{"another type", appointmentSeeds[3], appointmentRequest{}, "resourceType"},
		{"bad start", appointmentSeeds[4], appointmentRequest{}, "instant"},
		{"two values", appointmentSeeds[5], appointmentRequest{}, "one FHIR Appointment"},
		{"an array", appointmentSeeds[6], appointmentRequest{}, "one FHIR Appointment"},
		{"empty", appointmentSeeds[7], appointmentRequest{}, "one FHIR Appointment"},
		{"bad slot", appointmentSeeds[8], appointmentRequest{}, "Slot"},
		{"no status", `{"resourceType":"Appointment"}`, appointmentRequest{}, "status"},
		{"a location", `{"resourceType":"Appointment","status":"booked","participant":[{"actor":{"reference":"Location/l1"}}]}`, appointmentRequest{}, "participants"},
		{"two patients", `{"resourceType":"Appointment","status":"booked","participant":[{"actor":{"reference":"Patient/a"}},{"actor":{"reference":"Patient/b"}}]}`, appointmentRequest{}, "one patient"},
		{"slot and another start", `{"resourceType":"Appointment","status":"booked","start":"2026-11-25T10:00:00Z","slot":[{"reference":"Slot/abc.1795597200"}]}`, appointmentRequest{}, "differ"},
		{"slot of another practitioner", `{"resourceType":"Appointment","status":"booked","slot":[{"reference":"Slot/abc.1795597200"}],"participant":[{"actor":{"reference":"Practitioner/xyz"}}]}`, appointmentRequest{}, "one practitioner"},
		{"bad id", `{"resourceType":"Appointment","id":"a_b!","status":"booked"}`, appointmentRequest{}, "FHIR id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseAppointment([]byte(tc.body))
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Fatalf("parseAppointment = %+v, %v; want %+v", got, err, tc.want)
				}
				return
			}
			var he *httpx.Error
			if !errors.As(err, &he) || he.Status != http.StatusBadRequest || !strings.Contains(he.Message, tc.err) {
				t.Fatalf("parseAppointment error = %v, want a 400 saying %q", err, tc.err)
			}
		})
	}
}

// FuzzParseAppointment: no body makes the parser panic, echo itself into the error, or
// accept a request Haven could not act on.
func FuzzParseAppointment(f *testing.F) {
	for _, s := range appointmentSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseAppointment(body)
		if err != nil {
			var he *httpx.Error
			if !errors.As(err, &he) || he.Status != http.StatusBadRequest {
				t.Fatalf("error %v is not a 400", err)
			}
			if len(body) > 8 && strings.Contains(he.Message, string(body)) {
				t.Fatalf("the error echoes the body: %q", he.Message)
			}
			return
		}
		if !appointmentStatuses[r.Status] {
			t.Fatalf("accepted status %q", r.Status)
		}
		for _, id := range []string{r.PatientID, r.ClinicianID} {
			if len(id) > 64 || strings.ContainsAny(id, "/?#") {
				t.Fatalf("accepted reference id %q", id)
			}
		}
		if r.Start.Location() != time.UTC {
			t.Fatalf("start %v is not UTC", r.Start)
		}
	})
}

// TestSlotIDs: a slot's id reads back as its clinician and start; anything else is no slot.
func TestSlotIDs(t *testing.T) {
	start := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	id := slotID("uohcmisesavjyiq47gyxyt42ie", start)
	if len(id) > 64 {
		t.Fatalf("slot id %q is longer than a FHIR id may be", id)
	}
	if c, s, ok := parseSlotID(id); !ok || c != "uohcmisesavjyiq47gyxyt42ie" || !s.Equal(start) {
		t.Fatalf("parseSlotID(%q) = %q %v %v", id, c, s, ok)
	}
	for _, bad := range []string{"", "abc", "abc.", ".123", "abc.12x", "abc.-5", "abc.99999999999999"} {
		if _, _, ok := parseSlotID(bad); ok {
			t.Errorf("parseSlotID(%q) accepted", bad)
		}
	}
}

// TestWindow: the period a date search bounds its work to.
func TestWindow(t *testing.T) {
	day := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	now := day("2026-11-24")
	def := now.AddDate(0, 0, 14)
	for _, tc := range []struct {
		values   []string
		from, to time.Time
	}{
		{nil, now, def},
		{[]string{"ge2026-12-01"}, day("2026-12-01"), day("2026-12-15")},
		{[]string{"ge2026-12-01", "lt2026-12-03"}, day("2026-12-01"), day("2026-12-03")},
		{[]string{"2026-12-01"}, day("2026-12-01"), day("2026-12-02")},
		{[]string{"le2026-12-20"}, day("2026-12-07"), day("2026-12-21")},
		{[]string{"ge2026-01-01", "le2027-12-31"}, day("2026-01-01"), day("2026-01-31")},
		{[]string{"2026-12-01,2026-12-05"}, now, def}, // an OR bounds nothing
	} {
		q := NewQuery(map[string][]string{"start": tc.values})
		ds, err := q.Dates("start")
		if err != nil {
			t.Fatal(err)
		}
		from, to := window(ds, now, def, 30*24*time.Hour)
		if !from.Equal(tc.from) || !to.Equal(tc.to) {
			t.Errorf("window(%v) = %v – %v, want %v – %v", tc.values, from, to, tc.from, tc.to)
		}
	}
}
