package privacy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/privacy"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestClosedReportTellsThePatient: the privacy officer closes a report with a finding and a
// note; the note is stored sealed under the patient's key, and the patient reads both beside
// the entry they reported. A closing without a finding or a note is refused and changes
// nothing; no one but the privacy officer may close; a closed report cannot be closed again.
func TestClosedReportTellsThePatient(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		ctx := context.Background()
		po := staff(access.Auditor)
		seq := h.opened(patientA)
		if err := h.svc.Report(ctx, patient(patientA), seq, origin()); err != nil {
			t.Fatal(err)
		}
		queue, err := h.svc.ReviewQueue(ctx, po, origin())
		if err != nil || len(queue) != 1 {
			t.Fatalf("queue = %+v, %v", queue, err)
		}
		r := queue[0]
		if r.Access.Who != "Staff acct-clinician" || r.Access.Role != "clinician" || r.Access.Patient != "Patient "+patientA ||
			r.Access.What != "opened a patient's record" || r.Access.Outcome != "allowed" || r.Access.Why != "in the patient's care team" {
			t.Fatalf("the report reads %+v", r.Access)
		}
		ev, err := h.svc.AccessEntry(ctx, patient(patientA), patientA, seq, origin())
		if err != nil || !ev.Reported || ev.Reportable() || ev.Review == nil || ev.Review.Status != privacy.StatusOpen {
			t.Fatalf("the reported entry = %+v, %v", ev, err)
		}

		const note = "Dr Canary covered your clinician's list that day."
		for _, tc := range []struct {
			name  string
			c     privacy.Closing
			field string
		}{
			{"no finding", privacy.Closing{Note: note}, "outcome"},
			{"an unknown finding", privacy.Closing{Outcome: "maybe", Note: note}, "outcome"},
			{"no note", privacy.Closing{Outcome: privacy.OutcomeJustified, Note: "  "}, "note"},
			{"a note too long", privacy.Closing{Outcome: privacy.OutcomeJustified, Note: strings.Repeat("x", privacy.MaxNoteLength+1)}, "note"},
		} {
			err := h.svc.Resolve(ctx, po, r.ID, tc.c, origin())
			if fe := fault.As(err); fe == nil || fe.Kind != fault.Invalid || fe.Field != tc.field {
				t.Fatalf("%s: %v, want invalid %s", tc.name, err, tc.field)
			}
		}
		for _, who := range []access.Subject{staff(access.Clinician), staff(access.Admin), patient(patientA)} {
			if err := h.svc.Resolve(ctx, who, r.ID, privacy.Closing{Outcome: privacy.OutcomeJustified, Note: note}, origin()); !errors.Is(err, privacy.ErrForbidden) {
				t.Fatalf("%s closing: %v, want ErrForbidden", who.Role, err)
			}
		}
		if n := h.count(`SELECT COUNT(*) FROM audit_reviews WHERE status = 'open'`); n != 1 {
			t.Fatalf("refused closings closed the report: %d open", n)
		}

		if err := h.svc.Resolve(ctx, po, r.ID, privacy.Closing{Outcome: privacy.OutcomeJustified, Note: note}, origin()); err != nil {
			t.Fatal(err)
		}
		if n := h.count(`SELECT COUNT(*) FROM audit_reviews WHERE outcome = 'justified' AND outcome_note_ct IS NOT NULL`); n != 1 {
			t.Fatal("the finding and its note are not stored")
		}
		var sealed []byte
		if err := db.QueryRowContext(ctx, `SELECT outcome_note_ct FROM audit_reviews WHERE id = $1`, r.ID).Scan(&sealed); err != nil ||
			!strings.HasPrefix(string(sealed), patientA+"|audit_reviews|"+r.ID+"|") {
			t.Fatalf("the note was not sealed under the patient's key at its row: %q %v", sealed, err)
		}
		closing, err := audit.Search(ctx, db, audit.Filter{ActorID: po.AccountID, Action: string(access.ReviewAudit), Limit: 1})
		if err != nil || len(closing) != 1 || closing[0].Reason != access.ReasonPrivacyOfficer+" justified" {
			t.Fatalf("the closing's entry: %+v %v", closing, err)
		}
		if err := h.svc.Resolve(ctx, po, r.ID, privacy.Closing{Outcome: privacy.OutcomeUnjustified, Note: note}, origin()); !errors.Is(err, privacy.ErrNotFound) {
			t.Fatalf("closing a closed report: %v, want ErrNotFound", err)
		}

		for _, read := range []func() (privacy.AccessEvent, error){
			func() (privacy.AccessEvent, error) {
				return h.svc.AccessEntry(ctx, patient(patientA), patientA, seq, origin())
			},
			func() (privacy.AccessEvent, error) {
				p, err := h.svc.AccessLogPage(ctx, patient(patientA), patientA, privacy.LogQuery{OthersOnly: true}, origin())
				if err != nil || len(p.Events) == 0 {
					return privacy.AccessEvent{}, err
				}
				return p.Events[0], nil
			},
		} {
			ev, err := read()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Seq != seq || ev.Review == nil || ev.Review.Status != privacy.StatusResolved || ev.Review.Outcome != privacy.OutcomeJustified ||
				ev.Review.Note != note || ev.Review.Closed == nil || ev.Reportable() {
				t.Fatalf("the patient reads %+v (review %+v)", ev, ev.Review)
			}
		}
		v, err := h.svc.ReviewByID(ctx, po, r.ID, origin())
		if err != nil || v.Outcome != privacy.OutcomeJustified || v.Note != note || v.Closed == nil || v.Access.Who != "Staff acct-clinician" {
			t.Fatalf("the closed report = %+v, %v", v, err)
		}
		if _, err := h.svc.ReviewByID(ctx, po, "no-such-review", origin()); !errors.Is(err, privacy.ErrNotFound) {
			t.Fatalf("an unknown report: %v", err)
		}

		// The API's close without a body still closes, with no finding.
		other := h.opened(patientA)
		if err := h.svc.Report(ctx, patient(patientA), other, origin()); err != nil {
			t.Fatal(err)
		}
		queue, _ = h.svc.ReviewQueue(ctx, po, origin())
		if err := h.svc.Resolve(ctx, po, queue[0].ID, privacy.Closing{}, origin()); err != nil {
			t.Fatal(err)
		}
		ev, err = h.svc.AccessEntry(ctx, patient(patientA), patientA, other, origin())
		if err != nil || ev.Review == nil || ev.Review.Status != privacy.StatusResolved || ev.Review.Outcome != "" || ev.Review.Note != "" {
			t.Fatalf("closed without a finding: %+v %v", ev.Review, err)
		}
	})
}

// TestTrailInWords: the privacy officer's trail names people and patients, says what happened
// in words, finds a patient's entries by name (or says no patient has it, searching nothing),
// and pages back.
func TestTrailInWords(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		ctx := context.Background()
		po := staff(access.Auditor)
		for range 5 {
			h.opened(patientA)
			h.opened(patientB)
		}
		p, err := h.svc.Trail(ctx, po, privacy.TrailQuery{PatientName: "Patient " + patientB, Filter: privacy.Filter{Limit: 3}}, origin())
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) != 3 || p.Older == 0 || p.NoPatient {
			t.Fatalf("first page: %d entries, older %d", len(p.Entries), p.Older)
		}
		for _, e := range p.Entries {
			if e.PatientID != patientB || e.Patient != "Patient "+patientB || e.Who != "Staff acct-clinician" || e.What != "opened a patient's record" {
				t.Fatalf("entry reads %+v", e)
			}
		}
		p2, err := h.svc.Trail(ctx, po, privacy.TrailQuery{PatientName: "Patient " + patientB, Filter: privacy.Filter{Limit: 3, Before: p.Older}}, origin())
		if err != nil || len(p2.Entries) != 2 || p2.Older != 0 || p2.Entries[0].Seq >= p.Entries[2].Seq {
			t.Fatalf("second page: %+v %v", p2, err)
		}
		none, err := h.svc.Trail(ctx, po, privacy.TrailQuery{PatientName: "Nobody Known"}, origin())
		if err != nil || !none.NoPatient || len(none.Entries) != 0 {
			t.Fatalf("an unknown name: %+v %v", none, err)
		}
		people, err := h.svc.People(ctx, po, origin())
		if err != nil || len(people) != 2 || people[0].Name != "Staff acct-admin" {
			t.Fatalf("people = %+v %v", people, err)
		}
		for _, who := range []access.Subject{staff(access.Clinician), staff(access.Admin), patient(patientA)} {
			if _, err := h.svc.Trail(ctx, who, privacy.TrailQuery{}, origin()); !errors.Is(err, privacy.ErrForbidden) {
				t.Fatalf("%s reading the trail: %v", who.Role, err)
			}
			if _, err := h.svc.People(ctx, who, origin()); !errors.Is(err, privacy.ErrForbidden) {
				t.Fatalf("%s listing people: %v", who.Role, err)
			}
		}
	})
}
