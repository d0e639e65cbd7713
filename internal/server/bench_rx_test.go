package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"haven/internal/store/storetest"
)

// Prescription benchmark (docs/benchmarks.md, "Prescriptions"): signing a draft with the
// prescriber's key and a pharmacy's check of it (signature recomputed from the sealed content,
// the key's audit leaf looked up), against one audited note write, in alternating phases of
// the same run on the same server, one caller each. Drafts are written before each phase, out
// of its time. The bench server's clock stands still, so the clinician's second factor stays
// fresh; each check comes from its own address, so the public throttle does not bite.
//
//	go test -run '^$' -bench BenchmarkPrescriptionSignVerifyPaired -benchtime 6x ./internal/server/
func BenchmarkPrescriptionSignVerifyPaired(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			env := newReadEnv(b, d, false)
			defer env.s.Close()
			const perPhase = 40
			addr := 0
			call := func(method, path, body string, want int) []byte {
				req := httptest.NewRequest(method, "https://localhost"+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				for _, k := range env.clin {
					req.AddCookie(k)
				}
				addr++
				req.RemoteAddr = fmt.Sprintf("198.51.%d.%d:4000", addr/250%250, addr%250+1)
				w := httptest.NewRecorder()
				env.h.ServeHTTP(w, req)
				if w.Code != want {
					b.Fatalf("%s %s = %d %s", method, path, w.Code, w.Body)
				}
				return w.Body.Bytes()
			}
			draft := `{"patientId":"` + env.pid + `","medication":"Amoxicillin","strength":"500 mg","form":"capsule","quantity":"21 capsules","dose":"1 capsule","frequency":"three times a day"}`
			signVerify := func() time.Duration {
				ids := make([]string, perPhase)
				for i := range ids {
					var p struct{ ID string }
					json.Unmarshal(call("POST", "/api/v1/prescriptions", draft, http.StatusCreated), &p)
					ids[i] = p.ID
				}
				t0 := time.Now()
				for _, id := range ids {
					var s struct {
						Code string `json:"verificationCode"`
					}
					json.Unmarshal(call("POST", "/api/v1/prescriptions/"+id+"/signature", `{"method":"key"}`, http.StatusOK), &s)
					var v struct{ SignatureVerifies bool }
					json.Unmarshal(call("GET", "/api/v1/prescriptions/"+id+"/verification?code="+s.Code, "", http.StatusOK), &v)
					if !v.SignatureVerifies {
						b.Fatal("a fresh signature does not verify")
					}
				}
				return time.Since(t0)
			}
			note := func() time.Duration {
				t0 := time.Now()
				for range perPhase {
					call("POST", "/api/v1/patients/"+env.pid+"/notes", `{"body":"benchmark note"}`, http.StatusCreated)
				}
				return time.Since(t0)
			}
			var rxTime, noteTime time.Duration
			b.ResetTimer()
			for i := range b.N {
				if i%2 == 0 {
					rxTime += signVerify()
					noteTime += note()
				} else {
					noteTime += note()
					rxTime += signVerify()
				}
			}
			n := float64(b.N * perPhase)
			b.ReportMetric(float64(rxTime.Microseconds())/n/1000, "ms/sign+verify")
			b.ReportMetric(float64(noteTime.Microseconds())/n/1000, "ms/note")
			b.ReportMetric(float64(rxTime)/float64(noteTime), "signverify/note")
		})
	}
}
