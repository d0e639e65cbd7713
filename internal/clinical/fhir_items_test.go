package clinical_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/principal"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestItemVersions: every change to an item bumps its version, through the JSON API's
// UpdateItem as through ReviseItem; a revision against an older version is a conflict and
// changes nothing (two systems never overwrite each other's change unseen).
func TestItemVersions(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := h.register(t, "Ada Canary", "ada@example.test")
		cond, err := h.records.AddItem(ctx, h.clin, pid, clinical.KindCondition, clinical.ItemInput{Text: "Asthma"}, origin)
		if err != nil || cond.Version != 1 {
			t.Fatalf("AddItem = v%d, %v; want version 1", cond.Version, err)
		}
		revise := func(version int64, status, text string) (clinical.Item, error) {
			return h.records.ReviseItem(ctx, h.clin, clinical.KindCondition, cond.ID, version,
				clinical.ItemRevision{PatientID: pid, Status: status, Input: clinical.ItemInput{Text: text}}, origin)
		}
		steps := []struct {
			name        string
			version     int64
			status      string
			text        string
			wantKind    fault.Kind // Internal: no error
			wantVersion int64
		}{
			{"at the current version", 1, clinical.StatusResolved, "Asthma, childhood", fault.Internal, 2},
			{"at a stale version", 1, clinical.StatusActive, "Asthma again", fault.Conflict, 2},
			{"at any version", 0, clinical.StatusActive, "Asthma again", fault.Internal, 3},
			{"with an invalid status", 3, clinical.StatusStopped, "Asthma", fault.Invalid, 3},
		}
		for _, s := range steps {
			it, err := revise(s.version, s.status, s.text)
			if s.wantKind == fault.Internal && err != nil || s.wantKind != fault.Internal && fault.KindOf(err) != s.wantKind {
				t.Fatalf("%s: err = %v, want kind %v", s.name, err, s.wantKind)
			}
			got, err := h.records.ItemByID(ctx, h.clin, clinical.KindCondition, cond.ID, origin)
			if err != nil || got.Version != s.wantVersion {
				t.Fatalf("%s: stored version %d (%v), want %d", s.name, got.Version, err, s.wantVersion)
			}
			if s.wantKind == fault.Internal && (it.Version != s.wantVersion || got.Text != s.text || got.Status != s.status) {
				t.Fatalf("%s: revised %+v, stored %+v", s.name, it, got)
			}
		}
		onset := time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC)
		if _, err := h.records.ReviseItem(ctx, h.clin, clinical.KindCondition, cond.ID, 3,
			clinical.ItemRevision{Status: clinical.StatusActive, Input: clinical.ItemInput{Text: "Asthma again", EffectiveAt: &onset}}, origin); err != nil {
			t.Fatal(err)
		}
		if got, _ := h.records.ItemByID(ctx, h.clin, clinical.KindCondition, cond.ID, origin); !got.EffectiveAt.Equal(onset) || got.Version != 4 {
			t.Fatalf("after a new onset: %v v%d, want %v v4", got.EffectiveAt, got.Version, onset)
		}
		text := "Asthma, adult onset"
		if _, err := h.records.UpdateItem(ctx, h.clin, pid, clinical.KindCondition, cond.ID, clinical.ItemChange{Text: &text}, origin); err != nil {
			t.Fatal(err)
		}
		if got, _ := h.records.ItemByID(ctx, h.clin, clinical.KindCondition, cond.ID, origin); got.Version != 5 {
			t.Fatalf("after UpdateItem version = %d, want 5", got.Version)
		}
	})
}

// TestItemByIDAndRevisionThroughTheDoor: one item read or revised by its id alone passes the
// door on the item's own patient; an id of another kind is not found; a patient changes
// nothing; a measurement is never rewritten; an item never moves to another record.
func TestItemByIDAndRevisionThroughTheDoor(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := h.register(t, "Ada Canary", "ada@example.test")
		other := h.register(t, "Ben Other", "ben@example.test")
		patient := access.Subject{AccountID: "pat-1", Role: access.Patient, PatientID: pid}
		hr := clinical.ItemInput{Code: &clinical.Code{Code: clinical.CodeHeartRate}, Value: f(64)}
		obs, err := h.records.AddItem(ctx, h.clin, pid, clinical.KindObservation, hr, origin)
		if err != nil {
			t.Fatal(err)
		}
		reads := []struct {
			name string
			by   access.Subject
			kind clinical.ItemKind
			id   string
			want error
		}{
			{"the clinician caring", h.clin, clinical.KindObservation, obs.ID, nil},
			{"the patient, their own", patient, clinical.KindObservation, obs.ID, nil},
			{"a clinician outside the care team", h.other, clinical.KindObservation, obs.ID, guard.ErrForbidden},
			{"as another kind", h.clin, clinical.KindCondition, obs.ID, clinical.ErrNotFound},
			{"an unknown id", h.clin, clinical.KindObservation, "nothing", clinical.ErrNotFound},
		}
		for _, r := range reads {
			it, err := h.records.ItemByID(ctx, r.by, r.kind, r.id, origin)
			if !errors.Is(err, r.want) || (err == nil && (it.PatientID != pid || it.Value == nil || *it.Value != 64)) {
				t.Errorf("%s: ItemByID = %+v, %v; want %v", r.name, it, err, r.want)
			}
		}
		note := hr
		note.Note = "after a walk"
		moved := hr
		changed := hr
		changed.Value = f(90)
		revs := []struct {
			name    string
			by      access.Subject
			patient string
			in      clinical.ItemInput
			want    fault.Kind
		}{
			{"a patient changes nothing", patient, pid, note, fault.Forbidden},
			{"a measurement is not rewritten", h.clin, pid, changed, fault.Invalid},
			{"an item stays with its patient", h.clin, other, moved, fault.Invalid},
			{"a note may change", h.clin, pid, note, fault.Internal},
		}
		for _, r := range revs {
			_, err := h.records.ReviseItem(ctx, r.by, clinical.KindObservation, obs.ID, 0,
				clinical.ItemRevision{PatientID: r.patient, Status: clinical.StatusCompleted, Input: r.in}, origin)
			if (r.want == fault.Internal) != (err == nil) || (err != nil && fault.KindOf(err) != r.want) {
				t.Errorf("%s: err = %v, want kind %v", r.name, err, r.want)
			}
		}
		if got, _ := h.records.ItemByID(ctx, h.clin, clinical.KindObservation, obs.ID, origin); got.Note != "after a walk" || *got.Value != 64 || got.Version != 2 {
			t.Errorf("after revisions: %+v", got)
		}
	})
}

// TestPatientsByID: a lookup by identifiers shows only the patients the caller may read, one
// audit entry each, and drops the others (and unknown identifiers) without a trace.
func TestPatientsByID(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := h.register(t, "Ada Canary", "ada@example.test")
		other := h.register(t, "Ben Other", "ben@example.test")
		if err := h.records.Unassign(ctx, h.admin, other, h.clin.AccountID, origin); err != nil {
			t.Fatal(err)
		}
		ps, err := h.records.PatientsByID(ctx, h.clin, []string{pid, other, "nobody", pid}, origin)
		if err != nil || len(ps) != 1 || ps[0].ID != pid || ps[0].Name != "Ada Canary" {
			t.Fatalf("PatientsByID = %+v, %v; want Ada alone", ps, err)
		}
		if e := lastEntry(t, db); e.PatientID != pid || e.Action != string(access.SearchPatients) {
			t.Errorf("last entry %s on %s, want a search disclosing Ada", e.Action, e.PatientID)
		}
	})
}

// TestConnectedSystemItems: a connected system (SMART scopes, no account, no care team) reads
// and writes the item types its scopes grant, for the interaction it performs, and no other; a
// write naming a patient who does not exist is an invalid subject, never a row.
func TestConnectedSystemItems(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := h.register(t, "Ada Canary", "ada@example.test")
		scopes, err := principal.ParseScopes("system/Observation.crus system/Condition.rs")
		if err != nil {
			t.Fatal(err)
		}
		sys := func(i principal.Interaction) access.Subject {
			return access.Subject{AccountID: "client-1", Role: access.Integration, Scopes: scopes, Interaction: i, Purpose: "TREAT"}
		}
		hr := clinical.ItemInput{Code: &clinical.Code{Code: clinical.CodeHeartRate}, Value: f(64)}
		obs, err := h.records.CreateItem(ctx, sys(principal.Create), pid, clinical.KindObservation, hr, origin)
		if err != nil || obs.PatientReported || obs.Version != 1 {
			t.Fatalf("CreateItem by a system = %+v, %v", obs, err)
		}
		cond, err := h.records.AddItem(ctx, h.clin, pid, clinical.KindCondition, clinical.ItemInput{Text: "Asthma"}, origin)
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			do   func() error
			want fault.Kind // Internal: allowed
		}{
			{"reads an Observation", func() error {
				_, err := h.records.ItemByID(ctx, sys(principal.Read), clinical.KindObservation, obs.ID, origin)
				return err
			}, fault.Internal},
			{"searches Conditions", func() error {
				_, err := h.records.Items(ctx, sys(principal.Search), pid, clinical.KindCondition, "", origin)
				return err
			}, fault.Internal},
			{"updates an Observation", func() error {
				_, err := h.records.ReviseItem(ctx, sys(principal.Update), clinical.KindObservation, obs.ID, 1,
					clinical.ItemRevision{Status: clinical.StatusEnteredInError, Input: hr}, origin)
				return err
			}, fault.Internal},
			{"cannot update a Condition (read and search only)", func() error {
				_, err := h.records.ReviseItem(ctx, sys(principal.Update), clinical.KindCondition, cond.ID, 0,
					clinical.ItemRevision{Status: clinical.StatusResolved, Input: clinical.ItemInput{Text: "Asthma"}}, origin)
				return err
			}, fault.Forbidden},
			{"cannot read allergies (no scope)", func() error {
				_, err := h.records.Items(ctx, sys(principal.Search), pid, clinical.KindAllergy, "", origin)
				return err
			}, fault.Forbidden},
			{"cannot write for no one", func() error {
				_, err := h.records.CreateItem(ctx, sys(principal.Create), "nobody", clinical.KindObservation, hr, origin)
				return err
			}, fault.Invalid},
		}
		for _, c := range cases {
			err := c.do()
			if (c.want == fault.Internal) != (err == nil) || (err != nil && fault.KindOf(err) != c.want) {
				t.Errorf("a system %s: err = %v, want kind %v", c.name, err, c.want)
			}
		}
	})
}
