package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"haven/internal/audit"
	"haven/internal/store"
)

func TestAuditVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, "haven.db"))
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
		code := run(ctx, []string{"audit", "verify", "--data-dir", dir}, &out, &errOut)
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
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"audit"}, {"audit", "verify", "--data-dir", t.TempDir()}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code == 0 {
			t.Errorf("haven %v exited 0", args)
		}
	}
}
