package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"haven/internal/server/servertest"
)

// TestOperationalEndpoints: health and readiness on the public port; metrics only on the
// metrics listener. The public port answers 404 for /metrics: its security-alert counters would
// let an attacker watch whether their probing raised an alert.
func TestOperationalEndpoints(t *testing.T) {
	e := servertest.New(t, "")
	c := e.Client()
	get := func(path string) (int, string) {
		url := e.TS.URL + path
		if path == "/metrics" {
			url = e.Metrics.URL + path
		}
		resp, err := c.HTTP.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	e.Admin() // some traffic for the metrics
	for path, want := range map[string]string{
		"/healthz":             "ok",
		"/readyz":              "ready",
		"/metrics":             `haven_http_requests_total{code="201",method="POST",route="POST /api/v1/setup"} 1`,
		"/api/v1/openapi.json": `"openapi":"3.1.0"`,
	} {
		code, body := get(path)
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s = %d, want 200 containing %q; got %.300s", path, code, want, body)
		}
	}
	resp, err := c.HTTP.Get(e.TS.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics on the public port = %d, want 404", resp.StatusCode)
	}
	if code, _ := getFrom(t, e.Metrics.URL+"/healthz"); code != http.StatusNotFound {
		t.Errorf("the metrics listener serves more than /metrics: /healthz = %d", code)
	}
	e.Srv.DB().Close()
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database closed = %d, want 503", code)
	}
}

func getFrom(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
