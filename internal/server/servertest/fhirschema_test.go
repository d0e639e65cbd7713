package servertest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFHIRSchema: the official R4 schema accepts a valid Patient and refuses the mistakes a
// FHIR layer makes (an id FHIR does not allow, a required element missing, an unknown element),
// also inside a Bundle.
func TestFHIRSchema(t *testing.T) {
	start := time.Now()
	s, err := fhirSchema()
	if err != nil {
		noFHIRSchema(t, err)
		t.Skip()
	}
	t.Logf("schema loaded and compiled in %v (once per test binary)", time.Since(start))
	patient := `{"resourceType":"Patient","id":"abc","name":[{"family":"Lovelace","given":["Ada"]}],"birthDate":"1815-12-10"}`
	bundle := func(entry string) string {
		return `{"resourceType":"Bundle","type":"searchset","total":1,"entry":[{"fullUrl":"https://x/fhir/R4/Patient/abc","resource":` + entry + `}]}`
	}
	for _, tc := range []struct {
		name, body, want string // want: a fragment of the error, "" if valid
	}{
		{"valid patient", patient, ""},
		{"id with underscore", strings.Replace(patient, `"abc"`, `"ab_c"`, 1), "$ (Patient)"},
		{"observation without status", `{"resourceType":"Observation","code":{"text":"weight"}}`, "status"},
		{"valid observation", `{"resourceType":"Observation","status":"final","code":{"text":"weight"},"valueQuantity":{"value":72.5,"unit":"kg"}}`, ""},
		{"unknown element", `{"resourceType":"Patient","nickname":"x"}`, "nickname"},
		{"empty string", `{"resourceType":"Patient","gender":""}`, "gender"},
		{"unknown resource type", `{"resourceType":"Dog"}`, "not an R4 resource type"},
		{"not a resource", `{"access_token":"x"}`, "not an R4 resource type"},
		{"valid bundle", bundle(patient), ""},
		{"bundle with a bad entry", bundle(strings.Replace(patient, `"abc"`, `"ab_c"`, 1)), "$.entry[0].resource (Patient)"},
		{"bundle entry without resourceType", bundle(`{"id":"abc"}`), "resourceType"},
		{"empty array", `{"resourceType":"Patient","name":[]}`, "empty array"},
		{"operation outcome without code", `{"resourceType":"OperationOutcome","issue":[{"severity":"error"}]}`, "code"},
		{"operation outcome", `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden","diagnostics":"no"}]}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := s.Validate([]byte(tc.body))
			t.Logf("validated in %v", time.Since(start))
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("valid resource refused: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("invalid resource accepted: %s", tc.body)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

// TestFHIRSchemaMissing: LoadFHIRSchema refuses a missing file and a JSON file that is not the
// FHIR schema.
func TestFHIRSchemaMissing(t *testing.T) {
	if _, err := LoadFHIRSchema(t.TempDir() + "/none.json"); err == nil {
		t.Fatal("a missing schema file loaded")
	}
	bad := t.TempDir() + "/bad.json"
	os.WriteFile(bad, []byte(`{"definitions":{}}`), 0o600)
	if _, err := LoadFHIRSchema(bad); err == nil {
		t.Fatal("a JSON file that is not the FHIR schema loaded")
	}
}

// BenchmarkFHIRSchemaValidate measures one Bundle of 20 Patients through the schema.
func BenchmarkFHIRSchemaValidate(b *testing.B) {
	s, err := fhirSchema()
	if err != nil {
		b.Skip(err)
	}
	entry := `{"fullUrl":"https://x/fhir/R4/Patient/abc","resource":{"resourceType":"Patient","id":"abc","name":[{"family":"Lovelace","given":["Ada"]}],"birthDate":"1815-12-10"}}`
	body := []byte(`{"resourceType":"Bundle","type":"searchset","total":20,"entry":[` + strings.TrimSuffix(strings.Repeat(entry+",", 20), ",") + `]}`)
	for b.Loop() {
		if err := s.Validate(body); err != nil {
			b.Fatal(err)
		}
	}
}

// recordingTB records what a check reports instead of failing the test that runs it.
type recordingTB struct {
	testing.TB
	errs, logs []string
}

func (r *recordingTB) Helper()                   {}
func (r *recordingTB) Errorf(f string, a ...any) { r.errs = append(r.errs, fmt.Sprintf(f, a...)) }
func (r *recordingTB) Logf(f string, a ...any)   { r.logs = append(r.logs, fmt.Sprintf(f, a...)) }

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// answer is a transport that answers every request with one content type and body.
func answer(contentType, body string) http.RoundTripper {
	return roundTripFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {contentType}}, Body: io.NopCloser(strings.NewReader(body))}, nil
	})
}

// TestFHIRTransport: the client transport checks FHIR resources, and only them: not the token
// endpoint's OAuth JSON, not the SMART configuration, not a Binary's own bytes, not the JSON API;
// the body still reaches the caller whole.
func TestFHIRTransport(t *testing.T) {
	if _, err := fhirSchema(); err != nil {
		noFHIRSchema(t, err)
		t.Skip()
	}
	const fhirJSON = "application/fhir+json; charset=utf-8"
	bad := `{"resourceType":"Patient","id":"ab_c"}`
	for _, tc := range []struct {
		name, method, path, contentType, body string
		wantErr                               bool
	}{
		{"valid patient", "GET", "/fhir/R4/Patient/abc", fhirJSON, `{"resourceType":"Patient","id":"abc"}`, false},
		{"invalid patient", "GET", "/fhir/R4/Patient/abc", fhirJSON, bad, true},
		{"invalid as plain JSON", "GET", "/fhir/R4/Patient/abc", "application/json", bad, true},
		{"not a resource", "GET", "/fhir/R4/Patient", fhirJSON, `{"error":"x"}`, true},
		{"token endpoint", "POST", "/fhir/R4/auth/token", "application/json", `{"access_token":"x","token_type":"Bearer"}`, false},
		{"smart configuration", "GET", "/fhir/R4/.well-known/smart-configuration", "application/json", `{"token_endpoint":"x"}`, false},
		{"binary bytes", "GET", "/fhir/R4/Binary/abc", "application/pdf", "%PDF-1.7", false},
		{"head", "HEAD", "/fhir/R4/Patient/abc", fhirJSON, bad, false},
		{"JSON API", "GET", "/api/v1/whatever", "application/json", bad, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			ft := &fhirTransport{t: rec, once: new(sync.Once), next: answer(tc.contentType, tc.body), schema: fhirSchema}
			req := httptest.NewRequest(tc.method, "https://localhost"+tc.path, nil)
			resp, err := ft.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := io.ReadAll(resp.Body); string(got) != tc.body {
				t.Errorf("the caller read %q, want %q", got, tc.body)
			}
			if (len(rec.errs) > 0) != tc.wantErr {
				t.Errorf("reported %q, want an error: %v", rec.errs, tc.wantErr)
			}
		})
	}
}

// TestFHIRTransportWithoutSchema: without a schema the check is reported once per server: a
// log line locally, a failure in CI.
func TestFHIRTransportWithoutSchema(t *testing.T) {
	none := func() (*FHIRSchema, error) { return nil, errNoFHIRSchema }
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			rec := &recordingTB{TB: t}
			ft := &fhirTransport{t: rec, once: new(sync.Once), next: answer("application/fhir+json", `{"resourceType":"Patient"}`), schema: none}
			for range 3 {
				if _, err := ft.RoundTrip(httptest.NewRequest("GET", "https://localhost/fhir/R4/Patient/abc", nil)); err != nil {
					t.Fatal(err)
				}
			}
			errs, logs := len(rec.errs), len(rec.logs)
			if ci == "" && (errs != 0 || logs != 1) || ci != "" && (errs != 1 || logs != 0) {
				t.Errorf("CI=%q: %d errors and %d log lines for 3 answers, want one report of the right kind", ci, errs, logs)
			}
		})
	}
}
