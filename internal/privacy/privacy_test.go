package privacy_test

import (
	"context"
	"errors"
	"testing"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/privacy"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestAccessLogNeedsAPatient stops a fail-open: to the audit search an empty patient identifier
// means every patient, so an access log asked for with none (the privacy officer on the
// patient's own /me/access-log, a patient account with no record) would list every patient's
// accesses. It is refused as invalid input, whoever asks, before anything is read.
func TestAccessLogNeedsAPatient(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		h.opened(patientA)
		h.opened(patientB)
		ctx := context.Background()
		for _, tc := range []struct {
			name      string
			by        access.Subject
			patientID string
		}{
			{"privacy officer, empty", staff(access.Auditor), ""},
			{"privacy officer, blank", staff(access.Auditor), " \t"},
			{"patient account with no record, empty", patient(""), ""},
			{"patient, empty", patient(patientA), ""},
			{"clinician, empty", staff(access.Clinician), ""},
			{"administrator, empty", staff(access.Admin), ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				events, err := h.svc.AccessLog(ctx, tc.by, tc.patientID, origin())
				if fe := fault.As(err); fe == nil || fe.Kind != fault.Invalid || fe.Field != "patientId" {
					t.Fatalf("AccessLog(%q) = %d events, %v; want invalid patientId", tc.patientID, len(events), err)
				}
				if events != nil {
					t.Fatalf("AccessLog(%q) returned %d events with its error", tc.patientID, len(events))
				}
			})
		}

		// The privacy officer naming a patient sees that patient's accesses and no other's.
		events, err := h.svc.AccessLog(ctx, staff(access.Auditor), patientA, origin())
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == 0 {
			t.Fatal("the privacy officer's view of patient A's log is empty")
		}
		b, err := h.svc.AccessLog(ctx, patient(patientB), patientB, origin())
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for _, ev := range b {
			seen[ev.Seq] = true
		}
		for _, ev := range events {
			if seen[ev.Seq] {
				t.Fatalf("entry %d is in both patients' logs", ev.Seq)
			}
		}
		// A patient may not name another patient.
		if _, err := h.svc.AccessLog(ctx, patient(patientA), patientB, origin()); !errors.Is(err, privacy.ErrForbidden) {
			t.Fatalf("patient A reading patient B's log: %v, want ErrForbidden", err)
		}
	})
}

// TestFlagNeedsAPatient: flagging a record with no patient identifier is refused, not stored as
// a flag on the empty identifier.
func TestFlagNeedsAPatient(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db)
		for _, id := range []string{"", "  "} {
			err := h.svc.Flag(context.Background(), staff(access.Auditor), id, "vip", origin())
			if fe := fault.As(err); fe == nil || fe.Kind != fault.Invalid || fe.Field != "patientId" {
				t.Fatalf("Flag(%q) = %v, want invalid patientId", id, err)
			}
		}
		if n := h.count(`SELECT COUNT(*) FROM flagged_patients`); n != 0 {
			t.Fatalf("%d flags stored", n)
		}
	})
}
