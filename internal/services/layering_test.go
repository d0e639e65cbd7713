package services_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// mechanisms are the packages below the domain services: a transport that imports one could
// read a record, a key or the log without passing the door.
var mechanisms = []string{"haven/internal/store", "haven/internal/keys", "haven/internal/access", "haven/internal/audit"}

// TestTransportsImportNoMechanisms: the JSON API and the browser UI (and the plumbing they
// share) call services only. A handler that reached for the store, the keys, the policy or the
// audit log would fail here, before it could skip the one door.
func TestTransportsImportNoMechanisms(t *testing.T) {
	for _, dir := range []string{"../api", "../web", "../httpx", "../fhir", "../signal"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for _, m := range mechanisms {
					if path == m || strings.HasPrefix(path, m+"/") {
						t.Errorf("%s imports %s: transports call domain services, never the mechanisms below them", f, path)
					}
				}
			}
		}
	}
}
