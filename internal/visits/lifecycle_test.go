package visits_test

import (
	"context"
	"errors"
	"strings"
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

// TestVisitLifecycle is a visit from booking to its summary: the patient accepts the consent,
// checks in, answers the intake and agrees to guests; the clinician (in care by the
// appointment alone) sees them in the waiting room with the answers, the front desk without;
// the clinician admits and ends the visit with a summary, which the patient reads with the
// receipt. Each move is its own entry, and the summary is a note of the record.
func TestVisitLifecycle(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newVisitHarness(t, db)
		p := h.patient("Ada Canary", "ada@example.test")
		id := h.appointment(h.clin.AccountID, p.PatientID, start, visits.StateBooked)

		v, err := h.svc.Visit(ctx, p, id, origin)
		if err != nil || v.State != visits.StateBooked || v.ConsentCurrent || v.ClinicianStatus != visits.StatusNotYetOnline || !v.Opens.Equal(start.Add(-15*time.Minute)) {
			t.Fatalf("booked visit = %+v, %v", v, err)
		}
		h.accept(p)
		if v, err = h.svc.CheckIn(ctx, p, id, origin); err != nil || v.State != visits.StateWaiting || v.Place != 1 || !v.ConsentCurrent {
			t.Fatalf("checked in = %+v, %v", v, err)
		}
		if err := h.svc.SubmitIntake(ctx, p, id, visits.Intake{Reason: "  a cough that lingers \r\n", Medications: "none"}, origin); err != nil {
			t.Fatal(err)
		}
		if err := h.svc.AllowGuests(ctx, p, id, origin); err != nil {
			t.Fatal(err)
		}

		room, err := h.svc.WaitingRoom(ctx, h.clin, origin)
		if err != nil || len(room) != 1 || room[0].PatientName != "Ada Canary" || room[0].Intake == nil || room[0].Intake.Reason != "a cough that lingers" {
			t.Fatalf("clinician's waiting room = %+v, %v", room, err)
		}
		if e := h.lastEntry(); e.Action != string(access.ReadWaitingRoom) || e.PatientID != p.PatientID || e.Reason != access.ReasonAppointment {
			t.Fatalf("waiting room entry = %+v, want one naming the patient, by the appointment", e)
		}
		desk, err := h.svc.WaitingRoom(ctx, h.desk, origin)
		if err != nil || len(desk) != 1 || desk[0].Intake != nil || desk[0].PatientName != "Ada Canary" {
			t.Fatalf("front desk's waiting room = %+v, %v", desk, err)
		}
		if other, err := h.svc.WaitingRoom(ctx, h.other, origin); err != nil || len(other) != 0 {
			t.Fatalf("another clinician's waiting room = %+v, %v", other, err)
		}

		if v, err = h.svc.Admit(ctx, h.clin, id, origin); err != nil || v.State != visits.StateInProgress || v.ClinicianStatus != visits.StatusInThisVisit {
			t.Fatalf("admitted = %+v, %v", v, err)
		}
		h.clock.Advance(20 * time.Minute)
		if v, err = h.svc.End(ctx, h.clin, id, visits.Ending{Summary: "Synthetic summary: rest and fluids."}, origin); err != nil || v.State != visits.StateEnded {
			t.Fatalf("ended = %+v, %v", v, err)
		}

		mine, err := h.svc.Visit(ctx, p, id, origin)
		if err != nil || mine.Summary != "Synthetic summary: rest and fluids." || len(mine.Receipt) < 5 || mine.EndedAt.IsZero() {
			t.Fatalf("the patient's ended visit = %+v, %v", mine, err)
		}
		if !strings.Contains(strings.Join(mine.Receipt, " "), "did not record the video or the sound") {
			t.Fatalf("receipt = %q", mine.Receipt)
		}
		rec, err := h.records.Get(ctx, p, p.PatientID, origin)
		if err != nil || len(rec.Notes) != 1 || rec.Notes[0].Body != "Synthetic summary: rest and fluids." || rec.Notes[0].AuthorID != h.clin.AccountID {
			t.Fatalf("record = %+v, %v", rec, err)
		}
		for _, a := range []access.Action{access.AcceptConsent, access.CheckIn, access.WriteIntake, access.AllowGuests, access.AdmitPatient, access.EndVisit, access.WriteNote} {
			es := h.entries(string(a))
			if len(es) != 1 || es[0].Outcome != audit.Allow || es[0].PatientID != p.PatientID {
				t.Errorf("%s entries = %+v, want one allowed entry naming the patient", a, es)
			}
		}
	})
}

// TestIllegalTransitions: every move from a state that does not allow it is refused with a
// conflict in people's words, and the row stays as it was.
func TestIllegalTransitions(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newVisitHarness(t, db)
		p := h.patient("Ada Canary", "ada@example.test")
		h.accept(p)
		moves := map[string]func(id string) error{
			"check-in": func(id string) error { _, err := h.svc.CheckIn(ctx, p, id, origin); return err },
			"intake": func(id string) error {
				return h.svc.SubmitIntake(ctx, p, id, visits.Intake{Reason: "synthetic"}, origin)
			},
			"allow-guests": func(id string) error { return h.svc.AllowGuests(ctx, p, id, origin) },
			"admit":        func(id string) error { _, err := h.svc.Admit(ctx, h.clin, id, origin); return err },
			"end": func(id string) error {
				_, err := h.svc.End(ctx, h.clin, id, visits.Ending{Summary: "synthetic"}, origin)
				return err
			},
		}
		for _, tc := range []struct {
			state, move string
			want        error
		}{
			{visits.StateBooked, "admit", visits.ErrNotCheckedIn},
			{visits.StateBooked, "end", visits.ErrNotStarted},
			{visits.StateWaiting, "end", visits.ErrNotStarted},
			{visits.StateInProgress, "check-in", visits.ErrStarted},
			{visits.StateInProgress, "admit", visits.ErrStarted},
			{visits.StateInProgress, "intake", nil}, // a conflict: the visit has started
			{visits.StateEnded, "check-in", visits.ErrEnded},
			{visits.StateEnded, "intake", visits.ErrEnded},
			{visits.StateEnded, "allow-guests", visits.ErrEnded},
			{visits.StateEnded, "admit", visits.ErrEnded},
			{visits.StateEnded, "end", visits.ErrEnded},
			{visits.StateCancelled, "check-in", visits.ErrCancelled},
			// A cancelled booking gives its clinician no care relationship: the door refuses.
			{visits.StateCancelled, "admit", guard.ErrForbidden},
			{visits.StateCancelled, "end", guard.ErrForbidden},
			{visits.StateCancelled, "intake", visits.ErrCancelled},
			{visits.StateNoShow, "check-in", visits.ErrMissed},
			{visits.StateNoShow, "admit", visits.ErrMissed},
			{visits.StateNoShow, "allow-guests", visits.ErrMissed},
		} {
			t.Run(tc.state+"/"+tc.move, func(t *testing.T) {
				id := h.appointment(h.clin.AccountID, p.PatientID, start, tc.state)
				err := moves[tc.move](id)
				if tc.want != guard.ErrForbidden && !fault.Is(err, fault.Conflict) || tc.want != nil && !errors.Is(err, tc.want) {
					t.Fatalf("%s from %s = %v, want the conflict %v", tc.move, tc.state, err, tc.want)
				}
				if got := h.state(id); got != tc.state {
					t.Fatalf("state moved to %s", got)
				}
				// Free the slot for the next case.
				if _, err := db.ExecContext(ctx, `UPDATE appointments SET state = 'cancelled' WHERE id = $1`, id); err != nil {
					t.Fatal(err)
				}
			})
		}

		// Check-in opens OpensBefore the start and closes at the end.
		early := h.appointment(h.clin.AccountID, p.PatientID, start.Add(2*time.Hour), visits.StateBooked)
		if _, err := h.svc.CheckIn(ctx, p, early, origin); !fault.Is(err, fault.Conflict) || !strings.Contains(err.Error(), "15 minutes before") {
			t.Fatalf("check-in two hours early = %v", err)
		}
		late := h.appointment(h.clin.AccountID, p.PatientID, start.Add(-time.Hour), visits.StateBooked)
		if _, err := h.svc.CheckIn(ctx, p, late, origin); !errors.Is(err, visits.ErrTooLate) {
			t.Fatalf("check-in after the end = %v", err)
		}
		// Checking in twice is no change; someone else's visit, or one that does not exist, is
		// refused as the same thing, and recorded.
		id := h.appointment(h.clin.AccountID, p.PatientID, start.Add(5*time.Minute), visits.StateBooked)
		for range 2 {
			if v, err := h.svc.CheckIn(ctx, p, id, origin); err != nil || v.State != visits.StateWaiting {
				t.Fatalf("check-in = %+v, %v", v, err)
			}
		}
		q := h.patient("Bo Other", "bo@example.test")
		for _, target := range []string{id, "no-such-visit", "bad id with spaces"} {
			if _, err := h.svc.CheckIn(ctx, q, target, origin); !errors.Is(err, guard.ErrForbidden) {
				t.Fatalf("another patient checking in to %q = %v, want forbidden", target, err)
			}
			if e := h.lastEntry(); e.Outcome != audit.Deny || e.Action != string(access.CheckIn) || e.ActorID != q.AccountID {
				t.Fatalf("refusal entry = %+v", e)
			}
		}
		if _, err := h.svc.Admit(ctx, h.other, id, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("a clinician with no care relationship admitting = %v", err)
		}
	})
}

// TestAdmitNeedsTheConsentInForce: a visit cannot start before the patient accepts the
// telehealth consent; once a newer version is published they are asked again, an acceptance of
// the old one is refused, and what they accepted can still be read word for word.
func TestAdmitNeedsTheConsentInForce(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newVisitHarness(t, db)
		p := h.patient("Ada Canary", "ada@example.test")
		first := h.svc.CurrentConsent()
		if first.Version != "2026-11" || !strings.Contains(first.Text, "does not record the video or the sound") || len(first.SHA256) != 64 {
			t.Fatalf("consent in force = %+v", first)
		}
		id := h.appointment(h.clin.AccountID, p.PatientID, start, visits.StateBooked)
		if _, err := h.svc.CheckIn(ctx, p, id, origin); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Admit(ctx, h.clin, id, origin); !errors.Is(err, visits.ErrConsentNeeded) {
			t.Fatalf("admit without consent = %v", err)
		}
		if st, err := h.svc.Consent(ctx, p, p.PatientID, origin); err != nil || st.Accepted || st.Current {
			t.Fatalf("consent before accepting = %+v, %v", st, err)
		}
		h.accept(p)
		st, err := h.svc.Consent(ctx, p, p.PatientID, origin)
		if err != nil || !st.Accepted || !st.Current || st.Version != first.Version || st.SHA256 != first.SHA256 || st.Text != first.Text || st.AcceptedAt.IsZero() {
			t.Fatalf("consent accepted = %+v, %v", st, err)
		}

		// A clinic publishes a new text: the patient is asked again.
		newer := h.withService(func(c *visits.Config) {
			c.ConsentTexts = map[string]string{"2027-03": "Synthetic new consent text. Haven does not record video or sound."}
		})
		if v := newer.CurrentConsent().Version; v != "2027-03" {
			t.Fatalf("newest version = %s", v)
		}
		st, err = newer.Consent(ctx, p, p.PatientID, origin)
		if err != nil || !st.Accepted || st.Current || st.Version != first.Version || st.Text != first.Text {
			t.Fatalf("consent after a new version = %+v, %v", st, err)
		}
		if _, err := newer.Admit(ctx, h.clin, id, origin); !errors.Is(err, visits.ErrConsentNeeded) {
			t.Fatalf("admit with an old consent = %v", err)
		}
		if err := newer.AcceptConsent(ctx, p, p.PatientID, first.Version, origin); !errors.Is(err, visits.ErrConsentChanged) {
			t.Fatalf("accepting the old text = %v", err)
		}
		if err := newer.AcceptConsent(ctx, p, p.PatientID, "2027-03", origin); err != nil {
			t.Fatal(err)
		}
		if v, err := newer.Admit(ctx, h.clin, id, origin); err != nil || v.State != visits.StateInProgress {
			t.Fatalf("admit after accepting the new text = %+v, %v", v, err)
		}
		// Staff accept nothing on a patient's behalf, and the refusal is recorded.
		if err := h.svc.AcceptConsent(ctx, h.clin, p.PatientID, "2027-03", origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("a clinician accepting = %v", err)
		}
	})
}

// TestIntakeIsSealed: a canary answer is nowhere in the database's bytes; the patient and the
// clinician read it back; answers are bounded and refused once the visit has started.
func TestIntakeIsSealed(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newVisitHarness(t, db)
		p := h.patient("Ada Canary", "ada@example.test")
		id := h.appointment(h.clin.AccountID, p.PatientID, start, visits.StateBooked)
		const canary = "CANARY-intake-7f3a9c"
		if err := h.svc.SubmitIntake(ctx, p, id, visits.Intake{Reason: "synthetic", Symptoms: canary}, origin); err != nil {
			t.Fatal(err)
		}
		var ct []byte
		if err := db.QueryRowContext(ctx, `SELECT intake_ct FROM appointments WHERE id = $1`, id).Scan(&ct); err != nil {
			t.Fatal(err)
		}
		if len(ct) == 0 || strings.Contains(string(ct), canary) {
			t.Fatalf("intake_ct holds the answer in clear (%d bytes)", len(ct))
		}
		assertNotInDatabase(t, db, canary)
		for _, who := range []access.Subject{p, h.clin} {
			if in, err := h.svc.Intake(ctx, who, id, origin); err != nil || in.Symptoms != canary {
				t.Fatalf("intake read by %s = %+v, %v", who.Role, in, err)
			}
		}
		if _, err := h.svc.Intake(ctx, h.desk, id, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("the front desk reading answers = %v", err)
		}
		for _, bad := range []visits.Intake{{}, {Reason: strings.Repeat("x", visits.MaxIntakeReason+1)}, {Reason: "ok", Questions: "bell\x07"}, {Reason: "\xff"}} {
			if err := h.svc.SubmitIntake(ctx, p, id, bad, origin); !fault.Is(err, fault.Invalid) {
				t.Fatalf("intake %q = %v, want invalid", bad.Reason, err)
			}
		}
	})
}

// assertNotInDatabase fails if needle is anywhere in the database's files (SQLite) or in any
// text or byte column of the visit tables (PostgreSQL).
func assertNotInDatabase(t *testing.T, db *store.DB, needle string) {
	t.Helper()
	if db.Dialect == store.SQLite {
		if _, err := db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(FULL)`); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{db.Path, db.Path + "-wal"} {
			if b, err := readFile(f); err == nil && strings.Contains(string(b), needle) {
				t.Fatalf("%s holds %q in clear", f, needle)
			}
		}
		return
	}
	var n int
	err := db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM appointments a WHERE position($1::bytea in COALESCE(a.intake_ct, ''::bytea)) > 0`, []byte(needle)).Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("appointments holding %q in clear: %d %v", needle, n, err)
	}
}

// TestEndBooksTheFollowUp: ending a visit with a follow-up books it with the clinician through
// Book (its own act); a time already taken, or off the clinician's grid, is said before
// anything ends, and the visit goes on.
func TestEndBooksTheFollowUp(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newVisitHarness(t, db)
		p := h.patient("Ada Canary", "ada@example.test")
		a := visits.Availability{TimeZone: "UTC", SlotMinutes: 30}
		for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
			a.Weekly = append(a.Weekly, visits.Hours{Day: d, Start: "09:00", End: "17:00"})
		}
		if err := h.svc.SetAvailability(ctx, h.clin, h.clin.AccountID, a, origin); err != nil {
			t.Fatal(err)
		}
		first := h.appointment(h.clin.AccountID, p.PatientID, start, visits.StateInProgress)
		second := h.appointment(h.clin.AccountID, p.PatientID, start.Add(-2*time.Hour), visits.StateInProgress)
		next := start.Add(7 * 24 * time.Hour)

		v, err := h.svc.End(ctx, h.clin, first, visits.Ending{Summary: "synthetic", FollowUp: next}, origin)
		if err != nil || v.FollowUpID == "" || v.State != visits.StateEnded {
			t.Fatalf("end with a follow-up = %+v, %v", v, err)
		}
		if got := h.state(v.FollowUpID); got != visits.StateBooked {
			t.Fatalf("follow-up in state %s", got)
		}
		if es := h.entries(string(access.BookAppointment)); len(es) != 1 || es[0].PatientID != p.PatientID || es[0].ActorID != h.clin.AccountID {
			t.Fatalf("booking entries = %+v", es)
		}
		if _, err := h.svc.End(ctx, h.clin, second, visits.Ending{Summary: "synthetic", FollowUp: next}, origin); !errors.Is(err, visits.ErrSlotTaken) {
			t.Fatalf("a follow-up at a taken time = %v", err)
		}
		if _, err := h.svc.End(ctx, h.clin, second, visits.Ending{Summary: "synthetic", FollowUp: next.Add(7 * time.Minute)}, origin); fault.As(err) == nil || fault.As(err).Field != "followUp" {
			t.Fatalf("a follow-up off the grid = %v", err)
		}
		if _, err := h.svc.End(ctx, h.clin, second, visits.Ending{Summary: "synthetic", FollowUp: start.Add(-time.Hour)}, origin); fault.As(err) == nil || fault.As(err).Field != "followUp" {
			t.Fatalf("a follow-up in the past = %v", err)
		}
		if got := h.state(second); got != visits.StateInProgress {
			t.Fatalf("a refused follow-up ended the visit: %s", got)
		}
	})
}
