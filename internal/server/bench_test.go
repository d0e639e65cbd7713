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
	var next atomic.Int64
	lat := make([][]time.Duration, callers)
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, cpuOK := processCPU()
	began := time.Now()
	for c := range callers {
		wg.Go(func() {
			req := httptest.NewRequest("GET", "https://localhost/api/v1/patients/"+env.pid, nil)
			for _, k := range env.clin {
				req.AddCookie(k)
			}
			mine := make([]time.Duration, 0, b.N/callers+1)
			for next.Add(1) <= int64(b.N) {
				w := httptest.NewRecorder()
				t0 := time.Now()
				env.h.ServeHTTP(w, req)
				mine = append(mine, time.Since(t0))
				if w.Code != 200 {
					b.Errorf("status %d: %s", w.Code, w.Body)
					return
				}
			}
			lat[c] = mine
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	cpu1, _ := processCPU()
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "reads/s")
	if cpuOK {
		// What a read costs the processors, whatever else the machine runs meanwhile.
		b.ReportMetric(float64(cpu1-cpu0)/float64(time.Microsecond)/float64(len(all)), "cpu-µs/read")
	}
	b.ReportMetric(ms(quantile(all, 0.50)), "p50-ms")
	b.ReportMetric(ms(quantile(all, 0.99)), "p99-ms")
	b.ReportMetric(ms(quantile(all, 0.999)), "p99.9-ms")
	b.ReportMetric(ms(all[len(all)-1]), "max-ms")
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

// benchServer builds a server with one clinician and one patient in their care, returns the
// handler (rewired with the doubles if noop) and the clinician's session cookies. Its passwords
// are hashed with cheap parameters: the PHI read never hashes.
func benchServer(b *testing.B, noop bool) (*Server, http.Handler, []*http.Cookie, string) {
	idc := identity.DefaultConfig()
	idc.PasswordParams = password.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}
	return benchServerWith(b, idc, noop)
}

// benchServerWith is benchServer with the identity policy idc.
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
