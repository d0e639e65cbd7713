package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"haven/internal/server/servertest"
)

func TestOperationalEndpoints(t *testing.T) {
	e := servertest.New(t, "")
	c := e.Client()
	get := func(path string) (int, string) {
		resp, err := c.HTTP.Get(e.TS.URL + path)
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
	e.Srv.DB().Close()
	if code, _ := get("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz with the database closed = %d, want 503", code)
	}
}
