package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/guard"
	"haven/internal/identity"
	"haven/internal/identity/password"
	"haven/internal/identity/totp"
	"haven/internal/keys"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// The doubles below exist only in this benchmark, to measure what encryption and auditing cost
// on a PHI read: the same handler stack with keys that do nothing and an audit log that records
// nothing. They are never a product option.

type noopCipher struct{}

func (noopCipher) CreatePatientKey(context.Context, store.Execer, string) (keys.FieldSealer, error) {
	return noopSealer{}, nil
}
func (noopCipher) Seal(_ context.Context, _ string, _ keys.Location, p []byte) ([]byte, error) {
	return p, nil
}
func (noopCipher) Open(_ context.Context, _ string, _ keys.Location, c []byte) ([]byte, error) {
	return c, nil
}
func (noopCipher) BlindIndex(_ keys.IndexKind, v string) ([]byte, error) { return []byte(v), nil }

type noopSealer struct{}

func (noopSealer) Seal(_ keys.Location, p []byte) ([]byte, error) { return p, nil }

type noopAudit struct{}

func (noopAudit) AppendAll(context.Context, []audit.Entry) error { return nil }

// BenchmarkPHIRead measures GET /api/v1/patients/{id} through the whole handler stack
// (headers, CSRF check, session, metrics, router, policy, store, keys, audit) as a signed-in
// clinician. Sub-benchmarks are named dialect/mode/callers=N: "full" is production wiring,
// "noop-keys-audit" swaps in the doubles above; N callers read the same record at once, each
// as soon as its previous read is answered. Each reports reads/s, the CPU time the process
// spent per read (user and system: other load on a shared machine inflates it less than it
// does wall time) and the p50, p99, p99.9 and maximum latency of one read.
//
// Two yardsticks for one caller, on SQLite databases of their own: "durable-commit" is one
// single-row commit made durable (WAL, synchronous=FULL, as the store opens it), and
// "audit-append" one read's audit entry appended alone (row, chain link, tree hashes, head).
// docs/benchmarks.md reports full against noop, and one caller against the durable commit.
//
// PostgreSQL runs against storetest's server (HAVEN_TEST_POSTGRES), each mode in a schema of
// its own.
func BenchmarkPHIRead(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			if d == store.SQLite {
				b.Run("durable-commit", func(b *testing.B) { b.Run("callers=1", benchDurableCommit) })
				b.Run("audit-append", func(b *testing.B) { b.Run("callers=1", benchAuditAppend) })
			}
			for _, mode := range []string{"full", "noop-keys-audit"} {
				b.Run(mode, func(b *testing.B) {
					// Built once per mode: every run at every N reads the same record.
					env := newReadEnv(b, d, mode == "noop-keys-audit")
					defer env.s.Close()
					for _, callers := range []int{1, 16, 64} {
						b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) { env.run(b, callers) })
					}
				})
			}
		})
	}
}

// pairPhase is how long one phase of BenchmarkPHIReadPaired lasts.
const pairPhase = 250 * time.Millisecond

// BenchmarkPHIReadPaired is BenchmarkPHIRead with full and noop-keys-audit taking turns: each op
// is one phase of each, pairPhase long, the order alternating from op to op, so that both see
// the same machine even when other work on it comes and goes. It reports each mode's reads/s,
// CPU time per read and latency percentiles (units prefixed full- and noop-) and the ratio
// full ÷ noop of reads/s. On SQLite with one caller it adds a third phase of durable
// single-row commits (benchDurableCommit) and reports commit-µs, the mean time of one, so that
// a full read can be set against a noop read plus one durable commit from the same phases.
//
//	go test -run '^$' -bench BenchmarkPHIReadPaired -benchtime 8x ./internal/server/
func BenchmarkPHIReadPaired(b *testing.B) {
	for _, d := range storetest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			full := newReadEnv(b, d, false)
			defer full.s.Close()
			noop := newReadEnv(b, d, true)
			defer noop.s.Close()
			for _, callers := range []int{1, 16, 64} {
				b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
					var commit *commitLoop
					if d == store.SQLite && callers == 1 {
						commit = newCommitLoop(b)
						defer commit.db.Close()
					}
					var f, n reads
					f.cpu, n.cpu = 0, 0
					var commits int
					var committing time.Duration
					phase := func(env *readEnv, into *reads) {
						r, err := env.load(callers, 0, time.Now().Add(pairPhase))
						if err != nil {
							b.Fatal(err)
						}
						into.add(r)
					}
					for i := range b.N {
						if i%2 == 0 {
							phase(full, &f)
							phase(noop, &n)
						} else {
							phase(noop, &n)
							phase(full, &f)
						}
						if commit != nil {
							c, t := commit.until(b, time.Now().Add(pairPhase))
							commits, committing = commits+c, committing+t
						}
					}
					f.report(b, "full-")
					n.report(b, "noop-")
					b.ReportMetric(f.perSecond()/n.perSecond(), "full/noop")
					if commits > 0 {
						b.ReportMetric(float64(committing)/float64(time.Microsecond)/float64(commits), "commit-µs")
					}
				})
			}
		})
	}
}

// commitLoop makes durable single-row commits, as benchDurableCommit does.
type commitLoop struct {
	db *store.DB
	v  []byte
}

func newCommitLoop(b *testing.B) *commitLoop {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "commit.db"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE bench_commit (id INTEGER PRIMARY KEY, v BLOB)`); err != nil {
		b.Fatal(err)
	}
	return &commitLoop{db: db, v: make([]byte, 256)}
}

// until commits until the deadline and returns how many commits it made and how long they took.
func (c *commitLoop) until(b *testing.B, deadline time.Time) (int, time.Duration) {
	n, began := 0, time.Now()
	for time.Now().Before(deadline) {
		if _, err := c.db.ExecContext(context.Background(), `INSERT INTO bench_commit (v) VALUES ($1)`, c.v); err != nil {
			b.Fatal(err)
		}
		n++
	}
	return n, time.Since(began)
}

// readEnv is a server with one clinician and one patient in their care.
type readEnv struct {
	s    *Server
	h    http.Handler
	clin []*http.Cookie
	pid  string
}

func newReadEnv(b *testing.B, d store.Dialect, noop bool) *readEnv {
	idc := identity.DefaultConfig()
	idc.PasswordParams = password.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}
	dsn := ""
	if d == store.Postgres {
		dsn = storetest.DSN(b, d)
	}
	s, h, clin, pid := benchServerOn(b, dsn, idc, noop)
	return &readEnv{s: s, h: h, clin: clin, pid: pid}
}

// run has callers goroutines share b.N reads and reports throughput and latency percentiles.
func (env *readEnv) run(b *testing.B, callers int) {
	b.ReportAllocs()
	b.ResetTimer()
	r, err := env.load(callers, int64(b.N), time.Time{})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	r.report(b, "")
}

// reads is what a run of reads measured.
type reads struct {
	lat     []time.Duration // one per read
	elapsed time.Duration
	cpu     time.Duration // process CPU time; negative if not measured
}

// load has callers goroutines read the record, each as soon as its previous read is answered,
// until n reads have started (n > 0) or, if n is 0, until the deadline.
func (env *readEnv) load(callers int, n int64, deadline time.Time) (reads, error) {
	var next atomic.Int64
	lat := make([][]time.Duration, callers)
	errs := make(chan error, callers)
	var wg sync.WaitGroup
	cpu0, cpuOK := processCPU()
	began := time.Now()
	for c := range callers {
		wg.Go(func() {
			req := httptest.NewRequest("GET", "https://localhost/api/v1/patients/"+env.pid, nil)
			for _, k := range env.clin {
				req.AddCookie(k)
			}
			mine := make([]time.Duration, 0, max(n/int64(callers), 64)+1)
			for {
				if n > 0 && next.Add(1) > n || n == 0 && !time.Now().Before(deadline) {
					break
				}
				w := httptest.NewRecorder()
				t0 := time.Now()
				env.h.ServeHTTP(w, req)
				mine = append(mine, time.Since(t0))
				if w.Code != 200 {
					errs <- fmt.Errorf("status %d: %s", w.Code, w.Body)
					return
				}
			}
			lat[c] = mine
		})
	}
	wg.Wait()
	r := reads{lat: slices.Concat(lat...), elapsed: time.Since(began), cpu: -1}
	if cpu1, _ := processCPU(); cpuOK {
		r.cpu = cpu1 - cpu0
	}
	close(errs)
	return r, <-errs
}

// add appends another run's reads to r.
func (r *reads) add(o reads) {
	r.lat = append(r.lat, o.lat...)
	r.elapsed += o.elapsed
	if r.cpu >= 0 && o.cpu >= 0 {
		r.cpu += o.cpu
	} else {
		r.cpu = -1
	}
}

func (r reads) perSecond() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

// report reports r's throughput, CPU time per read and latency percentiles, their units
// prefixed with prefix.
func (r reads) report(b *testing.B, prefix string) {
	if len(r.lat) == 0 {
		return
	}
	slices.Sort(r.lat)
	b.ReportMetric(r.perSecond(), prefix+"reads/s")
	if r.cpu >= 0 {
		// What a read costs the processors, whatever else the machine runs meanwhile.
		b.ReportMetric(float64(r.cpu)/float64(time.Microsecond)/float64(len(r.lat)), prefix+"cpu-µs/read")
	}
	b.ReportMetric(ms(quantile(r.lat, 0.50)), prefix+"p50-ms")
	b.ReportMetric(ms(quantile(r.lat, 0.99)), prefix+"p99-ms")
	b.ReportMetric(ms(quantile(r.lat, 0.999)), prefix+"p99.9-ms")
	b.ReportMetric(ms(r.lat[len(r.lat)-1]), prefix+"max-ms")
}

// quantile is the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(float64(len(sorted))*q)) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// benchAuditAppend appends one read's audit entry per op, on a database of its own.
func benchAuditAppend(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	l := audit.New(db, time.Now)
	e := audit.Entry{ActorID: "acct-123", ActorRole: "clinician", Action: "record.read", ResourceType: "Patient",
		ResourceID: "pat-456", PatientID: "pat-456", Outcome: audit.Allow, Reason: "care-team", SourceAddr: "127.0.0.1",
		RequestID: "req", Purpose: "TREAT"}
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.Append(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// benchDurableCommit commits one single-row INSERT per op on a SQLite database opened as the
// store opens it (WAL, synchronous=FULL): the price of one durable commit on this disk.
func benchDurableCommit(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "commit.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE bench_commit (id INTEGER PRIMARY KEY, v BLOB)`); err != nil {
		b.Fatal(err)
	}
	v := make([]byte, 256)
	b.ResetTimer()
	for b.Loop() {
		if _, err := db.ExecContext(ctx, `INSERT INTO bench_commit (v) VALUES ($1)`, v); err != nil {
			b.Fatal(err)
		}
	}
}

// benchServerWith builds a server with the identity policy idc, one clinician and one patient
// in their care, and returns the handler (rewired with the doubles if noop) and the
// clinician's session cookies.
func benchServerWith(b *testing.B, idc identity.Config, noop bool) (*Server, http.Handler, []*http.Cookie, string) {
	return benchServerOn(b, "", idc, noop)
}

// benchServerOn is benchServerWith on the database dsn (empty: SQLite in the data directory).
func benchServerOn(b *testing.B, dsn string, idc identity.Config, noop bool) (*Server, http.Handler, []*http.Cookie, string) {
	b.Helper()
	ctx := context.Background()
	clk := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return clk }
	var stderr strings.Builder
	s, err := New(ctx, Config{DataDir: filepath.Join(b.TempDir(), "d"), Identity: idc, Now: now, Stderr: &stderr, BaseURL: "https://localhost", DB: dsn})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.WaitBackground) // failed sign-ins are counted after their answers
	if noop {
		s.records = clinical.New(s.db, noopCipher{}, guard.New(s.policy, noopAudit{}, now), s.identity, s.watcher, now)
		s.handler = s.buildHandler()
	}
	ts := httptest.NewUnstartedServer(s.handler)
	ts.StartTLS()
	defer ts.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	post := func(path, body string) string {
		resp, err := c.Post(ts.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 300 {
			b.Fatalf("POST %s: %d %s", path, resp.StatusCode, out)
		}
		return string(out)
	}
	enrol := func() {
		resp, err := c.Get(ts.URL + "/api/v1/auth/totp/enrolment")
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		secret := field(string(body), "secret")
		code, _ := totp.Code(secret, clk)
		post("/api/v1/auth/totp/enrolment", `{"code":"`+code+`"}`)
	}
	token := stderr.String()[strings.Index(stderr.String(), "token=")+6:]
	token = strings.Fields(token)[0]
	post("/api/v1/setup", fmt.Sprintf(`{"token":%q,"email":"admin@haven.test","name":"Admin","password":"admin passphrase"}`, token))
	enrol()
	invite := field(post("/api/v1/admin/staff", `{"email":"dr@haven.test","name":"Dr Bench","role":"clinician"}`), "url")
	jar2, _ := cookiejar.New(nil)
	c.Jar = jar2
	post("/api/v1/invites/activate", `{"token":"`+invite[strings.Index(invite, "token=")+6:]+`","password":"clinician passphrase"}`)
	enrol()
	pid := field(post("/api/v1/patients", `{"name":"Bench Patient","birthDate":"1970-01-01","phone":"+1 555 0100","email":"bench@example.test"}`), "patientId")
	post("/api/v1/patients/"+pid+"/notes", `{"body":"benchmark note"}`)
	return s, s.handler, jar2.Cookies(mustURL(ts.URL)), pid
}

// field pulls a string field out of a JSON object.
func field(body, name string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		panic(fmt.Sprintf("not JSON: %s", body))
	}
	s, _ := m[name].(string)
	return s
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
