package server

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"haven/internal/keys"
	"haven/internal/store/storetest"
)

// rotationKeysets is how many patient keysets BenchmarkRotationPaired rotates per phase.
const rotationKeysets = 10_000

// BenchmarkRotationPaired: a root key rotation (keys.Rotate, as `haven keys rotate` runs it:
// new version, every wrapped key rewrapped in batches with compare-and-set, old version
// retired) over 10,000 patient keysets, against 10,000 audited PHI reads (GET
// /api/v1/patients/{id} through the door, one caller) on the same server, in alternating phases.
// Reports the seconds of each and rotation/reads (docs/benchmarks.md §7).
//
//	go test -run '^$' -bench BenchmarkRotationPaired -benchtime 2x ./internal/server/
func BenchmarkRotationPaired(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			env := newReadEnv(b, d, false)
			defer env.s.Close()
			s := env.s
			for i := 0; i < rotationKeysets; i += 500 {
				err := s.db.InTx(ctx, func(tx *sql.Tx) error {
					for j := i; j < min(i+500, rotationKeysets); j++ {
						if _, err := s.keys.CreatePatientKey(ctx, tx, fmt.Sprintf("bench-%05d", j)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			keyFile := filepath.Join(s.cfg.DataDir, "root.key")
			var rotating, reading time.Duration
			rotate := func() {
				t0 := time.Now()
				rep, err := keys.Rotate(ctx, s.db, keyFile, keys.RotateOptions{})
				if err != nil || !rep.Complete || rep.Rewrapped < rotationKeysets {
					b.Fatalf("rotation = %+v, %v", rep, err)
				}
				rotating += time.Since(t0)
			}
			read := func() {
				r, err := env.load(1, rotationKeysets, time.Time{})
				if err != nil {
					b.Fatal(err)
				}
				reading += r.elapsed
			}
			b.ResetTimer()
			for i := range b.N {
				if i%2 == 0 {
					rotate()
					read()
				} else {
					read()
					rotate()
				}
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(rotating.Seconds()/n, "rotation-s")
			b.ReportMetric(reading.Seconds()/n, "reads-s")
			b.ReportMetric(rotating.Seconds()/reading.Seconds(), "rotation/reads")
		})
	}
}
