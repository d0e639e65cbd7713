package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"haven/internal/audit"
	"haven/internal/server"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestAuditVerifyCommand runs `haven audit verify` on both databases: an untouched log passes,
// a modified entry fails with exit status 1 naming its index.
func TestAuditVerifyCommand(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			dsn := storetest.DSN(t, d)
			args := []string{"audit", "verify", "--db", dsn}
			if d == store.SQLite {
				dsn = filepath.Join(dir, "haven.db")
				args = []string{"audit", "verify", "--data-dir", dir}
			}
			db, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			log := audit.New(db, time.Now)
			for range 4 {
				if _, err := log.Append(ctx, audit.Entry{Action: "record.read", Outcome: audit.Allow, PatientID: "p"}); err != nil {
					t.Fatal(err)
				}
			}
			verify := func() (int, string) {
				var out, errOut bytes.Buffer
				code := run(ctx, args, &out, &errOut)
				return code, out.String() + errOut.String()
			}
			if code, out := verify(); code != 0 || !strings.Contains(out, "4 entries") {
				t.Fatalf("untouched log: exit %d, %q", code, out)
			}
			if _, err := db.Exec(`UPDATE audit_entries SET outcome = 'deny' WHERE seq = 2`); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if code, out := verify(); code != 1 || !strings.Contains(out, "entry 2") {
				t.Fatalf("modified log: exit %d, %q; want exit 1 naming entry 2", code, out)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"audit"}, {"audit", "verify", "--data-dir", t.TempDir()}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code == 0 {
			t.Errorf("haven %v exited 0", args)
		}
	}
}

// TestAuditProofsAndExportCommands runs prove, consistency, export and the database-free
// verification of the export as an auditor would, with the key taken from outside.
func TestAuditProofsAndExportCommands(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := server.New(ctx, server.Config{DataDir: dir, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	l := audit.New(srv.DB(), time.Now)
	for range 6 {
		l.Append(ctx, audit.Entry{Action: "record.read", Outcome: audit.Allow})
	}
	first, _ := srv.PublishCheckpoint(ctx)
	for range 3 {
		l.Append(ctx, audit.Entry{Action: "record.read", Outcome: audit.Deny})
	}
	if _, err := srv.PublishCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	cmd := func(args ...string) (int, string) {
		var out bytes.Buffer
		code := run(ctx, args, &out, &out)
		return code, out.String()
	}
	code, out := cmd("audit", "prove", "--data-dir", dir, "--entry", "4")
	if code != 0 || !strings.Contains(out, "inclusion proof") {
		t.Fatalf("prove: %d %s", code, out)
	}
	// The checkpoint names this installation's log; verify shows the same origin.
	origin := regexp.MustCompile(`(?m)^haven\.audit/[0-9a-f]{32}$`).FindString(out)
	if origin == "" {
		t.Fatalf("the checkpoint has no installation origin:\n%s", out)
	}
	if code, out := cmd("audit", "consistency", "--data-dir", dir, "--from", strconv.FormatInt(first.Size, 10)); code != 0 || !strings.Contains(out, "consistency from size 6 to size 9") {
		t.Fatalf("consistency: %d %s", code, out)
	}
	export := filepath.Join(t.TempDir(), "export")
	if code, out := cmd("audit", "export", "--data-dir", dir, "--out", export); code != 0 {
		t.Fatalf("export: %d %s", code, out)
	}
	key, _ := os.ReadFile(filepath.Join(export, "key"))
	if code, out := cmd("audit", "verify", "--export", export, "--key", strings.TrimSpace(string(key))); code != 0 ||
		!strings.Contains(out, "9 entries, 2 signed checkpoints") || !strings.Contains(out, "checkpoint origin: "+origin+"\n") {
		t.Fatalf("verify export: %d %s", code, out)
	}
	if code, out := cmd("audit", "verify", "--data-dir", dir, "--key", strings.TrimSpace(string(key))); code != 0 ||
		!strings.Contains(out, "2 signed checkpoints") || !strings.Contains(out, "checkpoint origin: "+origin+"\n") {
		t.Fatalf("verify with --key: %d %s", code, out)
	}
}
