package clinical_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"haven/internal/access"
	"haven/internal/clinical"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestCareRelationMany: the one-query answer for a list of candidates agrees with CareRelation for
// each of them, across more candidates than one IN list holds, with repeats and strangers.
func TestCareRelationMany(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		for _, dr := range []string{"dr-a", "dr-b"} {
			exec(`INSERT INTO accounts (id, role, status, email_bidx, created_at) VALUES ($1, 'clinician', 'active', $2, 0)`, dr, []byte(dr))
		}
		var candidates []string
		want := map[string]string{}
		for i := range store.MaxInList + 20 {
			id := fmt.Sprintf("pat-%04d", i)
			candidates = append(candidates, id)
			exec(`INSERT INTO patients (id, name_ct, birth_date_ct, phone_ct, email_ct, name_bidx, birth_date_bidx, phone_bidx, email_bidx, created_by, created_at)
				VALUES ($1, $2, $2, $2, $2, $2, $2, $2, $2, 'dr-a', 0)`, id, []byte(id))
			dr := "dr-b"
			if i%3 == 0 {
				dr = "dr-a"
				want[id] = access.ReasonAssigned
			}
			exec(`INSERT INTO care_team (patient_id, clinician_id, relation, created_at) VALUES ($1, $2, 'assigned', 0)`, id, dr)
		}
		candidates = append(candidates, "pat-0000", "no-such-patient", "")
		team := clinical.CareTeam{DB: db}
		got, err := team.CareRelationMany(ctx, "dr-a", candidates)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("CareRelationMany: %d patients, want %d", len(got), len(want))
		}
		for _, id := range slices.Compact(slices.Sorted(slices.Values(candidates))) {
			one, err := team.CareRelation(ctx, "dr-a", id)
			if err != nil {
				t.Fatal(err)
			}
			if one != got[id] {
				t.Errorf("%q: CareRelation = %v, CareRelationMany = %v", id, one, got[id])
			}
		}
		if got, err := team.CareRelationMany(ctx, "dr-c", candidates); err != nil || len(got) != 0 {
			t.Fatalf("a clinician in no care team: %v, %v", got, err)
		}
	})
}
