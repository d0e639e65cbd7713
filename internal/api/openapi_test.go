package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"haven/internal/api"
)

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	a := api.New(api.Deps{Version: "test"})
	raw, err := json.Marshal(a.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	seen := map[string]bool{}
	for _, rt := range a.Routes() {
		if seen[rt.OperationID] {
			t.Errorf("duplicate operationId %s", rt.OperationID)
		}
		seen[rt.OperationID] = true
		op, ok := doc.Paths[api.Prefix+rt.Path][strings.ToLower(rt.Method)]
		if !ok {
			t.Errorf("%s %s is routed but not documented", rt.Method, rt.Path)
			continue
		}
		var o struct {
			Security *[]any `json:"security"`
		}
		json.Unmarshal(op, &o)
		if rt.Public != (o.Security != nil && len(*o.Security) == 0) {
			t.Errorf("%s %s: public=%v but security=%v", rt.Method, rt.Path, rt.Public, o.Security)
		}
	}
	var documented int
	for _, ops := range doc.Paths {
		documented += len(ops)
	}
	if documented != len(a.Routes()) {
		t.Errorf("document has %d operations, route table %d", documented, len(a.Routes()))
	}
	for _, want := range []string{"/api/v1/auth/login", "/api/v1/auth/totp", "/api/v1/patients/{id}"} {
		if _, ok := doc.Paths[want]; !ok {
			t.Errorf("missing %s", want)
		}
	}
}
