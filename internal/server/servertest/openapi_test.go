package servertest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"haven/internal/api"
	"haven/internal/httpx"
)

// TestContractRefusesWhatTheDocumentDoesNot: the check hooked into every test client fails an
// answer with a field missing or extra, an unlisted status, the wrong media type, a 429 without
// Retry-After or a 405 without Allow, and passes the answers the API really gives.
func TestContractRefusesWhatTheDocumentDoesNot(t *testing.T) {
	a := api.New(api.Deps{Version: "test"})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, a.OpenAPI())
	}))
	defer ts.Close()
	c := newContract(ts.URL)

	const (
		jsonCT = "application/json; charset=utf-8"
		textCT = "text/plain; charset=utf-8"
		errObj = `{"error":"no","requestId":"0123456789abcdef"}`
	)
	for _, tc := range []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		ok                 bool
	}{
		{"invitation e-mailed", "POST", "/api/v1/admin/staff", 201, nil, `{"accountId":"a","emailed":true}`, true},
		{"invitation link returned", "POST", "/api/v1/admin/staff", 201, nil, `{"accountId":"a","url":"https://x/invite?token=t","emailed":false}`, true},
		{"invitation without emailed", "POST", "/api/v1/admin/staff", 201, nil, `{"accountId":"a","url":"https://x"}`, false},
		{"invitation with an extra field", "POST", "/api/v1/admin/staff", 201, nil, `{"accountId":"a","emailed":true,"token":"t"}`, false},
		{"registration without patientId", "POST", "/api/v1/patients", 201, nil, `{"emailed":true}`, false},
		{"wrong type", "GET", "/api/v1/recovery-codes", 200, nil, `{"remaining":"3"}`, false},
		{"array of closed objects", "GET", "/api/v1/passkeys", 200, nil, `[{"id":"x","name":"k","createdAt":"2026-11-24T09:00:00Z","extra":1}]`, false},
		{"unlisted status", "GET", "/api/v1/me", http.StatusTeapot, nil, errObj, false},
		{"listed error", "POST", "/api/v1/patients", 413, nil, errObj, true},
		{"error without requestId", "POST", "/api/v1/patients", 422, nil, `{"error":"name: enter a name"}`, false},
		{"429 with Retry-After", "POST", "/api/v1/auth/login", 429, http.Header{"Retry-After": {"60"}}, errObj, true},
		{"429 without Retry-After", "POST", "/api/v1/auth/login", 429, nil, errObj, false},
		{"verifier key as text", "GET", "/api/v1/audit/key", 200, http.Header{"Content-Type": {textCT}}, "haven+1234+AQ==\n", true},
		{"verifier key as JSON", "GET", "/api/v1/audit/key", 200, nil, `"haven+1234+AQ=="`, false},
		{"FHIR export", "POST", "/api/v1/audit/export/fhir", 200, http.Header{"Content-Type": {"application/fhir+ndjson"}}, "{}\n{}\n", true},
		{"405 with Allow", "DELETE", "/api/v1/me", 405, http.Header{"Allow": {"GET, HEAD"}}, errObj, true},
		{"405 without Allow", "DELETE", "/api/v1/me", 405, nil, errObj, false},
		{"unknown path", "GET", "/api/v1/no-such-thing", 404, nil, errObj, true},
		{"unknown path answering 200", "GET", "/api/v1/no-such-thing", 200, nil, `{}`, false},
		{"HEAD of a GET", "HEAD", "/api/v1/me", 200, http.Header{}, "", true},
		{"not the API", "GET", "/metrics", 200, http.Header{"Content-Type": {textCT}}, "# metrics", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "https://localhost"+tc.path, nil)
			h := http.Header{"Content-Type": {jsonCT}}
			for k, v := range tc.header {
				h[k] = v
			}
			err := c.Check(req, tc.status, h, []byte(tc.body))
			if (err == nil) != tc.ok {
				t.Fatalf("Check = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
