package visits_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/store"
	"haven/internal/store/storetest"
	"haven/internal/visits"
)

// next waits for the next event on ch, failing after a generous deadline.
func next(t *testing.T, ch <-chan visits.Event) visits.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("the subscription ended")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return visits.Event{}
}

// TestFollow: a clinician following their waiting room is online to their waiting patients and
// is told when one checks in; the front desk is told too; a patient may follow their own visit
// and not the waiting room (the refusal recorded); closing the hub ends every subscription.
func TestFollow(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newVisitHarness(t, db)
		p := h.patient("Ada Canary", "ada@example.test")
		id := h.appointment(h.clin.AccountID, p.PatientID, start, visits.StateBooked)

		room, stopRoom, err := h.svc.Follow(ctx, h.clin, "", origin)
		if err != nil {
			t.Fatal(err)
		}
		defer stopRoom()
		desk, stopDesk, err := h.svc.Follow(ctx, h.desk, "", origin)
		if err != nil {
			t.Fatal(err)
		}
		defer stopDesk()
		page, stopPage, err := h.svc.Follow(ctx, p, id, origin)
		if err != nil {
			t.Fatal(err)
		}
		defer stopPage()
		if v, err := h.svc.Visit(ctx, p, id, origin); err != nil || v.ClinicianStatus != visits.StatusOnline {
			t.Fatalf("status with the waiting room open = %+v, %v", v.ClinicianStatus, err)
		}
		if _, err := h.svc.CheckIn(ctx, p, id, origin); err != nil {
			t.Fatal(err)
		}
		for name, ch := range map[string]<-chan visits.Event{"clinician": room, "front desk": desk, "visit page": page} {
			if ev := next(t, ch); ev != (visits.Event{Kind: "check-in", AppointmentID: id}) {
				t.Fatalf("%s got %+v", name, ev)
			}
		}

		if _, _, err := h.svc.Follow(ctx, p, "", origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("a patient following the waiting room = %v", err)
		}
		if e := h.lastEntry(); e.Action != string(access.ReadWaitingRoom) || e.Outcome != audit.Deny || e.ActorID != p.AccountID {
			t.Fatalf("refusal entry = %+v", e)
		}
		q := h.patient("Bo Other", "bo@example.test")
		if _, _, err := h.svc.Follow(ctx, q, id, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("another patient following the visit = %v", err)
		}

		stopRoom()
		if v, err := h.svc.Visit(ctx, p, id, origin); err != nil || v.ClinicianStatus != visits.StatusNotYetOnline {
			t.Fatalf("status once the waiting room closed = %+v, %v", v.ClinicianStatus, err)
		}
		h.svc.CloseLive()
		for _, ch := range []<-chan visits.Event{desk, page} {
			for range ch { // drain what was sent before the close
			}
		}
		if ch, stop, err := h.svc.Follow(ctx, p, id, origin); err != nil {
			t.Fatal(err)
		} else if _, ok := <-ch; ok {
			t.Fatal("a subscription after the close is open")
		} else {
			stop()
		}
	})
}

// TestHub: one subscription to several topics gets an event published to all of them once; a
// full buffer drops rather than blocks; Close ends subscriptions and a stop after it is harmless.
func TestHub(t *testing.T) {
	h := visits.NewHub()
	ch, stop := h.Subscribe("a", "b")
	h.Publish(visits.Event{Kind: "x"}, "a", "b", "c")
	if ev := next(t, ch); ev.Kind != "x" {
		t.Fatalf("got %+v", ev)
	}
	select {
	case ev := <-ch:
		t.Fatalf("a second copy: %+v", ev)
	default:
	}
	for range 100 {
		h.Publish(visits.Event{Kind: "flood"}, "a")
	}
	if n := h.Subscribers("a"); n != 1 {
		t.Fatalf("subscribers = %d", n)
	}
	stop()
	stop()
	if n := h.Subscribers("b"); n != 0 {
		t.Fatalf("subscribers after stop = %d", n)
	}
	ch2, stop2 := h.Subscribe("a")
	h.Close()
	if _, ok := <-ch2; ok {
		t.Fatal("open after Close")
	}
	stop2()
	h.Close()
}
