package visits_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/principal"
	"haven/internal/store"
	"haven/internal/store/storetest"
	"haven/internal/visits"
)

// TestInteropActsNameTheirTypes: each read for other systems is an act on the type the caller
// asked for, so a connected system's scopes decide it by that type (a Slot scope reads slots,
// not the hours behind them; an Encounter scope reads visits, not appointments).
func TestInteropActsNameTheirTypes(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db, visits.Config{})
		h.madridHours(t, h.drA, false)
		p := h.patient(t, "Ivy Interop")
		ap, err := h.visits.Book(ctx, p, visits.Booking{ClinicianID: "dr-a", Start: at(1, 9, 0)}, origin)
		if err != nil {
			t.Fatal(err)
		}
		system := func(scopes string) access.Subject {
			sc, err := principal.ParseScopes(scopes)
			if err != nil {
				t.Fatal(err)
			}
			return access.Subject{AccountID: "client-1", Role: principal.Integration, Scopes: sc, Interaction: principal.Search}
		}
		from, to := at(1, 0, 0), at(2, 0, 0)
		acts := map[string]func(by access.Subject) error{
			"Slot": func(by access.Subject) error {
				_, err := h.visits.OpenSlots(ctx, by, "dr-a", from, to, origin)
				return err
			},
			"Schedule": func(by access.Subject) error {
				_, err := h.visits.Bookable(ctx, by, "Availability", origin)
				return err
			},
			"Practitioner": func(by access.Subject) error {
				_, err := h.visits.Bookable(ctx, by, "Clinician", origin)
				return err
			},
			"PractitionerRole": func(by access.Subject) error { _, err := h.visits.Roles(ctx, by, origin); return err },
			"Appointment": func(by access.Subject) error {
				if _, err := h.visits.AppointmentByID(ctx, by, ap.ID, origin); err != nil {
					return err
				}
				as, err := h.visits.FindAppointments(ctx, by, visits.AppointmentFilter{From: from, To: to}, origin)
				if err == nil && (len(as) != 1 || as[0].ID != ap.ID || as[0].PatientName != "") {
					t.Errorf("a connected system's list = %+v, want the appointment without a name", as)
				}
				return err
			},
			"Encounter": func(by access.Subject) error {
				if _, err := h.visits.VisitByID(ctx, by, ap.ID, origin); err != nil {
					return err
				}
				_, err := h.visits.PatientVisits(ctx, by, p.PatientID, from, to, origin)
				return err
			},
		}
		for scope := range acts {
			by := system("system/" + scope + ".rs")
			for typ, act := range acts {
				err := act(by)
				if typ == scope && err != nil {
					t.Errorf("a %s scope reading %s: %v", scope, typ, err)
				}
				if typ != scope && !errors.Is(err, guard.ErrForbidden) {
					t.Errorf("a %s scope reading %s = %v, want refused", scope, typ, err)
				}
			}
		}
		// A booking system books for a patient it names, who must exist.
		booker := system("system/Appointment.c")
		booker.Interaction = principal.Create
		if _, err := h.visits.Book(ctx, booker, visits.Booking{ClinicianID: "dr-a", PatientID: "no-such-patient", Start: at(1, 11, 0)}, origin); fault.As(err) == nil || fault.As(err).Kind != fault.Invalid {
			t.Errorf("a system booking for no patient = %v, want invalid", err)
		}
		if b, err := h.visits.Book(ctx, booker, visits.Booking{ClinicianID: "dr-a", PatientID: p.PatientID, Start: at(1, 11, 0)}, origin); err != nil || b.Version != 1 {
			t.Errorf("a system books = %+v, %v", b, err)
		}
		reader := system("system/Appointment.rs")
		reader.Interaction = principal.Create
		if _, err := h.visits.Book(ctx, reader, visits.Booking{ClinicianID: "dr-a", PatientID: p.PatientID, Start: at(1, 11, 30)}, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Errorf("a system without a create scope books: %v", err)
		}
	})
}

// TestAppointmentVersions: booked is version 1 and every change one more; a change made
// against a version no longer current is ErrStale and changes nothing.
func TestAppointmentVersions(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db, visits.Config{})
		h.madridHours(t, h.drA, false)
		p := h.patient(t, "Vic Version")
		other := h.patient(t, "Otto Other")
		ap, err := h.visits.Book(ctx, p, visits.Booking{ClinicianID: "dr-a", Start: at(1, 9, 0)}, origin)
		if err != nil || ap.Version != 1 {
			t.Fatalf("booked %+v, %v; want version 1", ap, err)
		}
		moved, err := h.visits.RescheduleVersion(ctx, p, ap.ID, 1, at(1, 10, 0), origin)
		if err != nil || moved.Version != 2 || !moved.Start.Equal(at(1, 10, 0)) {
			t.Fatalf("moved %+v, %v; want version 2 at 10:00", moved, err)
		}
		if _, err := h.visits.RescheduleVersion(ctx, p, ap.ID, 1, at(1, 11, 0), origin); !errors.Is(err, visits.ErrStale) {
			t.Fatalf("a move from version 1 = %v, want ErrStale", err)
		}
		if err := h.visits.CancelVersion(ctx, p, ap.ID, 1, origin); !errors.Is(err, visits.ErrStale) {
			t.Fatalf("a cancellation from version 1 = %v, want ErrStale", err)
		}
		if err := h.visits.CancelVersion(ctx, p, ap.ID, 2, origin); err != nil {
			t.Fatal(err)
		}
		got, err := h.visits.AppointmentByID(ctx, p, ap.ID, origin)
		if err != nil || got.Version != 3 || got.State != visits.StateCancelled || !got.Start.Equal(at(1, 10, 0)) {
			t.Fatalf("after the changes %+v, %v", got, err)
		}
		// Another patient neither reads it nor lists it, and each refusal is recorded.
		seq := h.lastSeq(t)
		if _, err := h.visits.AppointmentByID(ctx, other, ap.ID, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("another patient reads it: %v", err)
		}
		window := visits.AppointmentFilter{PatientID: p.PatientID, From: at(0, 0, 0), To: at(0, 0, 0).Add(30 * 24 * time.Hour)}
		if _, err := h.visits.FindAppointments(ctx, other, window, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("another patient lists them: %v", err)
		}
		es := h.entries(t, seq)
		if len(es) != 2 || es[0].Outcome != "deny" || es[1].Outcome != "deny" || es[0].PatientID != p.PatientID {
			t.Fatalf("the refusals' entries = %+v", es)
		}
		// Their own list shows it with its version.
		mine, err := h.visits.FindAppointments(ctx, p, visits.AppointmentFilter{From: window.From, To: window.To}, origin)
		if err != nil || len(mine) != 1 || mine[0].Version != 3 {
			t.Fatalf("own list %+v, %v", mine, err)
		}
	})
}
