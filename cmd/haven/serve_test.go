package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeEmbeddedDefault runs `haven serve` as a user would on a fresh data directory: HTTPS
// with a generated certificate, plain HTTP that only redirects (to the configured URL, whatever
// Host the request names), metrics on their own listener and not on the public port, the setup
// link on stderr, private file modes, and a graceful stop.
func TestServeEmbeddedDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	dataDir := filepath.Join(t.TempDir(), "haven-data")
	httpsAddr, httpAddr, metricsAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &servertest.SyncBuffer{}
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve", "--data-dir", dataDir, "--listen", httpsAddr, "--http-listen", httpAddr, "--metrics-listen", metricsAddr}, &bytes.Buffer{}, stderr)
	}()

	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the self-signed certificate under test
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       5 * time.Second,
	}
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err = client.Get("https://" + httpsAddr + "/healthz"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("server never answered: %v\nstderr:\n%s", err, stderr.Bytes())
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("healthz: %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}
	if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("TLS state %+v", resp.TLS)
	}

	if !regexp.MustCompile(`https://localhost:\d+/setup\?token=[A-Za-z0-9_-]{43}`).Match(stderr.Bytes()) {
		t.Fatalf("no setup link on stderr:\n%s", stderr.Bytes())
	}

	// Plain HTTP only redirects to HTTPS.
	r2, err := client.Get("http://" + httpAddr + "/login?x=1")
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	_, port, _ := net.SplitHostPort(httpsAddr)
	baseURL := "https://localhost:" + port
	if loc := r2.Header.Get("Location"); r2.StatusCode != http.StatusPermanentRedirect || loc != baseURL+"/login?x=1" {
		t.Fatalf("http redirect: %d %q, want %s/login?x=1", r2.StatusCode, loc, baseURL)
	}
	// A forged Host header does not choose where the redirect goes (no open redirect).
	forged, _ := http.NewRequest("GET", "http://"+httpAddr+"/login?x=1", nil)
	forged.Host = "evil.example"
	r4, err := client.Do(forged)
	if err != nil {
		t.Fatal(err)
	}
	r4.Body.Close()
	if loc := r4.Header.Get("Location"); loc != baseURL+"/login?x=1" {
		t.Fatalf("redirect with Host: evil.example went to %q", loc)
	}

	// Metrics: on their own plain-HTTP listener, never on the public port.
	r5, err := client.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(r5.Body)
	r5.Body.Close()
	if r5.StatusCode != 200 || !strings.Contains(string(metrics), `haven_http_requests_total{code="200",method="GET",route="GET /healthz"}`) {
		t.Fatalf("metrics listener: %d %.300s", r5.StatusCode, metrics)
	}
	r6, err := client.Get("https://" + httpsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	r6.Body.Close()
	if r6.StatusCode != http.StatusNotFound {
		t.Fatalf("GET /metrics on the public port = %d, want 404", r6.StatusCode)
	}

	// Old protocol versions are refused.
	if conn, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		conn.Close()
		t.Fatal("a TLS 1.1 handshake succeeded")
	}

	// One audited request (a failed sign-in), so that the shutdown has something to checkpoint.
	r3, err := client.Post("https://"+httpsAddr+"/api/v1/auth/login", "application/json", strings.NewReader(`{"email":"x@y.test","password":"wrong password"}`))
	if err != nil {
		t.Fatal(err)
	}
	r3.Body.Close()

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d after a graceful stop:\n%s", code, stderr.Bytes())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}

	filepath.Walk(dataDir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if info.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %o, want %o", strings.TrimPrefix(path, dataDir), info.Mode().Perm(), want)
		}
		return nil
	})
	// The graceful stop signed a checkpoint covering every entry.
	var out bytes.Buffer
	if code := run(context.Background(), []string{"audit", "verify", "--data-dir", dataDir}, &out, &out); code != 0 ||
		!strings.Contains(out.String(), "1 signed checkpoints (signatures checked") || strings.Contains(out.String(), "not yet covered") ||
		!regexp.MustCompile(`checkpoint origin: haven\.audit/[0-9a-f]{32}\n`).MatchString(out.String()) {
		t.Fatalf("audit verify after shutdown: exit %d\n%s", code, out.String())
	}
	for _, f := range []string{"haven.db", "root.key"} {
		if _, err := os.Stat(filepath.Join(dataDir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
}
