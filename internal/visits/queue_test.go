package visits_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/guard"
	"haven/internal/store"
	"haven/internal/store/storetest"
	"haven/internal/visits"
)

// TestQueue: patients in care join the on-demand queue once each, see their place, leave; staff
// see the queue; a clinician takes the first, which starts an on-demand visit (waiting to be
// admitted) and gives them the appointment relationship from that moment.
func TestQueue(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newVisitHarness(t, db)
		p := h.patient("Ada Canary", "ada@example.test")
		q := h.patient("Bo Other", "bo@example.test")
		stranger := h.patient("Cy Nobody", "cy@example.test")
		if _, err := db.ExecContext(ctx, `DELETE FROM care_team WHERE patient_id = $1`, stranger.PatientID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.JoinQueue(ctx, stranger, origin); !errors.Is(err, visits.ErrNotInCare) {
			t.Fatalf("a patient in no one's care joining = %v", err)
		}
		if _, err := h.svc.JoinQueue(ctx, h.clin, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("a clinician joining = %v", err)
		}
		first, err := h.svc.JoinQueue(ctx, p, origin)
		if err != nil || first.Place != 1 {
			t.Fatalf("join = %+v, %v", first, err)
		}
		h.clock.Advance(time.Second)
		if again, err := h.svc.JoinQueue(ctx, p, origin); err != nil || again.QueueID != first.QueueID || again.Place != 1 {
			t.Fatalf("joining again = %+v, %v, want the same place", again, err)
		}
		if second, err := h.svc.JoinQueue(ctx, q, origin); err != nil || second.Place != 2 {
			t.Fatalf("second = %+v, %v", second, err)
		}
		list, err := h.svc.Queue(ctx, h.desk, origin)
		if err != nil || len(list) != 2 || list[0].PatientName != "Ada Canary" || list[1].PatientName != "Bo Other" {
			t.Fatalf("queue = %+v, %v", list, err)
		}
		if es := h.entries(string(access.ReadQueue)); len(es) != 2 || es[0].PatientID == es[1].PatientID {
			t.Fatalf("queue.read entries = %+v, want one per patient shown", es)
		}
		if err := h.svc.LeaveQueue(ctx, p, origin); err != nil {
			t.Fatal(err)
		}
		if err := h.svc.LeaveQueue(ctx, p, origin); !errors.Is(err, visits.ErrNotQueued) {
			t.Fatalf("leaving twice = %v", err)
		}
		if _, err := h.svc.MyQueuePlace(ctx, p, origin); !errors.Is(err, visits.ErrNotQueued) {
			t.Fatalf("place after leaving = %v", err)
		}
		if place, err := h.svc.MyQueuePlace(ctx, q, origin); err != nil || place.Place != 1 {
			t.Fatalf("moved up = %+v, %v", place, err)
		}

		// clin-1 has no relationship with Bo until they take him.
		if _, err := h.records.Get(ctx, h.clin, q.PatientID, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("before taking = %v", err)
		}
		v, err := h.svc.TakeNext(ctx, h.clin, origin)
		if err != nil || v.PatientID != q.PatientID || v.Kind != visits.KindOnDemand || v.State != visits.StateWaiting || v.PatientName != "Bo Other" {
			t.Fatalf("take = %+v, %v", v, err)
		}
		if _, err := h.svc.TakeNext(ctx, h.other, origin); !errors.Is(err, visits.ErrQueueEmpty) {
			t.Fatalf("taking from an empty queue = %v", err)
		}
		if place, err := h.svc.MyQueuePlace(ctx, q, origin); err != nil || place.AppointmentID != v.ID {
			t.Fatalf("the patient's place once taken = %+v, %v", place, err)
		}
		if _, err := h.records.Get(ctx, h.clin, q.PatientID, origin); err != nil {
			t.Fatalf("the appointment relationship from the take: %v", err)
		}
		if e := h.entries(string(access.TakeFromQueue)); len(e) != 1 || e[0].PatientID != q.PatientID {
			t.Fatalf("queue.take entries = %+v", e)
		}
		// The visit goes on as any other: admitted once the consent is accepted.
		if _, err := h.svc.Admit(ctx, h.clin, v.ID, origin); !errors.Is(err, visits.ErrConsentNeeded) {
			t.Fatalf("admit without consent = %v", err)
		}
		h.accept(q)
		if v, err := h.svc.Admit(ctx, h.clin, v.ID, origin); err != nil || v.State != visits.StateInProgress {
			t.Fatalf("admit = %+v, %v", v, err)
		}
	})
}

// TestTakeNextRace: two clinicians take from the queue at the same moment, round after round:
// each patient is taken exactly once, by one of them, and the other is told no one waits.
func TestTakeNextRace(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newVisitHarness(t, db)
		const rounds = 8
		for i := range rounds {
			p := h.patient("Queue Patient", "queue"+itoa(i)+"@example.test")
			if _, err := h.svc.JoinQueue(ctx, p, origin); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			begin := make(chan struct{})
			for j, c := range []access.Subject{h.clin, h.other} {
				wg.Go(func() {
					<-begin
					_, errs[j] = h.svc.TakeNext(ctx, c, origin)
				})
			}
			close(begin)
			wg.Wait()
			won := 0
			for _, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, visits.ErrQueueEmpty):
					t.Fatalf("round %d: %v", i, err)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d clinicians took the patient (%v)", i, won, errs)
			}
			h.clock.Advance(time.Minute)
		}
		var visitsMade, taken int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM appointments WHERE kind = 'on-demand'`).Scan(&visitsMade); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM visit_queue WHERE taken_by IS NOT NULL AND appointment_id IS NOT NULL`).Scan(&taken); err != nil {
			t.Fatal(err)
		}
		if visitsMade != rounds || taken != rounds {
			t.Fatalf("%d on-demand visits and %d places taken for %d patients", visitsMade, taken, rounds)
		}
	})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestTakeNextBesideABookingAtTheSameInstant: a clinician with a booking starting at this very
// instant still takes from the queue (the on-demand visit starts a microsecond later).
func TestTakeNextBesideABookingAtTheSameInstant(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newVisitHarness(t, db)
		p := h.patient("Ada Canary", "ada@example.test")
		h.appointment(h.clin.AccountID, p.PatientID, h.clock.Now(), visits.StateBooked)
		if _, err := h.svc.JoinQueue(ctx, p, origin); err != nil {
			t.Fatal(err)
		}
		if v, err := h.svc.TakeNext(ctx, h.clin, origin); err != nil || !v.Start.After(h.clock.Now()) {
			t.Fatalf("take = %+v, %v", v, err)
		}
	})
}
