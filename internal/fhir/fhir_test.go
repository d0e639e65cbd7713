package fhir_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"haven/internal/server/servertest"
)

// TestPublicAndClosed: metadata and both SMART configuration documents are public; every
// other FHIR path answers 401 with an OperationOutcome before looking at its input.
func TestPublicAndClosed(t *testing.T) {
	e := servertest.New(t, "")
	c := e.Client()
	for _, path := range []string{"/fhir/R4/metadata", "/fhir/R4/.well-known/smart-configuration", "/.well-known/smart-configuration"} {
		code, _, body := c.DoRaw("GET", path, nil)
		if code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200: %s", path, code, body)
		}
	}
	for _, path := range []string{"/fhir/R4/Patient/abc", "/fhir/R4/Patient?name=x", "/fhir/R4/Nothing", "/fhir/R4/Patient/abc/$everything"} {
		code, h, body := c.DoRaw("GET", path, nil)
		var oo map[string]any
		_ = json.Unmarshal(body, &oo)
		if code != http.StatusUnauthorized || oo["resourceType"] != "OperationOutcome" || h.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without credentials = %d %s, want 401 OperationOutcome with WWW-Authenticate", path, code, body)
		}
	}
}
