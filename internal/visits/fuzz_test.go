package visits_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"haven/internal/fault"
	"haven/internal/visits"
)

// FuzzAvailability feeds ParseAvailability, the parser of the hours a clinician (or anyone
// holding a front-desk session) sends, untrusted JSON. Whatever it is given, it answers an
// invalid-input fault or an availability that survives a round trip and whose slots over a
// month, in any window, are ordered, of the set length, inside the window, and bounded in
// number. Seeds are in testdata/fuzz/FuzzAvailability.
func FuzzAvailability(f *testing.F) {
	f.Add([]byte(`{"timeZone":"Europe/Madrid","slotMinutes":20,"weekly":[{"day":"mon","start":"09:00","end":"13:00"}]}`))
	f.Add([]byte(`{"timeZone":"Asia/Kolkata","slotMinutes":240,"bufferMinutes":120,"weekly":[{"day":"wed","start":"00:00","end":"24:00"}],"exceptions":[{"kind":"extra","date":"2026-12-02","start":"23:00","end":"24:00"}]}`))
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := visits.ParseAvailability(data)
		if err != nil {
			if fe := fault.As(err); fe == nil || fe.Kind != fault.Invalid || fe.Message == "" {
				t.Fatalf("ParseAvailability(%q) = %v, want an invalid-input fault", data, err)
			}
			return
		}
		again, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := visits.ParseAvailability(again)
		if err != nil {
			t.Fatalf("the stored form of a valid availability is refused: %v\n%s", err, again)
		}
		if diff := cmp.Diff(a, b); diff != "" {
			t.Fatalf("round trip changed the availability (-first +again):\n%s", diff)
		}
		to := from.Add(visits.MaxSlotWindow)
		slots, err := visits.ComputeSlots(a, from, to)
		if err != nil {
			t.Fatalf("slots of a valid availability: %v", err)
		}
		// At most one slot per 5 minutes of the window, whatever the ranges.
		if limit := int(visits.MaxSlotWindow/(5*time.Minute)) + 1; len(slots) > limit {
			t.Fatalf("%d slots in a month, more than %d", len(slots), limit)
		}
		for i, s := range slots {
			if s.Start.Before(from) || !s.Start.Before(to) {
				t.Fatalf("slot %v outside [%v, %v)", s.Start, from, to)
			}
			if s.End.Sub(s.Start) != time.Duration(a.SlotMinutes)*time.Minute {
				t.Fatalf("slot %v lasts %v, want %d minutes", s.Start, s.End.Sub(s.Start), a.SlotMinutes)
			}
			if i > 0 && !slots[i-1].Start.Before(s.Start) {
				t.Fatalf("slots out of order or repeated at %v", s.Start)
			}
		}
	})
}
