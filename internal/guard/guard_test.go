package guard_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/principal"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// careTeam is the one relationship in these tests: clinician c1 cares for patient p1.
type careTeam struct{}

func (careTeam) CareRelation(_ context.Context, clinicianID, patientID string) (string, error) {
	if clinicianID == "c1" && patientID == "p1" {
		return access.ReasonAssigned, nil
	}
	return "", nil
}

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func clinician(factorAt time.Time) access.Subject {
	return access.Subject{AccountID: "c1", Role: access.Clinician, FactorAt: factorAt}
}

func read(patientID string) guard.Act {
	return guard.Act{By: clinician(time.Time{}), Action: access.ReadRecord,
		Resource: access.Resource{Type: "Patient", ID: patientID, PatientID: patientID}, Origin: principal.Origin{Addr: "192.0.2.7", RequestID: "r1"}}
}

// entries returns every entry in the log, oldest first.
func entries(t *testing.T, db *store.DB) []audit.Entry {
	t.Helper()
	es, err := audit.Search(context.Background(), db, audit.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

func newDoor(db *store.DB, now time.Time) (*guard.Door, *audit.Log) {
	log := audit.New(db, func() time.Time { return now })
	return guard.New(access.New(careTeam{}), log, func() time.Time { return now }), log
}

// TestDoorDecidesRecordsAndReleases: an allowed read runs and is recorded once with the
// decision's reason and the purpose of use; a refused one never runs and is recorded as denied.
func TestDoorDecidesRecordsAndReleases(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		door, _ := newDoor(db, t0)
		got, err := guard.Do(ctx, door, read("p1"), func(context.Context) (string, error) { return "record", nil })
		if err != nil || got != "record" {
			t.Fatalf("allowed read = %q, %v", got, err)
		}
		ran := false
		_, err = guard.Do(ctx, door, read("p2"), func(context.Context) (string, error) { ran = true; return "leak", nil })
		if !errors.Is(err, guard.ErrForbidden) || ran {
			t.Fatalf("read outside care = %v (ran %v), want ErrForbidden without running", err, ran)
		}
		es := entries(t, db)
		if len(es) != 2 || door.Written() != 2 {
			t.Fatalf("%d entries (door wrote %d), want 2", len(es), door.Written())
		}
		want := []struct{ patient, outcome, reason string }{{"p1", audit.Allow, access.ReasonAssigned}, {"p2", audit.Deny, access.ReasonNotInCareTeam}}
		for i, w := range want {
			e := es[i]
			if e.PatientID != w.patient || e.Outcome != w.outcome || e.Reason != w.reason || e.Purpose != "TREAT" ||
				e.Action != string(access.ReadRecord) || e.SourceAddr != "192.0.2.7" || e.ActorID != "c1" {
				t.Errorf("entry %d = %+v, want %s %s %s", i, e, w.patient, w.outcome, w.reason)
			}
		}
	})
}

// TestDoorStepUp: an act the policy marks step-up passes only with a second factor from the
// last five minutes; without one it never runs and the refusal is recorded.
func TestDoorStepUp(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		door, _ := newDoor(db, t0)
		act := read("p1")
		act.Action = access.SendSignInLink
		for _, tc := range []struct {
			name     string
			factorAt time.Time
			want     error
		}{
			{"never", time.Time{}, guard.ErrStepUpRequired},
			{"stale", t0.Add(-guard.StepUpWindow - time.Second), guard.ErrStepUpRequired},
			{"fresh", t0.Add(-time.Minute), nil},
		} {
			act.By = clinician(tc.factorAt)
			ran := false
			err := guard.Run(ctx, door, act, func(context.Context) error { ran = true; return nil })
			if !errors.Is(err, tc.want) || ran != (tc.want == nil) {
				t.Errorf("%s factor: %v (ran %v), want %v", tc.name, err, ran, tc.want)
			}
			if tc.want != nil && !fault.Is(err, fault.StepUpRequired) {
				t.Errorf("%s factor: kind %v, want step-up-required", tc.name, fault.KindOf(err))
			}
		}
		es := entries(t, db)
		if len(es) != 3 || es[0].Reason != guard.ReasonStepUpRequired || es[0].Outcome != audit.Deny || es[2].Outcome != audit.Allow {
			t.Fatalf("entries = %v, want two step-up refusals then an allow", es)
		}
	})
}

// failingLog refuses every entry, as a full disk or a lost database would.
type failingLog struct{}

func (failingLog) AppendAll(context.Context, []audit.Entry) error { return errors.New("disk full") }

// TestDoorFailsClosed: when the entry cannot be written, a read's result is withheld and a
// write never starts.
func TestDoorFailsClosed(t *testing.T) {
	ctx := context.Background()
	door := guard.New(access.New(careTeam{}), failingLog{}, func() time.Time { return t0 })
	got, err := guard.Do(ctx, door, read("p1"), func(context.Context) (string, error) { return "record", nil })
	if got != "" || !errors.Is(err, guard.ErrUnrecorded) || !fault.Is(err, fault.Unavailable) {
		t.Fatalf("read with the log down = %q, %v; want nothing and ErrUnrecorded", got, err)
	}
	write := read("p1")
	write.Action = access.WriteNote
	var wrote atomic.Bool
	err = guard.Run(ctx, door, write, func(context.Context) error { wrote.Store(true); return nil })
	if !errors.Is(err, guard.ErrUnrecorded) || wrote.Load() {
		t.Fatalf("write with the log down = %v (wrote %v), want ErrUnrecorded and no write", err, wrote.Load())
	}
}

// TestDoorReadOverlapsItsEntry: a read runs while its entry commits, so a read that waits for
// the commit to have started is not deadlocked and is released once both are done.
func TestDoorReadOverlapsItsEntry(t *testing.T) {
	ctx := context.Background()
	started := make(chan struct{})
	log := &blockingLog{started: started, release: make(chan struct{})}
	door := guard.New(access.New(careTeam{}), log, func() time.Time { return t0 })
	got, err := guard.Do(ctx, door, read("p1"), func(context.Context) (string, error) {
		<-started // the entry is being committed while the record is read
		close(log.release)
		return "record", nil
	})
	if err != nil || got != "record" {
		t.Fatalf("overlapped read = %q, %v", got, err)
	}
}

type blockingLog struct{ started, release chan struct{} }

func (l *blockingLog) AppendAll(context.Context, []audit.Entry) error {
	close(l.started)
	<-l.release
	return nil
}

// TestDoorListRecordsEachPatientShown: a list records one entry per patient it shows, or one
// without a patient when it shows no one.
func TestDoorListRecordsEachPatientShown(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		door, _ := newDoor(db, t0)
		list := guard.Act{By: clinician(time.Time{}), Action: access.SearchPatients, Resource: access.Resource{Type: "Patient"}}
		shown := []guard.Disclosed{{PatientID: "p1", Reason: access.ReasonAssigned}, {PatientID: "p3", Reason: access.ReasonAssigned}}
		if _, err := guard.List(ctx, door, list, func(context.Context) (int, []guard.Disclosed, error) { return 2, shown, nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := guard.List(ctx, door, list, func(context.Context) (int, []guard.Disclosed, error) { return 0, nil, nil }); err != nil {
			t.Fatal(err)
		}
		es := entries(t, db)
		if len(es) != 3 || es[0].PatientID != "p1" || es[1].PatientID != "p3" || es[2].PatientID != "" {
			t.Fatalf("entries = %v, want p1, p3, then one with no patient", es)
		}
		for _, e := range es {
			if e.Action != string(access.SearchPatients) || e.Outcome != audit.Allow {
				t.Errorf("entry %v: want an allowed search", e)
			}
		}
	})
}
