package fhir_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"haven/internal/fhir"
	"haven/internal/server/servertest"
)

// The FHIR benchmarks: what the FHIR transport costs over the JSON API for the same record, and
// what a searchset costs against reading its entries one by one. One clinician's session reads
// patients in their care on a SQLite server (each read is audited, one entry per patient
// disclosed, as in the JSON API). docs/benchmarks.md section 10 has the figures.
//
//	go test -run '^$' -bench 'FHIR|JSONAPI' -benchtime 2s ./internal/fhir/

// benchFamily names the benchmark's patients, so a name search finds exactly them.
const benchFamily = "Benchmark"

type benchEnv struct {
	c   *servertest.Client // the clinician
	ids []string           // patient ids, all of family benchFamily
}

// newBenchEnv starts a SQLite server whose clinician has registered n patients.
func newBenchEnv(b *testing.B, n int) benchEnv {
	b.Helper()
	e := servertest.New(b, "")
	clin, _ := e.Clinician(e.Admin(), "bench-doctor@haven.test")
	env := benchEnv{c: clin}
	for i := range n {
		m := clin.Must(201, "POST", "/api/v1/patients", map[string]string{
			"name": fmt.Sprintf("Patient%c%c %s", 'A'+i/10, 'a'+i%10, benchFamily), "birthDate": fmt.Sprintf("19%02d-06-%02d", 40+i, 1+i%28),
			"phone": fmt.Sprintf("+44207946%04d", i), "email": fmt.Sprintf("bench%02d@haven.test", i),
		})
		env.ids = append(env.ids, m["patientId"].(string))
	}
	return env
}

// fhirPatient, jsonPatient and searchset are the requests measured.
func fhirPatient(id string) string { return fhir.Base + "/Patient/" + id }
func jsonPatient(id string) string { return "/api/v1/patients/" + id + "/demographics" }
func searchset(count int) string {
	return fmt.Sprintf("%s/Patient?name=%s&_count=%d", fhir.Base, benchFamily, count)
}

// must reads path and fails unless the answer is 200.
func must(b *testing.B, c *servertest.Client, path string) []byte {
	code, _, body := c.DoRaw(http.MethodGet, path, nil)
	if code != http.StatusOK {
		b.Fatalf("GET %s = %d %s", path, code, body)
	}
	return body
}

// BenchmarkFHIRPatientRead: GET /fhir/R4/Patient/{id}, the FHIR read of one patient's
// demographics.
func BenchmarkFHIRPatientRead(b *testing.B) {
	env := newBenchEnv(b, 1)
	path := fhirPatient(env.ids[0])
	for b.Loop() {
		must(b, env.c, path)
	}
}

// BenchmarkJSONAPIPatientRead: GET /api/v1/patients/{id}/demographics, the JSON API read of the
// same fields of the same record.
func BenchmarkJSONAPIPatientRead(b *testing.B) {
	env := newBenchEnv(b, 1)
	path := jsonPatient(env.ids[0])
	for b.Loop() {
		must(b, env.c, path)
	}
}

// BenchmarkFHIRSearchset20: one name search answered by a searchset Bundle of 20 Patients.
func BenchmarkFHIRSearchset20(b *testing.B) {
	env := newBenchEnv(b, 20)
	path := searchset(20)
	checkEntries(b, must(b, env.c, path), 20)
	for b.Loop() {
		must(b, env.c, path)
	}
}

// BenchmarkFHIRSingleRead20: the same 20 Patients read one by one (one op is 20 reads).
func BenchmarkFHIRSingleRead20(b *testing.B) {
	env := newBenchEnv(b, 20)
	for b.Loop() {
		for _, id := range env.ids {
			must(b, env.c, fhirPatient(id))
		}
	}
}

// BenchmarkFHIRRatios measures both ratios in one run on one server, alternating short phases
// of each request so that a machine shared with other work loads each side alike: the FHIR
// Patient read ÷ the JSON API read, and a 20-entry searchset ÷ 20 single FHIR reads.
func BenchmarkFHIRRatios(b *testing.B) {
	env := newBenchEnv(b, 20)
	checkEntries(b, must(b, env.c, searchset(20)), 20)
	const phase = 200 * time.Millisecond
	// mean is the time spent on one request kind and how many times it ran.
	type mean struct {
		d time.Duration
		n int
	}
	// timed runs op for about one phase and adds it to m.
	timed := func(m *mean, op func()) {
		start := time.Now()
		for time.Since(start) < phase {
			op()
			m.n++
		}
		m.d += time.Since(start)
	}
	var fhirRead, jsonRead, search, reads20 mean
	id := env.ids[0]
	for b.Loop() {
		timed(&fhirRead, func() { must(b, env.c, fhirPatient(id)) })
		timed(&jsonRead, func() { must(b, env.c, jsonPatient(id)) })
		timed(&search, func() { must(b, env.c, searchset(20)) })
		timed(&reads20, func() {
			for _, id := range env.ids {
				must(b, env.c, fhirPatient(id))
			}
		})
	}
	us := func(m mean) float64 { return float64(m.d.Microseconds()) / float64(m.n) }
	b.ReportMetric(us(fhirRead), "fhir-read-µs")
	b.ReportMetric(us(jsonRead), "json-read-µs")
	b.ReportMetric(us(fhirRead)/us(jsonRead), "fhir/json")
	b.ReportMetric(us(search), "searchset20-µs")
	b.ReportMetric(us(reads20), "reads20-µs")
	b.ReportMetric(us(search)/us(reads20), "searchset20/reads20")
}

// checkEntries fails unless body is a searchset Bundle of n entries.
func checkEntries(b *testing.B, body []byte, n int) {
	var bundle struct {
		Type  string
		Entry []json.RawMessage
	}
	if err := json.Unmarshal(body, &bundle); err != nil || bundle.Type != "searchset" || len(bundle.Entry) != n {
		b.Fatalf("the search answered %d entries (%v), want a searchset of %d", len(bundle.Entry), err, n)
	}
}
