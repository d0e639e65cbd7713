package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestComplianceReportCommandWritesHTML runs `haven compliance report` on both databases: it
// writes a self-contained HTML report without scripts, prints a one-line summary and exits 0
// even though a fresh installation fails checks (no backup yet); a missing database exits 1
// and writes nothing.
func TestComplianceReportCommandWritesHTML(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			dsn := storetest.DSN(t, d)
			args := []string{"compliance", "report", "--data-dir", dir, "--db", dsn}
			if d == store.SQLite {
				dsn = filepath.Join(dir, "haven.db")
				args = []string{"compliance", "report", "--data-dir", dir}
			}
			db, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			out := filepath.Join(t.TempDir(), "report.html")
			var stdout, stderr bytes.Buffer
			if code := run(ctx, append(args, "--out", out), &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s%s", code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), "failed") || strings.Count(stdout.String(), "\n") != 1 {
				t.Errorf("summary %q: want one line with the counts", stdout.String())
			}
			html, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"<!doctype html>", "§164.312(b)", "§164.312(d)", "A recent backup exists", "no successful backup recorded", "Failed"} {
				if !bytes.Contains(html, []byte(want)) {
					t.Errorf("report lacks %q", want)
				}
			}
			if bytes.Contains(bytes.ToLower(html), []byte("<script")) {
				t.Error("report holds a script")
			}
		})
	}
	t.Run("no database", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "report.html")
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"compliance", "report", "--data-dir", t.TempDir(), "--out", out}, &stdout, &stderr); code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		if _, err := os.Stat(out); err == nil {
			t.Error("a report was written")
		}
	})
}
