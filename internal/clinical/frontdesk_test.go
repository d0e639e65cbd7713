package clinical_test

import (
	"context"
	"errors"
	"testing"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/guard"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestFrontDeskSeesNamesNeverNotes: the front desk registers a patient (and is put in no care
// team), finds patients and reads their demographics, each an entry with reason front-desk;
// it never opens a record's notes nor writes one. Minimum necessary: names and contact
// details for booking, no clinical content.
func TestFrontDeskSeesNamesNeverNotes(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		if _, err := db.ExecContext(ctx, `INSERT INTO accounts (id, role, status, email_bidx, created_at) VALUES ('desk-1', 'frontdesk', 'active', $1, 0)`, []byte("desk-1")); err != nil {
			t.Fatal(err)
		}
		desk := access.Subject{AccountID: "desk-1", Role: access.FrontDesk, FactorAt: h.clin.FactorAt}
		pid := h.register(t, "Ada Canary", "ada@example.test")
		if _, err := h.records.AddNote(ctx, h.clin, pid, "synthetic note: not for the front desk", origin); err != nil {
			t.Fatal(err)
		}

		reg, err := h.records.Register(ctx, desk, clinical.NewPatient{Name: "Fred Frontdesk", BirthDate: "1990-01-02", Phone: "+1 555 0199", Email: "fred@example.test"}, origin)
		if err != nil {
			t.Fatalf("the front desk registers: %v", err)
		}
		var teams int
		db.QueryRow(`SELECT COUNT(*) FROM care_team WHERE patient_id = $1`, reg.PatientID).Scan(&teams)
		if teams != 0 {
			t.Fatalf("the front desk's registration made %d care-team rows, want none", teams)
		}

		found, err := h.records.Search(ctx, desk, "", "ada canary", origin)
		if err != nil || len(found) != 1 || found[0].ID != pid {
			t.Fatalf("the front desk's search = %+v, %v", found, err)
		}
		if e := lastEntry(t, db); e.Action != string(access.SearchPatients) || e.PatientID != pid || e.Reason != access.ReasonFrontDesk {
			t.Fatalf("search entry = %+v", e)
		}
		p, err := h.records.Demographics(ctx, desk, pid, origin)
		if err != nil || p.Name != "Ada Canary" || p.Email != "ada@example.test" || p.BirthDate != "1980-02-29" {
			t.Fatalf("demographics = %+v, %v", p, err)
		}
		if e := lastEntry(t, db); e.Action != string(access.ReadDemographics) || e.PatientID != pid || e.Outcome != audit.Allow || e.Reason != access.ReasonFrontDesk {
			t.Fatalf("demographics entry = %+v", e)
		}

		if _, err := h.records.Get(ctx, desk, pid, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("the front desk opens the record: %v", err)
		}
		if e := lastEntry(t, db); e.Action != string(access.ReadRecord) || e.Outcome != audit.Deny || e.Reason != access.ReasonRoleForbidden {
			t.Fatalf("refused read entry = %+v", e)
		}
		if _, err := h.records.AddNote(ctx, desk, pid, "a front-desk note", origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("the front desk writes a note: %v", err)
		}
		if _, err := h.records.MyPatients(ctx, desk, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("the front desk lists a care team: %v", err)
		}

		// Demographics for others: a clinician outside the care team is refused, the patient
		// reads their own.
		if _, err := h.records.Demographics(ctx, h.other, pid, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("a clinician outside the care team reads demographics: %v", err)
		}
		if _, err := h.records.Demographics(ctx, desk, "no-such-patient", origin); !errors.Is(err, clinical.ErrNotFound) {
			t.Fatalf("demographics of no one = %v, want ErrNotFound", err)
		}
	})
}
