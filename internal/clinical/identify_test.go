package clinical_test

import (
	"context"
	"errors"
	"testing"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestPrivacyOfficerIdentifiesPatients: the privacy officer sees patients' names, and finds
// patients by name parts in any order, or their start, through the search tokens, each patient shown recorded in that patient's
// access log as patient.identify; no one else may, and a refusal is recorded.
func TestPrivacyOfficerIdentifiesPatients(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		ada := h.register(t, "Ada Canary", "ada@example.test")
		bob := h.register(t, "Bob Canary", "bob@example.test")
		po := access.Subject{AccountID: "po-1", Role: access.Auditor}
		count := func() int {
			t.Helper()
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_entries`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		identified := func(patientID string) int {
			t.Helper()
			es, err := audit.Search(ctx, db, audit.Filter{PatientID: patientID, Action: string(access.IdentifyPatient), ActorID: po.AccountID})
			if err != nil {
				t.Fatal(err)
			}
			return len(es)
		}

		names, err := h.records.PatientNames(ctx, po, []string{ada, bob, ada, "no-such-patient", " "}, origin)
		if err != nil {
			t.Fatal(err)
		}
		if len(names) != 2 || names[ada] != "Ada Canary" || names[bob] != "Bob Canary" {
			t.Fatalf("PatientNames = %v", names)
		}
		if identified(ada) != 1 || identified(bob) != 1 {
			t.Fatalf("each name shown is one patient.identify entry: ada %d, bob %d", identified(ada), identified(bob))
		}

		before := count()
		if names, err := h.records.PatientNames(ctx, po, nil, origin); err != nil || len(names) != 0 || count() != before {
			t.Fatalf("no identifiers: %v %v, %d new entries", names, err, count()-before)
		}

		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"Ada Canary", []string{ada}},
			{"  ada   CANARY ", []string{ada}},
			{"canary ADA", []string{ada}},
			{"can ada", []string{ada}},
			{"Carl Nobody", []string{}},
		} {
			ids, err := h.records.PatientsNamed(ctx, po, tc.query, origin)
			if err != nil {
				t.Fatalf("PatientsNamed(%q): %v", tc.query, err)
			}
			if len(ids) != len(tc.want) || (len(ids) == 1 && ids[0] != tc.want[0]) {
				t.Fatalf("PatientsNamed(%q) = %v, want %v", tc.query, ids, tc.want)
			}
		}
		if identified(ada) != 5 {
			t.Fatalf("finding Ada by name four times adds four entries to her log: %d", identified(ada))
		}
		if ids, err := h.records.PatientsNamed(ctx, po, "canary", origin); err != nil || len(ids) != 2 {
			t.Fatalf("PatientsNamed(canary) = %v, %v, want both", ids, err)
		}

		for _, who := range []access.Subject{h.clin, h.admin} {
			before := count()
			if _, err := h.records.PatientNames(ctx, who, []string{ada}, origin); !errors.Is(err, clinical.ErrForbidden) {
				t.Fatalf("%s reading names: %v, want ErrForbidden", who.Role, err)
			}
			if _, err := h.records.PatientsNamed(ctx, who, "Ada Canary", origin); !errors.Is(err, clinical.ErrForbidden) {
				t.Fatalf("%s finding by name: %v, want ErrForbidden", who.Role, err)
			}
			if count() != before+2 {
				t.Fatalf("%s: each refusal is recorded: %d new entries", who.Role, count()-before)
			}
		}
	})
}
