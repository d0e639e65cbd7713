package audit_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"haven/internal/audit"
	"haven/internal/store/storetest"
)

func TestExportVerifiesWithoutTheDatabase(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			db := storetest.Open(t, d)
			signer, verifier := testSigner(t)
			origin := testOrigin(t, db)
			cps := audit.NewCheckpointer(db, signer, origin, time.Now)
			fill(t, db, 4)
			cps.Publish(ctx)
			fill(t, db, 5)
			cps.Publish(ctx)
			fill(t, db, 2) // not yet covered

			dir := filepath.Join(t.TempDir(), "export")
			n, err := audit.Export(ctx, db, dir, "key-for-information")
			if err != nil || n != 11 {
				t.Fatalf("export = %d, %v", n, err)
			}
			rep, err := audit.VerifyExport(dir, verifier)
			if err != nil || !rep.OK() || rep.Entries != 11 || rep.Checkpoints != 2 || rep.Covered != 9 || rep.Origin != origin.Name {
				t.Fatalf("verify export = %+v, %v", rep, err)
			}
			// The export names its log: checked as another installation's, its checkpoints fail.
			foreign := filepath.Join(t.TempDir(), "foreign")
			os.CopyFS(foreign, os.DirFS(dir))
			os.WriteFile(filepath.Join(foreign, "origin"), []byte("haven.audit/00000000000000000000000000000000\n"), 0o600)
			if rep, _ := audit.VerifyExport(foreign, verifier); rep.OK() || !strings.Contains(rep.Problem, "names another log") {
				t.Fatalf("an export verified as another log: %+v", rep)
			}
			_, other := testSigner(t)
			if rep, _ := audit.VerifyExport(dir, other); rep.OK() {
				t.Fatal("an export verified against another key")
			}

			lines := strings.SplitAfter(readFile(t, filepath.Join(dir, "entries.ndjson")), "\n")
			tampers := []struct {
				name      string
				lines     []string
				wantFirst int64
			}{
				{"modified", replaceLine(lines, 2, strings.Replace(lines[2], `"outcome":"allow"`, `"outcome":"deny"`, 1)), 1},
				{"deleted", append(append([]string{}, lines[:6]...), lines[7:]...), 7},
				{"malformed", replaceLine(lines, 5, "{not json\n"), 6},
			}
			for _, tc := range tampers {
				t.Run(tc.name, func(t *testing.T) {
					bad := filepath.Join(t.TempDir(), "x")
					os.MkdirAll(filepath.Join(bad, "checkpoints"), 0o700)
					os.WriteFile(filepath.Join(bad, "entries.ndjson"), []byte(strings.Join(tc.lines, "")), 0o600)
					os.WriteFile(filepath.Join(bad, "origin"), []byte(readFile(t, filepath.Join(dir, "origin"))), 0o600)
					cpFiles, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "*"))
					for _, f := range cpFiles {
						os.WriteFile(filepath.Join(bad, "checkpoints", filepath.Base(f)), []byte(readFile(t, f)), 0o600)
					}
					rep, err := audit.VerifyExport(bad, verifier)
					if err != nil {
						t.Fatal(err)
					}
					if rep.OK() || rep.FirstBad != tc.wantFirst {
						t.Fatalf("report = %+v, want first bad %d", rep, tc.wantFirst)
					}
				})
			}
		})
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func replaceLine(lines []string, i int, with string) []string {
	out := append([]string{}, lines...)
	out[i] = with
	return out
}

func FuzzParseEntry(f *testing.F) {
	f.Add([]byte(`{"seq":1,"time":"2026-11-24T09:00:00.123456789Z","actorId":"a","actorRole":"clinician","action":"record.read","resourceType":"Patient","resourceId":"p","patientId":"p","outcome":"allow","reason":"care-team","sourceAddr":"127.0.0.1","requestId":"r"}`))
	f.Add([]byte(`{"seq":-1,"time":"x"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := audit.ParseEntry(line)
		if err != nil {
			return
		}
		// Whatever parses has a canonical encoding that round-trips through its fields.
		if len(audit.Canonical(e)) < 16 {
			t.Fatalf("short canonical encoding for %q", line)
		}
	})
}
