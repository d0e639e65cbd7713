package api_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"haven/internal/api"
)

// loadDocument is the document as a client loads it, checked against the OpenAPI 3.1 schema.
func loadDocument(t *testing.T) (*api.API, *openapi3.T) {
	t.Helper()
	a := api.New(api.Deps{Version: "test"})
	raw, err := json.Marshal(a.OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	return a, doc
}

func operation(t *testing.T, doc *openapi3.T, method, path string) *openapi3.Operation {
	t.Helper()
	item := doc.Paths.Value(api.Prefix + path)
	if item == nil || item.GetOperation(method) == nil {
		t.Fatalf("%s %s is not documented", method, path)
	}
	return item.GetOperation(method)
}

// TestOpenAPIListsEveryStatus: each operation lists the statuses its route's properties imply,
// and none it cannot answer (405 belongs to methods a path does not serve).
func TestOpenAPIListsEveryStatus(t *testing.T) {
	a, doc := loadDocument(t)
	for _, rt := range a.Routes() {
		op := operation(t, doc, rt.Method, rt.Path)
		want := []int{http.StatusInternalServerError, http.StatusServiceUnavailable}
		if !rt.Public {
			want = append(want, http.StatusUnauthorized, http.StatusForbidden)
		}
		if rt.Method != http.MethodGet {
			want = append(want, http.StatusForbidden) // a cross-site browser request
		}
		if rt.Request != nil {
			want = append(want, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
		}
		for _, p := range rt.Query {
			if p.In == "path" {
				want = append(want, http.StatusNotFound)
			}
		}
		for _, status := range want {
			if op.Responses.Status(status) == nil {
				t.Errorf("%s %s does not list %d", rt.Method, rt.Path, status)
			}
		}
		if op.Responses.Status(http.StatusMethodNotAllowed) != nil || op.Responses.Default() != nil {
			t.Errorf("%s %s lists 405 or a default", rt.Method, rt.Path)
		}
	}
	// Statuses only the domain can answer, listed per operation.
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/auth/login", http.StatusUnauthorized},
		{"POST", "/auth/login", http.StatusTooManyRequests},
		{"POST", "/auth/step-up", http.StatusTooManyRequests},
		{"POST", "/setup", http.StatusGone},
		{"POST", "/invites/activate", http.StatusGone},
		{"POST", "/password-resets", http.StatusConflict},
		{"POST", "/admin/staff", http.StatusConflict},
		{"DELETE", "/totp", http.StatusConflict},
		{"GET", "/audit/checkpoint", http.StatusNotFound},
		{"POST", "/me/access-log/{seq}/report", http.StatusBadRequest},
		{"GET", "/me/access-log", http.StatusBadRequest},
		{"GET", "/patients/{id}/access-log", http.StatusBadRequest},
		{"POST", "/audit/reviews/{id}/resolve", http.StatusUnprocessableEntity},
		{"GET", "/clinicians/{id}/slots", http.StatusBadRequest},
		{"GET", "/clinicians/{id}/slots", http.StatusUnprocessableEntity},
		{"GET", "/appointments", http.StatusUnprocessableEntity},
		{"POST", "/appointments", http.StatusConflict},
		{"PUT", "/appointments/{id}", http.StatusConflict},
		{"DELETE", "/appointments/{id}", http.StatusConflict},
		{"POST", "/appointments/{id}/no-show", http.StatusConflict},
	} {
		if operation(t, doc, tc.method, tc.path).Responses.Status(tc.status) == nil {
			t.Errorf("%s %s does not list %d", tc.method, tc.path, tc.status)
		}
	}
}

// TestOpenAPIAccessLogPagingAndOptionalBodies: the access logs take their paging parameters
// by query, and closing a report takes its finding in a body a client may leave out (clients
// written before findings); every other body is required.
func TestOpenAPIAccessLogPagingAndOptionalBodies(t *testing.T) {
	a, doc := loadDocument(t)
	for _, path := range []string{"/me/access-log", "/patients/{id}/access-log"} {
		op := operation(t, doc, "GET", path)
		for _, name := range []string{"before", "limit"} {
			if p := op.Parameters.GetByInAndName("query", name); p == nil || p.Required {
				t.Errorf("GET %s: no optional query parameter %s", path, name)
			}
		}
	}
	for _, rt := range a.Routes() {
		if rt.Request == nil {
			continue
		}
		body := operation(t, doc, rt.Method, rt.Path).RequestBody.Value
		if want := rt.OperationID != "resolveAuditReview"; body.Required != want {
			t.Errorf("%s %s: body required %v, want %v", rt.Method, rt.Path, body.Required, want)
		}
	}
	props := operation(t, doc, "POST", "/audit/reviews/{id}/resolve").RequestBody.Value.Content.Get("application/json").Schema.Value.Properties
	if props["outcome"] == nil || props["note"] == nil {
		t.Errorf("closing a report takes no outcome and note: %v", props)
	}
}

// TestOpenAPIErrorsAndRetryAfter: every error status answers the closed Error object, and a 429
// says when to retry.
func TestOpenAPIErrorsAndRetryAfter(t *testing.T) {
	a, doc := loadDocument(t)
	errSchema := doc.Components.Schemas["Error"].Value
	if diff := cmp.Diff([]string{"error", "requestId"}, errSchema.Required); diff != "" {
		t.Errorf("Error required (-want +got):\n%s", diff)
	}
	if errSchema.AdditionalProperties.Has == nil || *errSchema.AdditionalProperties.Has {
		t.Error("Error is not closed")
	}
	for _, rt := range a.Routes() {
		for code, ref := range operation(t, doc, rt.Method, rt.Path).Responses.Map() {
			status, _ := strconv.Atoi(code)
			if status < 400 {
				continue
			}
			mt := ref.Value.Content.Get("application/json")
			if mt == nil || mt.Schema == nil || mt.Schema.Value != errSchema {
				t.Errorf("%s %s %d is not the Error object", rt.Method, rt.Path, status)
			}
			if h := ref.Value.Headers["Retry-After"]; status == http.StatusTooManyRequests && (h == nil || !h.Value.Required) {
				t.Errorf("%s %s 429 has no Retry-After header", rt.Method, rt.Path)
			}
		}
	}
}

// TestOpenAPISuccessSchemas: the fields clients need are there (embedded structs flattened),
// those always sent are required, objects are closed, and text answers are not called JSON.
func TestOpenAPISuccessSchemas(t *testing.T) {
	_, doc := loadDocument(t)
	for _, tc := range []struct {
		method, path string
		status       int
		properties   []string // nil: not checked
		required     []string
	}{
		{"POST", "/admin/staff", 201, []string{"accountId", "emailed", "url"}, []string{"accountId", "emailed"}},
		{"POST", "/patients", 201, []string{"emailed", "patientId", "url"}, []string{"emailed", "patientId"}},
		{"POST", "/admin/staff/{id}/password-reset", 201, []string{"emailed", "url"}, []string{"emailed"}},
		{"GET", "/me", 200, []string{"email", "id", "name", "patientId", "role"}, []string{"id", "role"}},
		{"GET", "/patients/{id}", 200, []string{"notes", "patient"}, []string{"notes", "patient"}},
		{"POST", "/auth/login", 200, []string{"stage"}, []string{"stage"}},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp := operation(t, doc, tc.method, tc.path).Responses.Status(tc.status)
			if resp == nil {
				t.Fatalf("no %d", tc.status)
			}
			mt := resp.Value.Content.Get("application/json")
			if mt == nil || len(resp.Value.Content) != 1 {
				t.Fatalf("content %v, want application/json only", slices.Collect(maps.Keys(resp.Value.Content)))
			}
			s := mt.Schema.Value
			props := slices.Sorted(maps.Keys(s.Properties))
			if diff := cmp.Diff(tc.properties, props); diff != "" {
				t.Errorf("properties (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.required, s.Required); diff != "" {
				t.Errorf("required (-want +got):\n%s", diff)
			}
		})
	}
	// Passkeys: lastUsed is omitted until first use, so it is not required; items are closed.
	items := operation(t, doc, "GET", "/passkeys").Responses.Status(200).Value.Content.Get("application/json").Schema.Value.Items.Value
	if diff := cmp.Diff([]string{"createdAt", "id", "name"}, items.Required); diff != "" {
		t.Errorf("passkey required (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ method, path, media string }{
		{"GET", "/audit/key", "text/plain"},
		{"GET", "/audit/checkpoint", "text/plain"},
		{"POST", "/admin/audit/checkpoint", "text/plain"},
		{"POST", "/audit/export/fhir", "application/fhir+ndjson"},
	} {
		content := operation(t, doc, tc.method, tc.path).Responses.Status(200).Value.Content
		if got := slices.Collect(maps.Keys(content)); !slices.Equal(got, []string{tc.media}) {
			t.Errorf("%s %s answers %v, want %s", tc.method, tc.path, got, tc.media)
		}
	}
}

// TestOpenAPIObjectsAreClosed: every object the API sends or takes, at any depth, refuses
// properties it does not list (maps excepted: their keys are data); request fields are never
// required, as a missing field decodes to its zero value.
func TestOpenAPIObjectsAreClosed(t *testing.T) {
	a, doc := loadDocument(t)
	var walk func(where string, s *openapi3.Schema, request bool)
	walk = func(where string, s *openapi3.Schema, request bool) {
		if s == nil {
			return
		}
		if s.Properties != nil && (s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has) {
			t.Errorf("%s: object is open", where)
		}
		if request && len(s.Required) > 0 {
			t.Errorf("%s: request requires %v", where, s.Required)
		}
		for name, p := range s.Properties {
			walk(where+"."+name, p.Value, request)
		}
		if s.Items != nil {
			walk(where+"[]", s.Items.Value, request)
		}
	}
	for _, rt := range a.Routes() {
		op := operation(t, doc, rt.Method, rt.Path)
		if op.RequestBody != nil {
			if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil { // a raw upload has none
				walk(rt.OperationID+" request", mt.Schema.Value, true)
			}
		}
		status := rt.Status
		if status == 0 {
			status = http.StatusOK
		}
		if mt := op.Responses.Status(status).Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			walk(rt.OperationID+" answer", mt.Schema.Value, false)
		}
	}
}
