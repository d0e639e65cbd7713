package privacy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/privacy"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// appendAs appends an entry about patientA by by, with action a.
func (h *harness) appendAs(by access.Subject, a access.Action) int64 {
	h.t.Helper()
	seq, err := h.log.Append(context.Background(), audit.Entry{ActorID: by.AccountID, ActorRole: string(by.Role),
		Action: string(a), ResourceType: "Patient", ResourceID: patientA, PatientID: patientA, Outcome: audit.Allow, Reason: access.ReasonAssigned})
	if err != nil {
		h.t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	return seq
}

// TestAccessLogPages: a long log pages back without gaps or repeats, whatever the page size;
// the patient's page leaves out their own acts however many there are in a row, and the API's
// answer (no query) stays what it was: every entry but the patient's reads of the log.
func TestAccessLogPages(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		ctx := context.Background()
		var others []int64 // staff entries, newest last
		for i := range 30 {
			others = append(others, h.appendAs(staff(access.Clinician), access.ReadRecord))
			if i%10 == 0 {
				for range 25 { // a patient reading their own log, again and again
					h.appendAs(patient(patientA), access.ReadAccessLog)
				}
				h.appendAs(patient(patientA), access.ReadRecord)
			}
		}
		for _, limit := range []int{1, 7, 30, 200} {
			var got []int64
			before := int64(0)
			for pages := 0; ; pages++ {
				if pages > 40 {
					t.Fatalf("limit %d: paging does not end", limit)
				}
				p, err := h.svc.AccessLogPage(ctx, patient(patientA), patientA, privacy.LogQuery{Before: before, Limit: limit, OthersOnly: true}, origin())
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Events) > limit {
					t.Fatalf("limit %d: a page of %d", limit, len(p.Events))
				}
				for _, ev := range p.Events {
					if ev.You {
						t.Fatalf("the patient's own act %d is on their page", ev.Seq)
					}
					got = append(got, ev.Seq)
				}
				if p.Older == 0 {
					break
				}
				before = p.Older
			}
			want := make([]int64, len(others))
			for i, s := range others {
				want[len(others)-1-i] = s
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("limit %d: paged entries (-want +got):\n%s", limit, diff)
			}
		}

		all, err := h.svc.AccessLog(ctx, patient(patientA), patientA, origin())
		if err != nil {
			t.Fatal(err)
		}
		you := 0
		for _, ev := range all {
			if ev.You {
				you++
				if ev.What != "opened your record" || ev.Who != "You" {
					t.Fatalf("the patient's own read: %+v", ev)
				}
			}
		}
		if len(all) != 33 || you != 3 {
			t.Fatalf("the API's log has %d events (%d the patient's own), want 30 staff and 3 of the patient's reads of their record", len(all), you)
		}
		if all[0].Who != "Staff acct-clinician" || all[0].What != "opened your record" || all[0].Why != "in your care team" {
			t.Fatalf("the newest event reads %+v", all[0])
		}
	})
}

// TestAccessEntryIsThePatientsOwn: one entry's page shows an entry of the patient's log, and
// no other patient's (not found, as if it did not exist); reading it is recorded.
func TestAccessEntryIsThePatientsOwn(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		ctx := context.Background()
		a := h.opened(patientA)
		b := h.opened(patientB)
		ev, err := h.svc.AccessEntry(ctx, patient(patientA), patientA, a, origin())
		if err != nil || ev.Seq != a || ev.Who != "Staff acct-clinician" || !ev.Reportable() {
			t.Fatalf("AccessEntry(own) = %+v, %v", ev, err)
		}
		before := h.count(`SELECT COUNT(*) FROM audit_entries`)
		for _, seq := range []int64{b, 9999} {
			if _, err := h.svc.AccessEntry(ctx, patient(patientA), patientA, seq, origin()); !errors.Is(err, privacy.ErrNotFound) {
				t.Fatalf("AccessEntry(%d) = %v, want ErrNotFound", seq, err)
			}
		}
		if _, err := h.svc.AccessEntry(ctx, patient(patientA), patientB, b, origin()); !errors.Is(err, privacy.ErrForbidden) {
			t.Fatalf("patient A naming patient B: %v, want ErrForbidden", err)
		}
		if n := h.count(`SELECT COUNT(*) FROM audit_entries`); n != before+3 {
			t.Fatalf("%d entries for three reads, want 3", n-before)
		}
	})
}

// TestGroupEvents: list and search views by one person on one day, in the reader's zone, are
// one line; opening the record is never folded; a reported view stays a line of its own.
func TestGroupEvents(t *testing.T) {
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ev := func(seq int64, actor string, a access.Action, when string) privacy.AccessEvent {
		return privacy.PatientEvent(privacy.Entry{Seq: seq, ActorID: actor, ActorRole: "clinician", Action: string(a), Outcome: audit.Allow, Time: at(when)})
	}
	// Newest first, as the log answers.
	events := []privacy.AccessEvent{
		ev(9, "carl", access.ListCareTeam, "2026-11-24T16:40:00Z"),
		ev(8, "carl", access.ReadRecord, "2026-11-24T16:00:00Z"),
		ev(7, "carl", access.ListCareTeam, "2026-11-24T12:00:00Z"),
		ev(6, "dana", access.ListCareTeam, "2026-11-24T11:00:00Z"),
		ev(5, "carl", access.SearchPatients, "2026-11-24T10:00:00Z"),
		ev(4, "carl", access.ListCareTeam, "2026-11-24T09:00:00Z"),
		ev(3, "carl", access.ListCareTeam, "2026-11-23T23:30:00Z"), // 24 Nov in Madrid, 23 Nov in UTC
		ev(2, "carl", access.ReadRecord, "2026-11-23T09:00:00Z"),
		ev(1, "carl", access.ListCareTeam, "2026-11-23T08:00:00Z"),
	}
	reported := ev(10, "carl", access.ListCareTeam, "2026-11-24T17:00:00Z")
	reported.Reported = true
	type line struct {
		seq   int64
		count int
		first int64
	}
	for _, tc := range []struct {
		name   string
		loc    *time.Location
		events []privacy.AccessEvent
		want   []line
	}{
		{"UTC", time.UTC, events, []line{{9, 3, 4}, {8, 1, 8}, {6, 1, 6}, {5, 1, 5}, {3, 2, 1}, {2, 1, 2}}},
		{"Madrid", madrid, events, []line{{9, 4, 3}, {8, 1, 8}, {6, 1, 6}, {5, 1, 5}, {2, 1, 2}, {1, 1, 1}}},
		{"reported", time.UTC, append([]privacy.AccessEvent{reported}, events[:1]...), []line{{10, 1, 10}, {9, 1, 9}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seqAt := map[time.Time]int64{}
			for _, e := range tc.events {
				seqAt[e.Time] = e.Seq
			}
			var got []line
			for _, g := range privacy.GroupEvents(tc.events, tc.loc) {
				got = append(got, line{g.Seq, g.Count, seqAt[g.First]})
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(line{})); diff != "" {
				t.Fatalf("groups (-want +got):\n%s", diff)
			}
		})
	}
}
