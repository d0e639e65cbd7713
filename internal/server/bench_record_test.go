package server

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"haven/internal/store/storetest"
)

// BenchmarkRecordSummaryPaired: the full record summary (GET /patients/{id}/summary: the
// demographics, the notes and every section of the structured record: 3 problems, 3 allergies, 3
// medications, 3 immunizations and 10 vital readings, each item sealed on its own) against one
// demographics read (GET /patients/{id}/demographics), one caller each, in alternating phases
// of the same run on the same server. Reports the mean time of each and summary/demographics.
//
//	go test -run '^$' -bench BenchmarkRecordSummaryPaired -benchtime 6x ./internal/server/
func BenchmarkRecordSummaryPaired(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			env := newReadEnv(b, d, false)
			defer env.s.Close()
			items := "/api/v1/patients/" + env.pid + "/"
			for i := range 3 {
				env.post(b, items+"conditions", fmt.Sprintf(`{"text":"benchmark problem %d"}`, i), http.StatusCreated)
				env.post(b, items+"allergies", fmt.Sprintf(`{"text":"benchmark allergy %d","reaction":"hives","severity":"mild"}`, i), http.StatusCreated)
				env.post(b, items+"medications", fmt.Sprintf(`{"text":"benchmark medication %d","dosage":"once a day"}`, i), http.StatusCreated)
				env.post(b, items+"immunizations", fmt.Sprintf(`{"text":"benchmark vaccine %d","lot":"L%d"}`, i, i), http.StatusCreated)
			}
			vitals := []string{`"code":{"code":"85354-9"},"systolic":120,"diastolic":80`, `"code":{"code":"8867-4"},"value":70`,
				`"code":{"code":"29463-7"},"value":70`, `"code":{"code":"8310-5"},"value":37`, `"code":{"code":"2339-0"},"value":100`}
			for i := range 10 {
				env.post(b, items+"observations", "{"+vitals[i%len(vitals)]+"}", http.StatusCreated)
			}
			summary, demographics := items+"summary", items+"demographics"
			var sum, demo reads
			for i := range b.N {
				if i%2 == 0 {
					sum.add(env.gets(b, summary, time.Now().Add(visitPhase)))
					demo.add(env.gets(b, demographics, time.Now().Add(visitPhase)))
				} else {
					demo.add(env.gets(b, demographics, time.Now().Add(visitPhase)))
					sum.add(env.gets(b, summary, time.Now().Add(visitPhase)))
				}
			}
			meanUS := func(r reads) float64 { return float64(r.elapsed.Microseconds()) / float64(len(r.lat)) }
			b.ReportMetric(meanUS(sum), "summary-µs")
			b.ReportMetric(meanUS(demo), "demographics-µs")
			b.ReportMetric(meanUS(sum)/meanUS(demo), "summary/demographics")
		})
	}
}
