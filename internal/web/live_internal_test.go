package web

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestLivePagesHearEveryEvent: the live pages' script listens for every kind of event package
// visits publishes. A server-sent event with a name of its own reaches only a listener for that
// name, so a kind missing from static/live.js would leave a waiting room unchanged until its
// next periodic refresh.
func TestLivePagesHearEveryEvent(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("static", "live.js"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("..", "visits", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no visits sources (%v)", err)
	}
	kind := regexp.MustCompile(`(?:Kind:\s*|\bpublish\([^,()]+,\s*|tellWaiting\([^,()]+,[^,()]+,\s*)"([a-z][a-z-]*)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range kind.FindAllStringSubmatch(string(src), -1) {
			if !strings.Contains(string(script), `"`+m[1]+`"`) {
				t.Errorf("%s publishes events of kind %q, which static/live.js does not listen for", filepath.Base(f), m[1])
			}
		}
	}
}
