package visits

import (
	"encoding/json"
	"testing"
	"time"
)

// TestSteadyDayAgreesWithTheWallClock: on every day steadyDay calls steady, in zones with
// ordinary, half-hour and midnight daylight-saving changes, midnight plus m minutes is the
// instant localInstant finds for minute m, so the fast path never moves a slot.
func TestSteadyDayAgreesWithTheWallClock(t *testing.T) {
	for _, name := range []string{"Europe/Madrid", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Beirut", "America/Havana", "UTC"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		unsteady := 0
		for day := time.Date(2027, 1, 1, 12, 0, 0, 0, loc); day.Year() == 2027; day = time.Date(day.Year(), day.Month(), day.Day()+1, 12, 0, 0, 0, loc) {
			midnight, steady := steadyDay(loc, day)
			if !steady {
				unsteady++
				continue
			}
			for m := 0; m < 24*60; m += 5 {
				want, ok := localInstant(loc, day, m)
				if got := midnight.Add(time.Duration(m) * time.Minute); !ok || !got.Equal(want) {
					t.Fatalf("%s %s minute %d: fast path %s, wall clock %s (exists %v)", name, day.Format("2006-01-02"), m, got, want, ok)
				}
			}
		}
		if name != "UTC" && unsteady == 0 {
			t.Errorf("%s: no day of 2027 with a change; the probe is wrong", name)
		}
	}
}

// TestSlotJSONIsTheStandardEncoding: Slot's own MarshalJSON writes what encoding/json writes.
func TestSlotJSONIsTheStandardEncoding(t *testing.T) {
	madrid, _ := time.LoadLocation("Europe/Madrid")
	for _, s := range []Slot{
		{Start: time.Date(2027, 3, 28, 9, 0, 0, 0, time.UTC), End: time.Date(2027, 3, 28, 9, 20, 0, 0, time.UTC)},
		{Start: time.Date(2027, 10, 31, 9, 0, 0, 0, madrid), End: time.Date(2027, 10, 31, 9, 20, 0, 500, madrid)},
		{},
	} {
		type plain Slot
		want, err := json.Marshal(plain(s))
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(s)
		if err != nil || string(got) != string(want) {
			t.Errorf("json.Marshal(%v) = %s, %v; want %s", s, got, err, want)
		}
	}
}
