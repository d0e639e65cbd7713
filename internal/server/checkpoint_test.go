package server_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"haven/internal/audit"
	"haven/internal/server"
	"haven/internal/server/servertest"
)

func TestCheckpointsOverHTTP(t *testing.T) {
	witness := filepath.Join(t.TempDir(), "witness")
	e := servertest.New(t, "", func(c *server.Config) { c.WitnessDir = witness })
	anon := e.Client()
	get := func(path string) (int, string) {
		resp, err := anon.HTTP.Get(e.TS.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/api/v1/audit/checkpoint"); code != http.StatusNotFound {
		t.Fatalf("checkpoint before any = %d, want 404", code)
	}
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "dr@haven.test")
	e.Patient(dr, ada)
	if code, _, _ := dr.Do("POST", "/api/v1/admin/audit/checkpoint", nil); code != http.StatusForbidden {
		t.Fatalf("clinician publishing a checkpoint = %d, want 403", code)
	}
	code, _, raw := admin.Do("POST", "/api/v1/admin/audit/checkpoint", nil)
	if code != http.StatusOK {
		t.Fatalf("publish = %d %s", code, raw)
	}
	_, signed := get("/api/v1/audit/checkpoint")
	_, vkey := get("/api/v1/audit/key")
	v, err := note.NewVerifier(vkey[:len(vkey)-1])
	if err != nil {
		t.Fatalf("published key %q: %v", vkey, err)
	}
	tree, err := audit.OpenCheckpoint([]byte(signed), v)
	if err != nil {
		t.Fatalf("served checkpoint does not verify with the served key: %v", err)
	}
	if rows := len(e.AuditRows()); tree.N < int64(rows-1) || tree.N > int64(rows) {
		t.Fatalf("checkpoint covers %d of %d entries", tree.N, rows)
	}
	copyOnDisk, err := os.ReadFile(filepath.Join(witness, strconv.FormatInt(tree.N, 10)+".checkpoint"))
	if err != nil || string(copyOnDisk) != signed {
		t.Fatalf("witness copy: %v", err)
	}
}
