package visits_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/store"
	"haven/internal/store/storetest"
	"haven/internal/visits"
)

func wantKind(t *testing.T, what string, err error, kind fault.Kind, field string) {
	t.Helper()
	fe := fault.As(err)
	if fe == nil || fe.Kind != kind || fe.Field != field {
		t.Fatalf("%s = %v, want %v %s", what, err, kind, field)
	}
}

// TestSetAvailability: a clinician sets their own hours without a step-up, not a colleague's;
// the front desk sets anyone's, but only a clinician's; a patient and an administrator cannot.
func TestSetAvailability(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db, visits.Config{})
		a := visits.Availability{TimeZone: "Europe/Madrid", SlotMinutes: 20, BufferMinutes: 5,
			Weekly:     []visits.Hours{{Day: "mon", Start: "09:00", End: "13:00"}},
			Exceptions: []visits.Exception{{Kind: "off", Date: "2026-12-24", Until: "2026-12-26"}}}
		stale := h.drA
		stale.FactorAt = time.Time{}
		if err := h.visits.SetAvailability(ctx, stale, "dr-a", a, origin); err != nil {
			t.Fatalf("a clinician's own hours, no recent factor: %v", err)
		}
		got, err := h.visits.Availability(ctx, h.desk, "dr-a", origin)
		if err != nil || got.SlotMinutes != 20 || got.BufferMinutes != 5 || len(got.Weekly) != 1 || len(got.Exceptions) != 1 {
			t.Fatalf("availability = %+v, %v", got, err)
		}
		for _, tc := range []struct {
			name string
			by   access.Subject
			id   string
			want error
		}{
			{"a colleague's", h.drA, "dr-b", guard.ErrForbidden},
			{"a patient", h.patient(t, "Pat Patient"), "dr-a", guard.ErrForbidden},
			{"an administrator", h.admin, "dr-a", guard.ErrForbidden},
			{"the front desk", h.desk, "dr-b", nil},
		} {
			if err := h.visits.SetAvailability(ctx, tc.by, tc.id, a, origin); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		err = h.visits.SetAvailability(ctx, h.desk, "admin-1", a, origin)
		wantKind(t, "hours for an administrator's account", err, fault.Invalid, "id")
		bad := a
		bad.SlotMinutes = 1
		wantKind(t, "a one-minute slot", h.visits.SetAvailability(ctx, h.drA, "dr-a", bad, origin), fault.Invalid, "slotMinutes")
		if _, err := h.visits.Availability(ctx, h.desk, "no-such-account", origin); !errors.Is(err, visits.ErrNoClinician) {
			t.Errorf("hours of no one = %v, want ErrNoClinician", err)
		}
		if _, err := h.visits.Availability(ctx, h.desk, "desk-1", origin); !errors.Is(err, visits.ErrNoClinician) {
			t.Errorf("hours of the front desk = %v, want ErrNoClinician", err)
		}
	})
}

// TestSlotsService: the free slots of a window less the booked ones and those past; a window
// over 31 days is refused as an invalid "to".
func TestSlotsService(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db, visits.Config{})
		h.madridHours(t, h.drA, false)
		p := h.patient(t, "Sam Slots")
		h.clock.Advance(90 * time.Minute) // 10:30 in Madrid: today's first three slots are past
		slots, err := h.visits.Slots(ctx, p, "dr-a", at(0, 0, 0), at(1, 0, 0), origin)
		if err != nil || len(slots) != 5 || !slots[0].Start.Equal(at(0, 10, 30)) {
			t.Fatalf("today's slots = %v, %v; want 5 from 10:30", slots, err)
		}
		if _, err := h.visits.Book(ctx, p, visits.Booking{ClinicianID: "dr-a", Start: at(0, 11, 0)}, origin); err != nil {
			t.Fatal(err)
		}
		slots, _ = h.visits.Slots(ctx, p, "dr-a", at(0, 0, 0), at(1, 0, 0), origin)
		if len(slots) != 4 || slots[1].Start.Equal(at(0, 11, 0)) {
			t.Fatalf("after booking 11:00, slots = %v", slots)
		}
		_, err = h.visits.Slots(ctx, p, "dr-a", at(0, 0, 0), at(32, 0, 0), origin)
		wantKind(t, "a 32-day window", err, fault.Invalid, "to")
		_, err = h.visits.Slots(ctx, p, "dr-a", at(1, 0, 0), at(0, 0, 0), origin)
		wantKind(t, "a window ending before it starts", err, fault.Invalid, "to")
		if slots, err := h.visits.Slots(ctx, p, "dr-b", at(0, 0, 0), at(1, 0, 0), origin); err != nil || len(slots) != 0 {
			t.Fatalf("slots of a clinician with no hours = %v, %v", slots, err)
		}
		if _, err := h.visits.Slots(ctx, p, "nobody", at(0, 0, 0), at(1, 0, 0), origin); !errors.Is(err, visits.ErrNoClinician) {
			t.Fatalf("slots of no one = %v", err)
		}
		if _, err := h.visits.Slots(ctx, h.admin, "dr-a", at(0, 0, 0), at(1, 0, 0), origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("an administrator reads slots: %v", err)
		}
		// A disabled clinician keeps their hours but offers no slot, and cannot be booked.
		if _, err := db.ExecContext(ctx, `UPDATE accounts SET status = 'disabled' WHERE id = 'dr-a'`); err != nil {
			t.Fatal(err)
		}
		if slots, err := h.visits.Slots(ctx, p, "dr-a", at(1, 0, 0), at(2, 0, 0), origin); err != nil || len(slots) != 0 {
			t.Fatalf("a disabled clinician's slots = %v, %v", slots, err)
		}
		_, err = h.visits.Book(ctx, p, visits.Booking{ClinicianID: "dr-a", Start: at(1, 9, 0)}, origin)
		wantKind(t, "booking a disabled clinician", err, fault.Invalid, "clinicianId")
	})
}

// TestBookingRules: who may book what, and the answers of what cannot be booked.
func TestBookingRules(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db, visits.Config{})
		h.madridHours(t, h.drA, false)
		h.madridHours(t, h.drB, true)
		p, q := h.patient(t, "Pia Patient"), h.patient(t, "Quin Other")

		ap, err := h.visits.Book(ctx, p, visits.Booking{ClinicianID: "dr-a", Start: at(1, 9, 0)}, origin)
		if err != nil || ap.State != visits.StateBooked || ap.Kind != visits.KindScheduled || ap.PatientID != p.PatientID || !ap.End.Equal(at(1, 9, 30)) {
			t.Fatalf("booking = %+v, %v", ap, err)
		}
		if _, err := h.visits.Book(ctx, q, visits.Booking{ClinicianID: "dr-a", Start: at(1, 9, 0)}, origin); !errors.Is(err, visits.ErrSlotTaken) {
			t.Fatalf("the same slot again = %v, want ErrSlotTaken", err)
		}

		// A clinician not caring for the patient, without open booking: refused and recorded.
		before := h.lastSeq(t)
		_, err = h.visits.Book(ctx, p, visits.Booking{ClinicianID: "dr-b", Start: at(1, 9, 0)}, origin)
		if fe := fault.As(err); fe == nil || fe.Kind != fault.Forbidden || !strings.Contains(fe.Message, "call the clinic") {
			t.Fatalf("booking a clinician not caring for the patient = %v", err)
		}
		if es := h.entries(t, before); len(es) != 1 || es[0].Outcome != audit.Deny || es[0].Reason != visits.ReasonNotBookable || es[0].PatientID != p.PatientID {
			t.Fatalf("entries = %+v, want one refusal clinician-not-bookable", es)
		}

		for _, tc := range []struct {
			name  string
			by    access.Subject
			b     visits.Booking
			kind  fault.Kind
			field string
		}{
			{"for another patient", p, visits.Booking{ClinicianID: "dr-a", PatientID: q.PatientID, Start: at(1, 10, 0)}, fault.Forbidden, ""},
			{"off the grid", p, visits.Booking{ClinicianID: "dr-a", Start: at(1, 9, 10)}, fault.Invalid, "start"},
			{"outside the hours", p, visits.Booking{ClinicianID: "dr-a", Start: at(1, 13, 0)}, fault.Invalid, "start"},
			{"on a Saturday", p, visits.Booking{ClinicianID: "dr-a", Start: at(4, 9, 0)}, fault.Invalid, "start"},
			{"in the past", p, visits.Booking{ClinicianID: "dr-a", Start: at(-1, 9, 0)}, fault.Invalid, "start"},
			{"past the horizon", p, visits.Booking{ClinicianID: "dr-a", Start: at(91, 9, 0)}, fault.Invalid, "start"},
			{"no time", p, visits.Booking{ClinicianID: "dr-a"}, fault.Invalid, "start"},
			{"no such clinician", p, visits.Booking{ClinicianID: "desk-1", Start: at(1, 9, 30)}, fault.Invalid, "clinicianId"},
			{"front desk without a patient", h.desk, visits.Booking{ClinicianID: "dr-a", Start: at(1, 9, 30)}, fault.Invalid, "patientId"},
			{"front desk, no such patient", h.desk, visits.Booking{ClinicianID: "dr-a", PatientID: "nobody", Start: at(1, 9, 30)}, fault.Invalid, "patientId"},
			{"a clinician for a patient not in care", h.drB, visits.Booking{PatientID: p.PatientID, Start: at(1, 9, 30)}, fault.Forbidden, ""},
			{"a clinician in a colleague's schedule", h.drA, visits.Booking{ClinicianID: "dr-b", PatientID: p.PatientID, Start: at(1, 9, 30)}, fault.Forbidden, ""},
			{"an administrator", h.admin, visits.Booking{ClinicianID: "dr-a", PatientID: p.PatientID, Start: at(1, 9, 30)}, fault.Forbidden, ""},
		} {
			_, err := h.visits.Book(ctx, tc.by, tc.b, origin)
			if fe := fault.As(err); fe == nil || fe.Kind != tc.kind || fe.Field != tc.field {
				t.Errorf("%s: %v, want %v %q", tc.name, err, tc.kind, tc.field)
			}
		}
		// The front desk books for any patient, beyond the patients' horizon; a clinician books
		// a follow-up in their own schedule.
		if _, err := h.visits.Book(ctx, h.desk, visits.Booking{ClinicianID: "dr-b", PatientID: q.PatientID, Start: at(120, 9, 0)}, origin); err != nil {
			t.Fatalf("front desk beyond the horizon: %v", err)
		}
		if _, err := h.visits.Book(ctx, h.drA, visits.Booking{PatientID: q.PatientID, Start: at(2, 9, 0)}, origin); err != nil {
			t.Fatalf("a follow-up: %v", err)
		}
		var rows int
		db.QueryRow(`SELECT COUNT(*) FROM appointments`).Scan(&rows)
		if rows != 3 {
			t.Fatalf("%d appointment rows, want 3", rows)
		}
	})
}

// TestOpenBooking: with open booking, a patient may book a clinician who accepts new patients,
// and only such a one; the clinicians listed for them say which cares for them already.
func TestOpenBooking(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db, visits.Config{OpenBooking: true})
		h.madridHours(t, h.drA, false)
		h.madridHours(t, h.drB, true)
		p := h.patient(t, "Olga Open")
		cs, err := h.visits.Clinicians(ctx, p, origin)
		if err != nil || len(cs) != 2 || cs[0].ID != "dr-a" || !cs[0].InCare || cs[1].ID != "dr-b" || cs[1].InCare {
			t.Fatalf("clinicians = %+v, %v", cs, err)
		}
		if _, err := h.visits.Book(ctx, p, visits.Booking{ClinicianID: "dr-b", Start: at(1, 9, 0)}, origin); err != nil {
			t.Fatalf("booking a clinician accepting new patients: %v", err)
		}
		// Not accepting any more: the patient booked already, so dr B cares for them now.
		h.madridHours(t, h.drB, false)
		if cs, _ := h.visits.Clinicians(ctx, p, origin); len(cs) != 2 || !cs[1].InCare {
			t.Fatalf("clinicians after booking = %+v", cs)
		}
		other := h.patient(t, "Nina New")
		if cs, _ := h.visits.Clinicians(ctx, other, origin); len(cs) != 1 {
			t.Fatalf("a new patient's clinicians = %+v, want only dr A", cs)
		}
		if _, err := h.visits.Book(ctx, other, visits.Booking{ClinicianID: "dr-b", Start: at(1, 9, 30)}, origin); !fault.Is(err, fault.Forbidden) {
			t.Fatalf("booking a clinician no longer accepting new patients = %v", err)
		}
		if cs, err := h.visits.Clinicians(ctx, h.desk, origin); err != nil || len(cs) != 2 {
			t.Fatalf("the front desk's clinicians = %+v, %v", cs, err)
		}
	})
}

// TestConcurrentBookingOneWinner: 50 patients ask for the same slot at once. The database
// lets exactly one through; the others are told the slot is taken; each attempt is recorded.
func TestConcurrentBookingOneWinner(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db, visits.Config{})
		h.madridHours(t, h.drA, false)
		const n = 50
		patients := make([]access.Subject, n)
		for i := range patients {
			patients[i] = h.patient(t, fmt.Sprintf("Racer %02d", i))
		}
		before := h.lastSeq(t)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, n)
		for i, p := range patients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = h.visits.Book(ctx, p, visits.Booking{ClinicianID: "dr-a", Start: at(1, 10, 0)}, origin)
			}()
		}
		close(start)
		wg.Wait()
		won, lost := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, visits.ErrSlotTaken):
				lost++
			default:
				t.Errorf("unexpected answer: %v", err)
			}
		}
		var rows int
		db.QueryRow(`SELECT COUNT(*) FROM appointments WHERE clinician_id = 'dr-a'`).Scan(&rows)
		if won != 1 || lost != n-1 || rows != 1 {
			t.Fatalf("won %d, lost %d, rows %d; want 1, %d, 1", won, lost, rows, n-1)
		}
		books := 0
		for _, e := range h.entries(t, before) {
			if e.Action == string(access.BookAppointment) && e.Outcome == audit.Allow {
				books++
			}
		}
		if books != n {
			t.Fatalf("%d appointment.book entries, want %d (every attempt)", books, n)
		}
	})
}

// TestRescheduleKeepsBookingWhenTaken: moving to a taken slot answers ErrSlotTaken and leaves
// the appointment where it was; moving to a free one frees the old slot.
func TestRescheduleKeepsBookingWhenTaken(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db, visits.Config{})
		h.madridHours(t, h.drA, false)
		p, q := h.patient(t, "Mona Mover"), h.patient(t, "Tara Taken")
		mine, err := h.visits.Book(ctx, p, visits.Booking{ClinicianID: "dr-a", Start: at(1, 9, 0)}, origin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.visits.Book(ctx, q, visits.Booking{ClinicianID: "dr-a", Start: at(1, 10, 0)}, origin); err != nil {
			t.Fatal(err)
		}
		if _, err := h.visits.Reschedule(ctx, p, mine.ID, at(1, 10, 0), origin); !errors.Is(err, visits.ErrSlotTaken) {
			t.Fatalf("moving to a taken slot = %v, want ErrSlotTaken", err)
		}
		list, err := h.visits.Appointments(ctx, p, at(1, 0, 0), at(2, 0, 0), origin)
		if err != nil || len(list) != 1 || !list[0].Start.Equal(at(1, 9, 0)) || list[0].State != visits.StateBooked {
			t.Fatalf("after the refused move: %+v, %v", list, err)
		}
		moved, err := h.visits.Reschedule(ctx, p, mine.ID, at(1, 11, 0), origin)
		if err != nil || moved.ID != mine.ID || !moved.Start.Equal(at(1, 11, 0)) {
			t.Fatalf("move = %+v, %v", moved, err)
		}
		slots, _ := h.visits.Slots(ctx, q, "dr-a", at(1, 9, 0), at(1, 9, 30), origin)
		if len(slots) != 1 {
			t.Fatalf("the old slot was not freed: %v", slots)
		}
		if _, err := h.visits.Reschedule(ctx, p, mine.ID, at(1, 11, 15), origin); !fault.Is(err, fault.Invalid) {
			t.Fatalf("moving off the grid = %v", err)
		}
		if _, err := h.visits.Reschedule(ctx, q, mine.ID, at(1, 12, 0), origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("another patient moves it: %v", err)
		}
	})
}

// TestCancelCutoffAndNoShow: a patient cannot cancel or move inside the cut-off (and is told to
// call the clinic); the front desk can. A no-show is marked only after the start, once.
func TestCancelCutoffAndNoShow(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db, visits.Config{})
		h.madridHours(t, h.drA, false)
		p := h.patient(t, "Cora Cutoff")
		ap, err := h.visits.Book(ctx, p, visits.Booking{ClinicianID: "dr-a", Start: at(0, 10, 30)}, origin) // in 90 minutes
		if err != nil {
			t.Fatal(err)
		}
		before := h.lastSeq(t)
		err = h.visits.Cancel(ctx, p, ap.ID, origin)
		if fe := fault.As(err); fe == nil || fe.Kind != fault.Forbidden || !strings.Contains(fe.Message, "call the clinic") || !strings.Contains(fe.Message, "2 hours") {
			t.Fatalf("cancelling inside the cut-off = %v", err)
		}
		if es := h.entries(t, before); len(es) != 1 || es[0].Reason != visits.ReasonCancelCutoff || es[0].Outcome != audit.Deny {
			t.Fatalf("entries = %+v, want the cut-off refusal", es)
		}
		if _, err := h.visits.Reschedule(ctx, p, ap.ID, at(1, 9, 0), origin); !fault.Is(err, fault.Forbidden) {
			t.Fatalf("moving inside the cut-off = %v", err)
		}
		if err := h.visits.MarkNoShow(ctx, h.desk, ap.ID, origin); !fault.Is(err, fault.Conflict) {
			t.Fatalf("a no-show before the start = %v, want a conflict", err)
		}
		if err := h.visits.MarkNoShow(ctx, p, ap.ID, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("a patient marks their own no-show: %v", err)
		}
		h.clock.Advance(2 * time.Hour)
		if err := h.visits.MarkNoShow(ctx, h.drA, ap.ID, origin); err != nil {
			t.Fatalf("a no-show after the start: %v", err)
		}
		if err := h.visits.MarkNoShow(ctx, h.drA, ap.ID, origin); !fault.Is(err, fault.Conflict) {
			t.Fatalf("a second no-show = %v", err)
		}
		if err := h.visits.Cancel(ctx, h.desk, ap.ID, origin); !fault.Is(err, fault.Conflict) {
			t.Fatalf("cancelling a no-show = %v", err)
		}

		later, err := h.visits.Book(ctx, p, visits.Booking{ClinicianID: "dr-a", Start: at(1, 9, 0)}, origin)
		if err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(20 * time.Hour) // 30 minutes before it
		if err := h.visits.Cancel(ctx, h.desk, later.ID, origin); err != nil {
			t.Fatalf("the front desk cancels inside the cut-off: %v", err)
		}
		if err := h.visits.Cancel(ctx, h.desk, later.ID, origin); !fault.Is(err, fault.Conflict) {
			t.Fatalf("cancelling twice = %v", err)
		}
		if err := h.visits.Cancel(ctx, p, "no-such-appointment", origin); !errors.Is(err, visits.ErrNotFound) {
			t.Fatalf("an unknown appointment = %v, want ErrNotFound", err)
		}
	})
}

// TestAppointmentRelationship: a booking gives the clinician the patient's record with reason
// appointment; cancelling ends it unless another relationship holds; it ends CareDays after
// the visit.
func TestAppointmentRelationship(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db, visits.Config{OpenBooking: true, CareDays: 10})
		h.madridHours(t, h.drB, true)
		p := h.patient(t, "Rita Relation")
		read := func() (bool, string) {
			d := h.policy.Decide(ctx, h.drB, access.ReadRecord, access.Resource{Type: "Patient", ID: p.PatientID, PatientID: p.PatientID})
			return d.Allow, d.Reason
		}
		if ok, _ := read(); ok {
			t.Fatal("dr B reads the record before any booking")
		}
		ap, err := h.visits.Book(ctx, p, visits.Booking{ClinicianID: "dr-b", Start: at(3, 9, 0)}, origin)
		if err != nil {
			t.Fatal(err)
		}
		if ok, reason := read(); !ok || reason != access.ReasonAppointment {
			t.Fatalf("after booking: %v %s, want allow appointment", ok, reason)
		}
		if _, err := h.records.Get(ctx, h.drB, p.PatientID, origin); err != nil {
			t.Fatalf("dr B opens the record: %v", err)
		}
		if err := h.visits.Cancel(ctx, p, ap.ID, origin); err != nil {
			t.Fatal(err)
		}
		if ok, reason := read(); ok {
			t.Fatalf("after cancelling: %v %s, want refused", ok, reason)
		}
		// Another relationship holds: the patient's other booking.
		if _, err := h.visits.Book(ctx, p, visits.Booking{ClinicianID: "dr-b", Start: at(6, 9, 0)}, origin); err != nil {
			t.Fatal(err)
		}
		if ok, _ := read(); !ok {
			t.Fatal("a second booking gives no relationship")
		}
		h.clock.Advance(6*24*time.Hour + 10*24*time.Hour) // 10 days after the visit, just before its end
		if ok, _ := read(); !ok {
			t.Fatal("the relationship ended before the window")
		}
		h.clock.Advance(24 * time.Hour)
		if ok, reason := read(); ok {
			t.Fatalf("after the window: %v %s, want refused", ok, reason)
		}
	})
}

// TestAppointmentViews: the patient sees their own with the clinician's name; a clinician
// their schedule with the patients' names; the front desk the clinic's; each patient shown is
// one entry in their access log; an unknown id is not found, another's forbidden.
func TestAppointmentViews(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db, visits.Config{})
		h.madridHours(t, h.drA, false)
		h.madridHours(t, h.drB, false)
		p, q := h.patient(t, "Vera View"), h.patient(t, "Will Watch")
		for i, b := range []struct {
			by access.Subject
			b  visits.Booking
		}{
			{p, visits.Booking{ClinicianID: "dr-a", Start: at(1, 9, 0)}},
			{p, visits.Booking{ClinicianID: "dr-a", Start: at(2, 9, 0)}},
			{q, visits.Booking{ClinicianID: "dr-a", Start: at(1, 9, 30)}},
			{h.desk, visits.Booking{ClinicianID: "dr-b", PatientID: q.PatientID, Start: at(1, 10, 0)}},
		} {
			if _, err := h.visits.Book(ctx, b.by, b.b, origin); err != nil {
				t.Fatalf("booking %d: %v", i, err)
			}
		}
		from, to := at(0, 0, 0), at(7, 0, 0)
		count := func(by access.Subject, want int, names bool) {
			t.Helper()
			before := h.lastSeq(t)
			list, err := h.visits.Appointments(ctx, by, from, to, origin)
			if err != nil || len(list) != want {
				t.Fatalf("%s sees %d appointments (%v), want %d", by.Role, len(list), err, want)
			}
			patients := map[string]bool{}
			for _, a := range list {
				patients[a.PatientID] = true
				if names && a.PatientName == "" || !names && (a.PatientName != "" || a.ClinicianID == "") {
					t.Errorf("%s sees %+v", by.Role, a)
				}
			}
			es := h.entries(t, before)
			if len(es) != len(patients) {
				t.Fatalf("%s's list left %d entries for %d patients: %+v", by.Role, len(es), len(patients), es)
			}
			for _, e := range es {
				if !patients[e.PatientID] || e.Action != string(access.ListAppointments) {
					t.Errorf("entry %+v", e)
				}
			}
		}
		count(p, 2, false)
		count(h.drA, 3, true)
		count(h.drB, 1, true)
		count(h.desk, 4, true)
		if _, err := h.visits.Appointments(ctx, h.admin, from, to, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("an administrator lists appointments: %v", err)
		}
		list, _ := h.visits.Appointments(ctx, p, from, to, origin)
		if list[0].ClinicianName != "" && list[0].ClinicianID != "dr-a" {
			t.Fatalf("patient view %+v", list[0])
		}
		_, err := h.visits.Appointments(ctx, p, from, from.AddDate(2, 0, 0), origin)
		wantKind(t, "a two-year list", err, fault.Invalid, "to")
		// Someone else's appointment: refused by the door, whatever its state; an unknown one is
		// not found.
		err = h.visits.Cancel(ctx, q, list[0].ID, origin)
		if !errors.Is(err, guard.ErrForbidden) || fault.As(err).Message != guard.ErrForbidden.Message {
			t.Fatalf("another patient's appointment = %v, want the door's refusal", err)
		}
		if err := h.visits.MarkNoShow(ctx, h.drB, list[0].ID, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("a clinician not caring for the patient = %v", err)
		}
	})
}
