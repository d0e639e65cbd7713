package server_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	origin, err := audit.LoadLogOrigin(context.Background(), e.Srv.DB())
	if err != nil {
		t.Fatal(err)
	}
	tree, err := audit.OpenCheckpoint([]byte(signed), v, origin)
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

// TestCheckpointOriginPerInstallation: two fresh installations name their logs differently, so
// a checkpoint of one never passes as a head of the other's log, even where the same key would
// check it (the origin is checked apart from the signature).
func TestCheckpointOriginPerInstallation(t *testing.T) {
	ctx := context.Background()
	type install struct {
		origin audit.LogOrigin
		signed []byte
		v      note.Verifier
	}
	var is [2]install
	for i := range is {
		e := servertest.New(t, "")
		e.Admin()
		cp, err := e.Srv.PublishCheckpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		origin, err := audit.LoadLogOrigin(ctx, e.Srv.DB())
		if err != nil {
			t.Fatal(err)
		}
		_, vkey := getText(t, e, "/api/v1/audit/key")
		v, err := note.NewVerifier(strings.TrimSpace(vkey))
		if err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(string(cp.Signed), "\n"); first != origin.Name || !strings.HasPrefix(first, "haven.audit/") {
			t.Fatalf("checkpoint origin line %q, installation origin %q", first, origin.Name)
		}
		is[i] = install{origin, cp.Signed, v}
	}
	if is[0].origin.Name == is[1].origin.Name {
		t.Fatalf("two installations share the origin %s", is[0].origin.Name)
	}
	if _, err := audit.OpenCheckpoint(is[0].signed, is[0].v, is[1].origin); !errors.Is(err, audit.ErrForeignCheckpoint) {
		t.Fatalf("installation 0's checkpoint opened as installation 1's log: %v", err)
	}
	if _, err := audit.OpenCheckpoint(is[0].signed, is[1].v, is[1].origin); err == nil {
		t.Fatal("installation 0's checkpoint verified with installation 1's key and origin")
	}
}

func getText(t *testing.T, e *servertest.Env, path string) (int, string) {
	t.Helper()
	resp, err := e.Client().HTTP.Get(e.TS.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
