package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"haven/internal/governance"
	"haven/internal/keys"
	"haven/internal/keys/kms/localfile"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestKeysRotateCommand runs `haven keys rotate` on both databases: progress and a summary,
// every key under the new version, the old one gone from the key file, the run recorded for the
// compliance report; a second run starts the next rotation.
func TestKeysRotateCommand(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			dsn := storetest.DSN(t, d)
			args := []string{"keys", "rotate", "--data-dir", dir, "--db", dsn}
			if d == store.SQLite {
				dsn = filepath.Join(dir, "haven.db")
				args = []string{"keys", "rotate", "--data-dir", dir}
			}
			db, err := store.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			keyFile := filepath.Join(dir, "root.key")
			kek, err := localfile.Client{}.GetAEAD(localfile.URI(keyFile))
			if err != nil {
				t.Fatal(err)
			}
			ks, err := keys.Open(ctx, db, kek)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"p1", "p2", "p3"} {
				if _, err := ks.CreatePatientKey(ctx, db, p); err != nil {
					t.Fatal(err)
				}
			}
			_, before, _ := localfile.Versions(keyFile)
			for n := range 2 {
				var out, errOut bytes.Buffer
				if code := run(ctx, args, &out, &errOut); code != 0 {
					t.Fatalf("run %d: exit %d: %s%s", n, code, out.String(), errOut.String())
				}
				for _, want := range []string{"Rewrapping keys: 100% (6 of 6 keys)", "Started the rotation to root key version", "Rewrapped 6 keys", "Retired the old root key version"} {
					if !strings.Contains(out.String(), want) {
						t.Fatalf("run %d: output lacks %q:\n%s", n, want, out.String())
					}
				}
				ids, primary, err := localfile.Versions(keyFile)
				if err != nil || len(ids) != 1 || primary == before {
					t.Fatalf("run %d: key file holds %v (primary %d, before %d), %v", n, ids, primary, before, err)
				}
				before = primary
			}
			r, ok, err := governance.LastRun(ctx, db, governance.RunRotation, true)
			if err != nil || !ok || !strings.Contains(r.Detail, "6 of 6 keys rewrapped") {
				t.Fatalf("last rotation run = %+v, %v, %v", r, ok, err)
			}
			age, err := ks.RootKeyAge(ctx)
			if err != nil || age.IsZero() {
				t.Fatalf("RootKeyAge = %v, %v", age, err)
			}
		})
	}
}

func TestKeysUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"keys"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "haven keys rotate") {
		t.Fatalf("haven keys: exit %d, %q", code, errOut.String())
	}
}
