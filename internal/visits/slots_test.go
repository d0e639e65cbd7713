package visits_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"haven/internal/fault"
	"haven/internal/visits"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// everyDay is 09:00–13:00 local on every day of the week.
func everyDay(zone string, slot int) visits.Availability {
	a := visits.Availability{TimeZone: zone, SlotMinutes: slot}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		a.Weekly = append(a.Weekly, visits.Hours{Day: d, Start: "09:00", End: "13:00"})
	}
	return a
}

func starts(slots []visits.Slot, loc *time.Location) []string {
	out := []string{}
	for _, s := range slots {
		out = append(out, s.Start.In(loc).Format("2006-01-02 15:04 MST"))
	}
	return out
}

func compute(t *testing.T, a visits.Availability, from, to time.Time) []visits.Slot {
	t.Helper()
	if err := a.Validate(); err != nil {
		t.Fatalf("availability %+v: %v", a, err)
	}
	slots, err := visits.ComputeSlots(a, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return slots
}

// TestSlotsAcrossDaylightSaving: hours of 09:00–13:00 in Madrid give a first slot at 09:00
// local on both sides of the March and October changes (so at another UTC instant), and a
// patient in New York, whose clocks change on other dates, sees the same instants.
func TestSlotsAcrossDaylightSaving(t *testing.T) {
	madrid, newYork := mustZone(t, "Europe/Madrid"), mustZone(t, "America/New_York")
	a := everyDay("Europe/Madrid", 60)
	for _, tc := range []struct {
		name      string
		day       string // local date in Madrid
		wantUTC   string // the first slot's instant
		wantLocal string
	}{
		{"before the March change", "2026-03-28", "2026-03-28T08:00:00Z", "09:00 CET"},
		{"the day of the March change", "2026-03-29", "2026-03-29T07:00:00Z", "09:00 CEST"},
		{"after the March change", "2026-03-30", "2026-03-30T07:00:00Z", "09:00 CEST"},
		{"before the October change", "2026-10-24", "2026-10-24T07:00:00Z", "09:00 CEST"},
		{"the day of the October change", "2026-10-25", "2026-10-25T08:00:00Z", "09:00 CET"},
		{"after the October change", "2026-10-26", "2026-10-26T08:00:00Z", "09:00 CET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := time.ParseInLocation(time.DateOnly, tc.day, madrid)
			from, to := d, d.AddDate(0, 0, 1)
			slots := compute(t, a, from, to)
			if len(slots) != 4 {
				t.Fatalf("%d slots on %s, want 4 (09:00 to 13:00 by the hour): %v", len(slots), tc.day, starts(slots, madrid))
			}
			if got := slots[0].Start.UTC().Format(time.RFC3339); got != tc.wantUTC {
				t.Errorf("first slot at %s, want %s", got, tc.wantUTC)
			}
			if got := slots[0].Start.In(madrid).Format("15:04 MST"); got != tc.wantLocal {
				t.Errorf("first slot at %s local, want %s", got, tc.wantLocal)
			}
			if got := slots[3].End.In(madrid).Format("15:04"); got != "13:00" {
				t.Errorf("last slot ends %s local, want 13:00", got)
			}
			// The same window asked for in New York's zone: the same instants.
			inNY := compute(t, a, from.In(newYork), to.In(newYork))
			if diff := cmp.Diff(starts(slots, time.UTC), starts(inNY, time.UTC)); diff != "" {
				t.Errorf("a patient in New York sees other instants (-Madrid +New York):\n%s", diff)
			}
		})
	}
	// A whole week across the March change: seven days of four slots, each first at 09:00 local.
	from := time.Date(2026, 3, 26, 0, 0, 0, 0, madrid)
	week := compute(t, a, from, from.AddDate(0, 0, 7))
	if len(week) != 28 {
		t.Fatalf("%d slots in the week, want 28", len(week))
	}
	for i := 0; i < len(week); i += 4 {
		if got := week[i].Start.In(madrid).Format("15:04"); got != "09:00" {
			t.Errorf("day %d starts at %s local, want 09:00", i/4, got)
		}
	}
}

// TestSlotsSkipNonexistentAndTakeFirstOfRepeated: in spring the hour from 02:00 to 03:00 does
// not exist in Madrid, so it gives no slot; in autumn the hour from 02:00 to 03:00 happens
// twice, and its slots are the first occurrence.
func TestSlotsSkipNonexistentAndTakeFirstOfRepeated(t *testing.T) {
	madrid := mustZone(t, "Europe/Madrid")
	night := visits.Availability{TimeZone: "Europe/Madrid", SlotMinutes: 30, Weekly: []visits.Hours{{Day: "sun", Start: "01:00", End: "04:00"}}}
	for _, tc := range []struct {
		day  string
		want []string
	}{
		{"2026-03-29", []string{"2026-03-29T00:00:00Z", "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"}},
		{"2026-10-25", []string{"2026-10-24T23:00:00Z", "2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z"}},
	} {
		d, _ := time.ParseInLocation(time.DateOnly, tc.day, madrid)
		got := []string{}
		for _, s := range compute(t, night, d, d.AddDate(0, 0, 1)) {
			got = append(got, s.Start.UTC().Format(time.RFC3339))
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s night slots (-want +got):\n%s", tc.day, diff)
		}
	}
}

// TestSlotGrid: slots step by length plus buffer from each range's start and end within it;
// extra hours join the weekly ones; time off removes the slots it overlaps, the grid unmoved;
// only slots starting in [from, to) are returned.
func TestSlotGrid(t *testing.T) {
	utc := time.UTC
	monday := time.Date(2026, 12, 7, 0, 0, 0, 0, utc) // a Monday
	base := visits.Availability{TimeZone: "UTC", SlotMinutes: 20, BufferMinutes: 10,
		Weekly: []visits.Hours{{Day: "mon", Start: "09:00", End: "10:45"}, {Day: "mon", Start: "14:00", End: "14:30"}}}
	for _, tc := range []struct {
		name     string
		mod      func(a *visits.Availability)
		from, to time.Time
		want     []string
	}{
		{"buffer and ranges", nil, monday, monday.AddDate(0, 0, 1),
			[]string{"09:00", "09:30", "10:00", "14:00"}},
		{"window bounds by start", nil, monday.Add(9*time.Hour + 30*time.Minute), monday.Add(10 * time.Hour),
			[]string{"09:30"}},
		{"extra hours after the range join it", func(a *visits.Availability) {
			a.Exceptions = []visits.Exception{{Kind: "extra", Date: "2026-12-07", Start: "10:30", End: "11:30"}}
		}, monday, monday.AddDate(0, 0, 1), []string{"09:00", "09:30", "10:00", "10:30", "11:00", "14:00"}},
		{"extra hours on another day", func(a *visits.Availability) {
			a.Exceptions = []visits.Exception{{Kind: "extra", Date: "2026-12-08", Start: "08:00", End: "08:20"}}
		}, monday, monday.AddDate(0, 0, 2), []string{"09:00", "09:30", "10:00", "14:00", "08:00"}},
		{"hours off remove what they overlap", func(a *visits.Availability) {
			a.Exceptions = []visits.Exception{{Kind: "off", Date: "2026-12-07", Start: "09:25", End: "09:35"}}
		}, monday, monday.AddDate(0, 0, 1), []string{"09:00", "10:00", "14:00"}},
		{"a day off", func(a *visits.Availability) {
			a.Exceptions = []visits.Exception{{Kind: "off", Date: "2026-12-07"}}
		}, monday, monday.AddDate(0, 0, 1), []string{}},
		{"days off until", func(a *visits.Availability) {
			a.Exceptions = []visits.Exception{{Kind: "off", Date: "2026-12-01", Until: "2026-12-07"}}
		}, monday, monday.AddDate(0, 0, 8), []string{"09:00", "09:30", "10:00", "14:00"}},
		{"empty window", nil, monday, monday, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := base
			if tc.mod != nil {
				tc.mod(&a)
			}
			got := []string{}
			for _, s := range compute(t, a, tc.from, tc.to) {
				got = append(got, s.Start.In(utc).Format("15:04"))
				if s.End.Sub(s.Start) != 20*time.Minute {
					t.Errorf("slot %v lasts %v, want 20m", s.Start, s.End.Sub(s.Start))
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("slots (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFree: a slot overlapping a booking, or already started, is not free.
func TestFree(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 12, 7, h, m, 0, 0, time.UTC) }
	slot := func(h, m int) visits.Slot { return visits.Slot{Start: at(h, m), End: at(h, m).Add(20 * time.Minute)} }
	slots := []visits.Slot{slot(9, 0), slot(9, 20), slot(9, 40), slot(10, 0)}
	busy := []visits.Slot{{Start: at(9, 30), End: at(9, 50)}} // booked before the grid changed
	got := visits.Free(slots, busy, at(9, 10))
	if diff := cmp.Diff([]visits.Slot{slot(10, 0)}, got); diff != "" {
		t.Errorf("free slots (-want +got):\n%s", diff)
	}
}

// TestAvailabilityValidation: each mistake is refused with the field it is in and words that
// say what to change.
func TestAvailabilityValidation(t *testing.T) {
	ok := visits.Availability{TimeZone: "Europe/Madrid", SlotMinutes: 20, Weekly: []visits.Hours{{Day: "mon", Start: "09:00", End: "13:00"}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid availability refused: %v", err)
	}
	for _, tc := range []struct {
		name  string
		mod   func(a *visits.Availability)
		field string
	}{
		{"no zone", func(a *visits.Availability) { a.TimeZone = "" }, "timeZone"},
		{"unknown zone", func(a *visits.Availability) { a.TimeZone = "Mars/Olympus" }, "timeZone"},
		{"path as zone", func(a *visits.Availability) { a.TimeZone = "../../etc/passwd" }, "timeZone"},
		{"Local", func(a *visits.Availability) { a.TimeZone = "Local" }, "timeZone"},
		{"slot too short", func(a *visits.Availability) { a.SlotMinutes = 4 }, "slotMinutes"},
		{"slot too long", func(a *visits.Availability) { a.SlotMinutes = 241 }, "slotMinutes"},
		{"negative buffer", func(a *visits.Availability) { a.BufferMinutes = -1 }, "bufferMinutes"},
		{"buffer too long", func(a *visits.Availability) { a.BufferMinutes = 121 }, "bufferMinutes"},
		{"bad day", func(a *visits.Availability) { a.Weekly[0].Day = "monday" }, "weekly"},
		{"bad time", func(a *visits.Availability) { a.Weekly[0].Start = "9:00" }, "weekly"},
		{"past 24:00", func(a *visits.Availability) { a.Weekly[0].End = "24:30" }, "weekly"},
		{"minute 60", func(a *visits.Availability) { a.Weekly[0].End = "12:60" }, "weekly"},
		{"signed", func(a *visits.Availability) { a.Weekly[0].Start = "+9:00" }, "weekly"},
		{"end before start", func(a *visits.Availability) { a.Weekly[0].End = "08:00" }, "weekly"},
		{"empty range", func(a *visits.Availability) { a.Weekly[0].End = "09:00" }, "weekly"},
		{"overlap", func(a *visits.Availability) {
			a.Weekly = append(a.Weekly, visits.Hours{Day: "mon", Start: "12:00", End: "14:00"})
		}, "weekly"},
		{"bad kind", func(a *visits.Availability) { a.Exceptions = []visits.Exception{{Kind: "holiday", Date: "2026-12-24"}} }, "exceptions"},
		{"bad date", func(a *visits.Availability) { a.Exceptions = []visits.Exception{{Kind: "off", Date: "24/12/2026"}} }, "exceptions"},
		{"until before date", func(a *visits.Availability) {
			a.Exceptions = []visits.Exception{{Kind: "off", Date: "2026-12-24", Until: "2026-12-23"}}
		}, "exceptions"},
		{"extra without hours", func(a *visits.Availability) { a.Exceptions = []visits.Exception{{Kind: "extra", Date: "2026-12-24"}} }, "exceptions"},
		{"half hours", func(a *visits.Availability) {
			a.Exceptions = []visits.Exception{{Kind: "off", Date: "2026-12-24", Start: "10:00"}}
		}, "exceptions"},
		{"too many exceptions", func(a *visits.Availability) {
			for range 101 {
				a.Exceptions = append(a.Exceptions, visits.Exception{Kind: "off", Date: "2026-12-24"})
			}
		}, "exceptions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ok
			a.Weekly = append([]visits.Hours(nil), ok.Weekly...)
			tc.mod(&a)
			err := a.Validate()
			fe := fault.As(err)
			if fe == nil || fe.Kind != fault.Invalid || fe.Field != tc.field || fe.Message == "" {
				t.Fatalf("Validate = %v, want an invalid %s", err, tc.field)
			}
		})
	}
	// Ranges that touch do not overlap.
	touching := ok
	touching.Weekly = []visits.Hours{{Day: "mon", Start: "09:00", End: "12:00"}, {Day: "mon", Start: "12:00", End: "24:00"}}
	if err := touching.Validate(); err != nil {
		t.Errorf("touching ranges refused: %v", err)
	}
}

// BenchmarkComputeSlots is the slot computation of a month of one clinician's calendar: two
// ranges a weekday, 20-minute slots with a 5-minute buffer, a few exceptions, in a zone with a
// daylight-saving change in the month.
func BenchmarkComputeSlots(b *testing.B) {
	a := visits.Availability{TimeZone: "Europe/Madrid", SlotMinutes: 20, BufferMinutes: 5,
		Exceptions: []visits.Exception{{Kind: "off", Date: "2027-03-19"}, {Kind: "extra", Date: "2027-03-20", Start: "10:00", End: "13:00"},
			{Kind: "off", Date: "2027-03-24", Start: "09:00", End: "11:00"}}}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		a.Weekly = append(a.Weekly, visits.Hours{Day: d, Start: "09:00", End: "13:00"}, visits.Hours{Day: d, Start: "15:00", End: "19:00"})
	}
	from := time.Date(2027, 3, 10, 0, 0, 0, 0, time.UTC)
	to := from.Add(visits.MaxSlotWindow)
	b.ReportAllocs()
	for b.Loop() {
		if slots, err := visits.ComputeSlots(a, from, to); err != nil || len(slots) == 0 {
			b.Fatal(len(slots), err)
		}
	}
}
