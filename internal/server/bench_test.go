package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
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
// clinician, on SQLite. Sub-benchmarks: "full" is production wiring; "noop-keys-audit" swaps in
// the doubles above. docs/benchmarks.md reports full/noop as the cost of the safeguards.
func BenchmarkPHIRead(b *testing.B) {
	for _, mode := range []string{"full", "noop-keys-audit"} {
		b.Run(mode, func(b *testing.B) {
			s, h, clin, pid := benchServer(b, mode == "noop-keys-audit")
			defer s.Close()
			req := httptest.NewRequest("GET", "https://localhost/api/v1/patients/"+pid, nil)
			for _, c := range clin {
				req.AddCookie(c)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
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
	b.Helper()
	ctx := context.Background()
	clk := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { return clk }
	var stderr strings.Builder
	s, err := New(ctx, Config{DataDir: filepath.Join(b.TempDir(), "d"), Identity: idc, Now: now, Stderr: &stderr, BaseURL: "https://localhost"})
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
