// Package servertest runs a real Haven server on loopback for tests: a temporary data directory
// (or a PostgreSQL schema), a fake clock the test advances, and API clients that sign in the way
// people do, with TOTP codes computed from the enrolled secret.
package servertest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
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

	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/identity/password"
	"haven/internal/identity/totp"
	"haven/internal/server"
)

// clock is a fake clock the test advances, so TOTP steps and timeouts need no sleeping.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a log sink safe for concurrent writes.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *SyncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// env is a running Haven server on loopback with a fake clock.
type Env struct {
	t       testing.TB
	Srv     *server.Server
	TS      *httptest.Server
	Metrics *httptest.Server // the metrics listener (plain HTTP on loopback), apart from TS
	Clock   *Clock
	Log     *SyncBuffer
	DataDir string
	BaseURL string // https://localhost:PORT: the WebAuthn origin
	// Contract checks every API answer a Client receives against the served OpenAPI document.
	Contract *Contract
	// noSchema reports a missing FHIR schema once per server, not once per answer.
	noSchema sync.Once
}

// fastIdentity keeps production policy but cheap hashing, so tests stay quick.
func FastIdentity() identity.Config {
	c := identity.DefaultConfig()
	c.PasswordParams = password.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}
	c.AttemptsPerMinute = 1000
	return c
}

// newEnv starts a server on dsn (empty: SQLite in a temporary data directory).
// Options adjust the server's configuration before it is built.
func New(t testing.TB, dsn string, options ...func(*server.Config)) *Env {
	t.Helper()
	e := &Env{t: t, Clock: &Clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}, Log: &SyncBuffer{}, DataDir: filepath.Join(t.TempDir(), "data")}
	// Listen first: the base URL, which is also the WebAuthn origin, names the port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.BaseURL = fmt.Sprintf("https://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	cfg := server.Config{
		DataDir: e.DataDir, DB: dsn, Identity: FastIdentity(), Now: e.Clock.Now, Stderr: e.Log, BaseURL: e.BaseURL, Host: "localhost",
	}
	for _, o := range options {
		o(&cfg)
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.Srv = srv
	e.TS = httptest.NewUnstartedServer(srv.Handler())
	e.TS.Listener.Close()
	e.TS.Listener = ln
	e.TS.TLS = &tls.Config{Certificates: []tls.Certificate{localhostCert(t)}}
	e.TS.StartTLS()
	e.Metrics = httptest.NewServer(srv.MetricsHandler())
	e.Contract = newContract(e.TS.URL)
	t.Cleanup(func() { e.TS.Close(); e.Metrics.Close(); srv.Close() })
	return e
}

// client is one user's browser-like API client with its own cookie jar.
type Client struct {
	e      *Env
	HTTP   *http.Client
	Secret string // TOTP secret once enrolled
	Email  string
	PW     string
	// RecoveryCodes are the codes that came with the account's first factor (Enrol).
	RecoveryCodes []string
}

// Client is a new browser-like client. Every API answer it receives is checked against the
// OpenAPI document (see Contract) and every FHIR answer against the R4 JSON schema (see
// FHIRSchema), except in benchmarks, which measure the server alone.
func (e *Env) Client() *Client {
	jar, _ := cookiejar.New(nil)
	var rt http.RoundTripper = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // test server's own certificate
	if _, bench := e.t.(*testing.B); !bench {
		rt = &contractTransport{t: e.t, contract: e.Contract, next: rt}
		rt = &fhirTransport{t: e.t, once: &e.noSchema, next: rt, schema: fhirSchema}
	}
	return &Client{e: e, HTTP: &http.Client{Jar: jar, Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func JSONBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

// do sends a JSON request and returns the status and decoded body.
func (c *Client) Do(method, path string, body any) (int, map[string]any, []byte) {
	c.e.t.Helper()
	code, _, m, raw := c.DoHeader(method, path, body)
	return code, m, raw
}

// DoHeader is Do that also returns the response's header.
func (c *Client) DoHeader(method, path string, body any) (int, http.Header, map[string]any, []byte) {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	code, h, raw := c.DoRaw(method, path, rd)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return code, h, m, raw
}

// DoRaw sends body as it is, with Content-Type application/json if body is not nil, and
// returns the status, the headers and the body of the answer.
func (c *Client) DoRaw(method, path string, body io.Reader) (int, http.Header, []byte) {
	c.e.t.Helper()
	req, err := http.NewRequest(method, c.e.TS.URL+path, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

func (c *Client) Must(want int, method, path string, body any) map[string]any {
	c.e.t.Helper()
	code, m, raw := c.Do(method, path, body)
	if code != want {
		c.e.t.Fatalf("%s %s = %d %s, want %d", method, path, code, raw, want)
	}
	return m
}

// list sends a request whose answer is a JSON array.
func (c *Client) List(want int, method, path string, body any) []any {
	c.e.t.Helper()
	code, _, raw := c.Do(method, path, body)
	var l []any
	if code != want || json.Unmarshal(raw, &l) != nil {
		c.e.t.Fatalf("%s %s = %d %s, want %d with a JSON array", method, path, code, raw, want)
	}
	return l
}

func (c *Client) Code() string {
	c.e.t.Helper()
	code, err := totp.Code(c.Secret, c.e.Clock.Now())
	if err != nil {
		c.e.t.Fatal(err)
	}
	return code
}

// enrol completes TOTP enrolment for a session at the enrolment stage, keeping the recovery
// codes the account's first factor comes with.
func (c *Client) Enrol() {
	c.e.t.Helper()
	m := c.Must(200, "GET", "/api/v1/auth/totp/enrolment", nil)
	c.Secret = m["secret"].(string)
	done := c.Must(200, "POST", "/api/v1/auth/totp/enrolment", map[string]string{"code": c.Code()})
	c.RecoveryCodes = Strings(done["recoveryCodes"])
}

// Strings is a JSON array of strings decoded into an any (nil if it is not one).
func Strings(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, s := range l {
		if s, ok := s.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// login signs in with password and a fresh TOTP code.
func (c *Client) Login() {
	c.e.t.Helper()
	c.e.Clock.Advance(31 * time.Second)
	c.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": c.Email, "password": c.PW})
	c.Must(200, "POST", "/api/v1/auth/totp", map[string]string{"code": c.Code()})
}

var SetupLink = regexp.MustCompile(`/setup\?token=([A-Za-z0-9_-]+)`)

// admin completes first-run setup and returns the administrator's client.
func (e *Env) Admin() *Client {
	e.t.Helper()
	m := SetupLink.FindSubmatch(e.Log.Bytes())
	if m == nil {
		e.t.Fatalf("no setup link printed; stderr:\n%s", e.Log.Bytes())
	}
	a := e.Client()
	a.Email, a.PW = "admin@haven.test", "admin passphrase 1"
	a.Must(201, "POST", "/api/v1/setup", map[string]string{"token": string(m[1]), "email": a.Email, "name": "Ada Admin", "password": a.PW})
	a.Enrol()
	return a
}

func TokenOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("bad invite link %q", link)
	}
	return u.Query().Get("token")
}

// Clinician is invited by admin, activates and enrols; it returns the client and account id.
func (e *Env) Clinician(admin *Client, email string) (*Client, string) {
	e.t.Helper()
	return e.Staff(admin, email, "clinician")
}

// Staff invites a staff member of role, who activates and enrols.
func (e *Env) Staff(admin *Client, email, role string) (*Client, string) {
	e.t.Helper()
	m := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": email, "name": "Dr " + strings.Split(email, "@")[0], "role": role})
	c := e.Client()
	c.Email, c.PW = email, "staff passphrase"
	c.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": TokenOf(e.t, m["url"].(string)), "password": c.PW})
	c.Enrol()
	return c, m["accountId"].(string)
}

type PatientIn struct {
	Name, BirthDate, Phone, Email string
}

// patient is registered by clinician, activates and enrols; returns its client and record id.
func (e *Env) Patient(clin *Client, p PatientIn) (*Client, string) {
	e.t.Helper()
	m := clin.Must(201, "POST", "/api/v1/patients", map[string]string{"name": p.Name, "birthDate": p.BirthDate, "phone": p.Phone, "email": p.Email})
	c := e.Client()
	c.Email, c.PW = p.Email, "patient pw 12" // under 15 characters: a second factor is required
	c.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": TokenOf(e.t, m["url"].(string)), "password": c.PW})
	c.Enrol()
	return c, m["patientId"].(string)
}

// auditRows returns (action, outcome, actor, patient) of every audit entry, oldest first.
func (e *Env) AuditRows() [][4]string {
	e.t.Helper()
	rows, err := e.Srv.DB().Query(`SELECT action, outcome, actor_id, patient_id FROM audit_entries ORDER BY seq`)
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

func (e *Env) LastAudit() [4]string {
	rows := e.AuditRows()
	return rows[len(rows)-1]
}

// SessionCookie returns the client's current session token.
func (c *Client) SessionCookie() string {
	u, _ := url.Parse(c.e.TS.URL)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == httpx.SessionCookie {
			return ck.Value
		}
	}
	return ""
}

// ClientWithToken is a new client that presents token as its session cookie, as an attacker
// holding a stolen or planted token would.
func (e *Env) ClientWithToken(token string) *Client {
	c := e.Client()
	u, _ := url.Parse(e.TS.URL)
	c.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: httpx.SessionCookie, Value: token, Path: "/", Secure: true}})
	return c
}
