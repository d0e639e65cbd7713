package server_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"haven/internal/server"
	"haven/internal/server/servertest"
	"haven/internal/store/storetest"
)

// TestPatientSearchAPI: the fixed interface of POST /api/v1/patients/search. One free-text q
// finds a patient by name parts in any order, a prefix, a phone number with or without country
// code and formatting, a birth date, and these combined, answering the patients with their
// patientId; by still matches one field whole; an empty query says what to enter; a clinician
// outside the care team finds no one. Every answer is checked against the OpenAPI document.
func TestPatientSearchAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "dr-search@haven.test")
		other, _ := e.Clinician(admin, "other-search@haven.test")
		mjlg := servertest.PatientIn{Name: "María José López-García", BirthDate: "1980-02-29", Phone: "+34 612 345 678", Email: "mjlg@example.test"}
		_, pid := e.Patient(dr, mjlg)

		for _, q := range []string{"maria lopez", "lopez garcia", "LÓPEZ", "jos", "lop 1980-02-29", "612345678", "+34612345678",
			"612 345 678", "garcia 612 345 678 1980-02-29"} {
			l := dr.List(200, "POST", "/api/v1/patients/search", map[string]string{"q": q})
			if len(l) != 1 {
				t.Fatalf("q %q found %d patients", q, len(l))
			}
			p := l[0].(map[string]any)
			if p["patientId"] != pid || p["id"] != pid || p["name"] != mjlg.Name || p["birthDate"] != mjlg.BirthDate {
				t.Fatalf("q %q answered %v", q, p)
			}
		}
		for _, q := range []string{"maria mario", "lopez 1980-03-01", "612345679"} {
			if l := dr.List(200, "POST", "/api/v1/patients/search", map[string]string{"q": q}); len(l) != 0 {
				t.Fatalf("q %q: every term must match, found %v", q, l)
			}
		}
		if l := other.List(200, "POST", "/api/v1/patients/search", map[string]string{"q": "maria lopez"}); len(l) != 0 {
			t.Fatalf("outside the care team: %v", l)
		}
		if l := dr.List(200, "POST", "/api/v1/patients/search", map[string]string{"by": "name", "q": "maria jose LOPEZ-GARCIA"}); len(l) != 1 {
			t.Fatalf("by name, whole: %v", l)
		}
		for _, body := range []map[string]string{{"q": ""}, {"q": "   "}, {}} {
			code, m, _ := dr.Do("POST", "/api/v1/patients/search", body)
			if code != http.StatusUnprocessableEntity || !strings.Contains(m["error"].(string), "enter a name, phone or date of birth to search") {
				t.Fatalf("empty search %v = %d %v", body, code, m)
			}
		}
		if code, m, _ := dr.Do("POST", "/api/v1/patients/search", map[string]string{"q": "29/02/1980"}); code != http.StatusUnprocessableEntity ||
			!strings.Contains(m["error"].(string), "YYYY-MM-DD") {
			t.Fatalf("a date in another form = %d %v", code, m)
		}
	})
}

// TestDuplicateRegistrationAPI: POST /api/v1/patients with the name (its parts in any order,
// case and accents aside) and birth date of an existing record answers 409 and creates
// nothing, naming no record, for the clinician who cares for the patient and for one who does
// not; confirmDuplicate registers anyway.
func TestDuplicateRegistrationAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "dr-dup@haven.test")
		other, _ := e.Clinician(admin, "other-dup@haven.test")
		_, pid := e.Patient(dr, servertest.PatientIn{Name: "María José López-García", BirthDate: "1980-02-29", Phone: "+34 612 345 678", Email: "mjlg@example.test"})
		again := map[string]any{"name": "Garcia Lopez Maria Jose", "birthDate": "1980-02-29", "phone": "+34 699 000 111", "email": "mjlg2@example.test"}
		for who, c := range map[string]*servertest.Client{"their clinician": dr, "another clinician": other} {
			before := len(e.AuditRows())
			code, m, raw := c.Do("POST", "/api/v1/patients", again)
			if code != http.StatusConflict || !strings.Contains(m["error"].(string), "already registered") || bytes.Contains(raw, []byte(pid)) {
				t.Fatalf("%s registering again = %d %s", who, code, raw)
			}
			for _, r := range e.AuditRows()[before:] {
				if r[0] == "patient.register" {
					t.Fatalf("%s: a refused duplicate was registered: %v", who, r)
				}
			}
		}
		again["confirmDuplicate"] = true
		m := other.Must(201, "POST", "/api/v1/patients", again)
		if m["patientId"] == pid || m["patientId"] == "" {
			t.Fatalf("confirmed registration = %v", m)
		}
	})
}

// TestSearchTokensBackfilledAtStart: a database whose records have no search tokens (written
// before they existed) gets them when Haven starts, logged as counts only, and search finds
// the records again.
func TestSearchTokensBackfilledAtStart(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			dsn := dsnFor(t, d)
			e := servertest.New(t, dsn)
			admin := e.Admin()
			dr, _ := e.Clinician(admin, "dr-backfill@haven.test")
			_, pid := e.Patient(dr, servertest.PatientIn{Name: "Zephyrine Quillfeather", BirthDate: "1961-07-04", Phone: "+1 555 0199 4242", Email: "zq@canary.example"})
			if _, err := e.Srv.DB().Exec(`DELETE FROM patient_search_tokens`); err != nil {
				t.Fatal(err)
			}
			if l := dr.List(200, "POST", "/api/v1/patients/search", map[string]string{"q": "quill"}); len(l) != 0 {
				t.Fatalf("without tokens: %v", l)
			}

			var log servertest.SyncBuffer
			again, err := server.New(context.Background(), server.Config{DataDir: e.DataDir, DB: dsn, Identity: servertest.FastIdentity(),
				Now: e.Clock.Now, Stderr: &log, BaseURL: e.BaseURL, Host: "localhost"})
			if err != nil {
				t.Fatal(err)
			}
			defer again.Close()
			if !bytes.Contains(log.Bytes(), []byte(`"msg":"search tokens built for existing records","indexed":1,"unreadable":0`)) {
				t.Fatalf("start log: %s", log.Bytes())
			}
			for _, c := range []string{"Zephyrine", "Quillfeather", "1961", "4242"} {
				if bytes.Contains(bytes.ToLower(log.Bytes()), bytes.ToLower([]byte(c))) {
					t.Fatalf("the start log holds %q", c)
				}
			}
			if l := dr.List(200, "POST", "/api/v1/patients/search", map[string]string{"q": "quill"}); len(l) != 1 || l[0].(map[string]any)["patientId"] != pid {
				t.Fatalf("after the backfill: %v", l)
			}
		})
	}
}
