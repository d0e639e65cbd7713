package clinical_test

import (
	"fmt"
	"testing"

	"haven/internal/server/servertest"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestRecordNamesEveryNoteAuthor: a record's notes by several authors, some by the same one,
// each carry their own author's name (looked up together, once per author).
func TestRecordNamesEveryNoteAuthor(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			dsn := ""
			if d == store.Postgres {
				dsn = storetest.DSN(t, d)
			}
			e := servertest.New(t, dsn)
			admin := e.Admin()
			drA, _ := e.Clinician(admin, "ann@haven.test")
			drB, drBID := e.Clinician(admin, "bob@haven.test")
			m := drA.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "Cleo Canary", "birthDate": "1990-03-04", "phone": "+1 555 0111", "email": "cleo@example.test"})
			pid := m["patientId"].(string)
			admin.Must(200, "POST", "/api/v1/admin/care-team", map[string]string{"patientId": pid, "clinicianId": drBID})
			authors := []*servertest.Client{drA, drB, drA}
			for i, c := range authors {
				e.Clock.Advance(1)
				c.Must(201, "POST", "/api/v1/patients/"+pid+"/notes", map[string]string{"body": fmt.Sprintf("note %d", i)})
			}
			rec := drB.Must(200, "GET", "/api/v1/patients/"+pid, nil)
			notes := rec["notes"].([]any)
			want := []string{"Dr ann", "Dr bob", "Dr ann"}
			if len(notes) != len(want) {
				t.Fatalf("%d notes, want %d", len(notes), len(want))
			}
			for i, n := range notes {
				n := n.(map[string]any)
				if n["body"] != fmt.Sprintf("note %d", i) || n["authorName"] != want[i] {
					t.Errorf("note %d = %v by %v, want note %d by %s", i, n["body"], n["authorName"], i, want[i])
				}
			}
		})
	}
}
