package server_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"haven/internal/keys"
	"haven/internal/keys/kms/localfile"
	"haven/internal/server"
	"haven/internal/server/servertest"
	"haven/internal/store/storetest"
)

// TestServerServesAcrossRootKeyRotation rotates the root key under a running Haven: half-way
// (the key file holds two versions) and after the rotation (one version), a Haven started
// afresh on the data directory opens every record, and the Haven that was running all along
// opens records whose keys it never had in hand.
func TestServerServesAcrossRootKeyRotation(t *testing.T) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			dsn := dsnFor(t, d)
			e := servertest.New(t, dsn)
			admin := e.Admin()
			dr, _ := e.Clinician(admin, "dr-rotate@haven.test")
			names := map[string]string{}
			for i := range 3 {
				name := fmt.Sprintf("Rotation Canary%d", i)
				_, pid := e.Patient(dr, servertest.PatientIn{Name: name, BirthDate: "1970-01-0" + fmt.Sprint(i+1), Phone: fmt.Sprintf("+1 555 0100 %04d", i), Email: fmt.Sprintf("rot%d@canary.example", i)})
				names[pid] = name
			}
			readAll := func(when string) {
				t.Helper()
				for pid, name := range names {
					if m := dr.Must(200, "GET", "/api/v1/patients/"+pid, nil); fmt.Sprint(m["patient"].(map[string]any)["name"]) != name {
						t.Fatalf("%s: patient read = %v", when, m)
					}
				}
			}
			keyFile := filepath.Join(e.DataDir, "root.key")
			restart := func() {
				t.Helper()
				again, err := server.New(ctx, server.Config{DataDir: e.DataDir, DB: dsn, Identity: servertest.FastIdentity(),
					Now: e.Clock.Now, Stderr: &servertest.SyncBuffer{}, BaseURL: e.BaseURL, Host: "localhost"})
				if err != nil {
					t.Fatalf("Haven does not start on the rotated key file: %v", err)
				}
				t.Cleanup(func() { again.Close() })
				e.TS.Config.Handler = again.Handler()
			}
			readAll("before the rotation")

			rep, err := keys.Rotate(ctx, e.Srv.DB(), keyFile, keys.RotateOptions{BatchSize: 2, Limit: 3})
			if err != nil || rep.Complete {
				t.Fatalf("interrupted rotation = %+v, %v", rep, err)
			}
			if ids, _, err := localfile.Versions(keyFile); err != nil || len(ids) != 2 {
				t.Fatalf("half-way the key file holds %v, %v; want two versions", ids, err)
			}
			restart()
			readAll("half-way, a Haven started afresh")
			_, pid := e.Patient(dr, servertest.PatientIn{Name: "Rotation Newcomer", BirthDate: "1980-02-02", Phone: "+1 555 0100 9999", Email: "rotnew@canary.example"})
			names[pid] = "Rotation Newcomer"

			if rep, err = keys.Rotate(ctx, e.Srv.DB(), keyFile, keys.RotateOptions{BatchSize: 2}); err != nil || !rep.Complete || len(rep.Retired) != 1 {
				t.Fatalf("resumed rotation = %+v, %v", rep, err)
			}
			if ids, _, err := localfile.Versions(keyFile); err != nil || len(ids) != 1 {
				t.Fatalf("after the rotation the key file holds %v, %v; want one version", ids, err)
			}
			restart()
			readAll("after the rotation, a Haven started afresh")
			e.TS.Config.Handler = e.Srv.Handler()
			readAll("after the rotation, the Haven that ran throughout")
		})
	}
}
