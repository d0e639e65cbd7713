package fhir_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"haven/internal/server/servertest"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// docClinic is a clinician with a patient in their care, another patient, and staff of every
// role the document types' tests need.
type docClinic struct {
	e                     *servertest.Env
	admin, dr, ada, bo    *servertest.Client
	drID, adaID, boID     string
	nurse, clerk, privacy *servertest.Client
}

// forEachDocStore runs fn on a fresh server over each database.
func forEachDocStore(t *testing.T, fn func(t *testing.T, e *servertest.Env)) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			dsn := ""
			if d != store.SQLite {
				dsn = storetest.DSN(t, d)
			}
			fn(t, servertest.New(t, dsn))
		})
	}
}

func newDocClinic(t *testing.T, e *servertest.Env) docClinic {
	t.Helper()
	c := docClinic{e: e, admin: e.Admin()}
	c.dr, c.drID = e.Clinician(c.admin, "dr-fhir@haven.test")
	c.ada, c.adaID = e.Patient(c.dr, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+1 555 0100 123", Email: "ada.canary@example.test"})
	c.bo, c.boID = e.Patient(c.dr, servertest.PatientIn{Name: "Bo Reed", BirthDate: "1990-05-06", Phone: "+1 555 0100 456", Email: "bo.reed@example.test"})
	c.nurse, _ = e.Staff(c.admin, "nurse-fhir@haven.test", "nurse")
	c.clerk, _ = e.Staff(c.admin, "clerk-fhir@haven.test", "billing")
	c.privacy, _ = e.Staff(c.admin, "privacy-fhir@haven.test", "auditor")
	return c
}

// docGet sends GET path with an Accept header (none if accept is empty) and returns the
// status, the header and the body.
func docGet(t *testing.T, e *servertest.Env, c *servertest.Client, path, accept string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", e.TS.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

// docJSON reads a FHIR JSON resource at path, wanting status want.
func docJSON(t *testing.T, e *servertest.Env, c *servertest.Client, path string, want int) map[string]any {
	t.Helper()
	code, h, raw := docGet(t, e, c, path, "application/fhir+json")
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || code != want {
		t.Fatalf("GET %s = %d %.400s (%v), want %d", path, code, raw, err, want)
	}
	if ct := h.Get("Content-Type"); !bytes.HasPrefix([]byte(ct), []byte("application/fhir+json")) {
		t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	if want >= 400 && m["resourceType"] != "OperationOutcome" {
		t.Fatalf("GET %s = %d %.400s, want an OperationOutcome", path, code, raw)
	}
	return m
}

// docSearch runs a search and returns its entries' resources, wanting a searchset.
func docSearch(t *testing.T, e *servertest.Env, c *servertest.Client, path string) []map[string]any {
	t.Helper()
	b := docJSON(t, e, c, path, http.StatusOK)
	if b["resourceType"] != "Bundle" || b["type"] != "searchset" {
		t.Fatalf("GET %s = %v, want a searchset Bundle", path, b)
	}
	var out []map[string]any
	entries, _ := b["entry"].([]any)
	for _, en := range entries {
		out = append(out, en.(map[string]any)["resource"].(map[string]any))
	}
	return out
}

// docIDs are the resources' ids.
func docIDs(rs []map[string]any) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r["id"].(string))
	}
	return out
}

// docEndedVisit puts an appointment that ended in the database, as the visit's end leaves it:
// these tests are about the charge, not the visit.
func docEndedVisit(t *testing.T, e *servertest.Env, clinicianID, patientID string, at time.Time) string {
	t.Helper()
	var b [13]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	_, err := e.Srv.DB().ExecContext(context.Background(), `INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at, ended_at)
		VALUES ($1, $2, $3, 'scheduled', 'ended', $4, $5, $2, $6, $5)`, id, clinicianID, patientID, at.UnixNano(), at.Add(20*time.Minute).UnixNano(), e.Clock.Now().UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// docUploadPDF uploads the test PDF to patient pid's record as c and returns its id and bytes.
func docUploadPDF(t *testing.T, e *servertest.Env, c *servertest.Client, pid string) (string, []byte) {
	t.Helper()
	body, err := os.ReadFile("../clinical/upload/testdata/letter.pdf")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", e.TS.URL+"/api/v1/patients/"+pid+"/documents", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/pdf")
	req.Header.Set("X-Filename", url.PathEscape("Lab letter.pdf"))
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload = %d %s", resp.StatusCode, raw)
	}
	return m["id"].(string), body
}
