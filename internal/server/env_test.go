package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"haven/internal/identity"
	"haven/internal/identity/password"
	"haven/internal/identity/totp"
	"haven/internal/server"
)

// clock is a fake clock the test advances, so TOTP steps and timeouts need no sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// env is a running Haven server on loopback with a fake clock.
type env struct {
	t       testing.TB
	srv     *server.Server
	ts      *httptest.Server
	clk     *clock
	log     *syncBuffer
	dataDir string
}

// fastIdentity keeps production policy but cheap hashing, so tests stay quick.
func fastIdentity() identity.Config {
	c := identity.DefaultConfig()
	c.PasswordParams = password.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}
	c.AttemptsPerMinute = 1000
	return c
}

// newEnv starts a server on dsn (empty: SQLite in a temporary data directory).
func newEnv(t testing.TB, dsn string) *env {
	t.Helper()
	e := &env{t: t, clk: &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}, log: &syncBuffer{}, dataDir: filepath.Join(t.TempDir(), "data")}
	srv, err := server.New(context.Background(), server.Config{
		DataDir: e.dataDir, DB: dsn, Identity: fastIdentity(), Now: e.clk.Now, Stderr: e.log, BaseURL: "https://haven.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	e.ts = httptest.NewUnstartedServer(srv.Handler())
	e.ts.StartTLS()
	t.Cleanup(func() { e.ts.Close(); srv.Close() })
	return e
}

// client is one user's browser-like API client with its own cookie jar.
type client struct {
	e      *env
	http   *http.Client
	secret string // TOTP secret once enrolled
	email  string
	pw     string
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // test server's own certificate
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

// do sends a JSON request and returns the status and decoded body.
func (c *client) do(method, path string, body any) (int, map[string]any, []byte) {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.e.ts.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return resp.StatusCode, m, raw
}

func (c *client) must(want int, method, path string, body any) map[string]any {
	c.e.t.Helper()
	code, m, raw := c.do(method, path, body)
	if code != want {
		c.e.t.Fatalf("%s %s = %d %s, want %d", method, path, code, raw, want)
	}
	return m
}

// list sends a request whose answer is a JSON array.
func (c *client) list(want int, method, path string, body any) []any {
	c.e.t.Helper()
	code, _, raw := c.do(method, path, body)
	var l []any
	if code != want || json.Unmarshal(raw, &l) != nil {
		c.e.t.Fatalf("%s %s = %d %s, want %d with a JSON array", method, path, code, raw, want)
	}
	return l
}

func (c *client) code() string {
	c.e.t.Helper()
	code, err := totp.Code(c.secret, c.e.clk.Now())
	if err != nil {
		c.e.t.Fatal(err)
	}
	return code
}

// enrol completes TOTP enrolment for a session at the enrolment stage.
func (c *client) enrol() {
	c.e.t.Helper()
	m := c.must(200, "GET", "/api/v1/auth/totp/enrolment", nil)
	c.secret = m["secret"].(string)
	c.must(200, "POST", "/api/v1/auth/totp/enrolment", map[string]string{"code": c.code()})
}

// login signs in with password and a fresh TOTP code.
func (c *client) login() {
	c.e.t.Helper()
	c.e.clk.Advance(31 * time.Second)
	c.must(200, "POST", "/api/v1/auth/login", map[string]string{"email": c.email, "password": c.pw})
	c.must(200, "POST", "/api/v1/auth/totp", map[string]string{"code": c.code()})
}

var setupLink = regexp.MustCompile(`/setup\?token=([A-Za-z0-9_-]+)`)

// admin completes first-run setup and returns the administrator's client.
func (e *env) admin() *client {
	e.t.Helper()
	m := setupLink.FindSubmatch(e.log.Bytes())
	if m == nil {
		e.t.Fatalf("no setup link printed; stderr:\n%s", e.log.Bytes())
	}
	a := e.client()
	a.email, a.pw = "admin@haven.test", "admin passphrase 1"
	a.must(201, "POST", "/api/v1/setup", map[string]string{"token": string(m[1]), "email": a.email, "name": "Ada Admin", "password": a.pw})
	a.enrol()
	return a
}

func tokenOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("bad invite link %q", link)
	}
	return u.Query().Get("token")
}

// clinician is invited by admin, activates and enrols.
func (e *env) clinician(admin *client, email string) (*client, string) {
	e.t.Helper()
	m := admin.must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": email, "name": "Dr " + strings.Split(email, "@")[0], "role": "clinician"})
	c := e.client()
	c.email, c.pw = email, "clinician passphrase"
	c.must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": tokenOf(e.t, m["inviteUrl"].(string)), "password": c.pw})
	c.enrol()
	return c, m["accountId"].(string)
}

type patientIn struct {
	Name, BirthDate, Phone, Email string
}

// patient is registered by clinician, activates and enrols; returns its client and record id.
func (e *env) patient(clin *client, p patientIn) (*client, string) {
	e.t.Helper()
	m := clin.must(201, "POST", "/api/v1/patients", map[string]string{"name": p.Name, "birthDate": p.BirthDate, "phone": p.Phone, "email": p.Email})
	c := e.client()
	c.email, c.pw = p.Email, "patient passphrase"
	c.must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": tokenOf(e.t, m["inviteUrl"].(string)), "password": c.pw})
	c.enrol()
	return c, m["patientId"].(string)
}

// auditRows returns (action, outcome, actor, patient) of every audit entry, oldest first.
func (e *env) auditRows() [][4]string {
	e.t.Helper()
	rows, err := e.srv.DB().Query(`SELECT action, outcome, actor_id, patient_id FROM audit_entries ORDER BY seq`)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out [][4]string
	for rows.Next() {
		var r [4]string
		rows.Scan(&r[0], &r[1], &r[2], &r[3])
		out = append(out, r)
	}
	return out
}

func (e *env) lastAudit() [4]string {
	rows := e.auditRows()
	return rows[len(rows)-1]
}
