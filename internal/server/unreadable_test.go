package server_test

import (
	"context"
	"strings"
	"testing"

	"haven/internal/server/servertest"
)

// TestUnreadableRecordDeniesNoOneElse: one patient record whose ciphertext no longer opens
// (a corrupted row, a bad restore) is reported for that record alone. The clinician's list and
// search still answer for every other patient, the broken record is flagged by identifier, and
// the privacy officer gets one record-integrity alert however often it is listed.
func TestUnreadableRecordDeniesNoOneElse(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, _ := e.Clinician(admin, "unreadable@haven.test")
		auditor, _ := e.Staff(admin, "unreadable-auditor@haven.test", "auditor")
		_, good := e.Patient(clin, ada)
		_, broken := e.Patient(clin, servertest.PatientIn{Name: "Bea Broken", BirthDate: "1975-05-05", Phone: "+1 555 0177", Email: "bea.broken@example.test"})
		// Flip the last byte of the name's ciphertext: the AEAD tag no longer verifies.
		ctx, db := context.Background(), e.Srv.DB()
		var ct []byte
		if err := db.QueryRowContext(ctx, `SELECT name_ct FROM patients WHERE id = $1`, broken).Scan(&ct); err != nil {
			t.Fatal(err)
		}
		ct[len(ct)-1] ^= 1
		if _, err := db.ExecContext(ctx, `UPDATE patients SET name_ct = $1 WHERE id = $2`, ct, broken); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			list := clin.List(200, "GET", "/api/v1/patients", nil)
			if len(list) != 2 {
				t.Fatalf("list = %v, want both patients", list)
			}
			for _, it := range list {
				p := it.(map[string]any)
				switch p["id"] {
				case good:
					if p["name"] != ada.Name || p["unreadable"] != nil {
						t.Fatalf("the readable patient is shown as %v", p)
					}
				case broken:
					if p["unreadable"] != true || p["name"] != "" {
						t.Fatalf("the broken record is shown as %v, want flagged with no fields", p)
					}
				}
			}
		}
		if found := clin.List(200, "POST", "/api/v1/patients/search", map[string]string{"by": "name", "q": ada.Name}); len(found) != 1 {
			t.Fatalf("search for the readable patient = %v", found)
		}
		if code, _, raw := clin.Do("GET", "/api/v1/patients/"+broken, nil); code != 503 || !strings.Contains(string(raw), "privacy officer") {
			t.Fatalf("the broken record itself = %d %s, want 503 saying the privacy officer was alerted", code, raw)
		}
		clin.Must(200, "GET", "/api/v1/patients/"+good, nil)
		var n int
		for _, it := range auditor.List(200, "GET", "/api/v1/audit/alerts", nil) {
			a := it.(map[string]any)
			if a["kind"] == "record-integrity" {
				n++
				if a["subject"] != broken {
					t.Fatalf("alert names %v, want the broken record's identifier", a["subject"])
				}
			}
		}
		if n != 1 {
			t.Fatalf("%d record-integrity alerts, want exactly one", n)
		}
	})
}
