package servertest

import (
	"os"
	"strings"
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

// TestFHIRSchemaMissing: a missing schema fails under CI, so the check never vanishes there.
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
