package web_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// consultVectorFiles are the test-vector files the browser's consultation crypto must agree
// with: the vectors shared with the Go implementation (package e2ee) and this package's own,
// which add refusal cases. HAVEN_CONSULT_VECTORS (a list separated by commas) replaces them.
func consultVectorFiles(t *testing.T) []string {
	t.Helper()
	if env := os.Getenv("HAVEN_CONSULT_VECTORS"); env != "" {
		return strings.Split(env, ",")
	}
	files := []string{filepath.Join("testdata", "consult_vectors.json")}
	shared := filepath.Join("..", "consult", "e2ee", "testdata", "vectors.json")
	if _, err := os.Stat(shared); err == nil {
		files = append([]string{shared}, files...)
	} else if os.Getenv("CI") != "" {
		t.Fatalf("the shared vectors %s are missing: %v", shared, err)
	}
	return files
}

// nodeBinary returns node, or skips where it is not installed; in CI (.ci/run installs it) its
// absence fails the test.
func nodeBinary(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is required in CI (.ci/run installs it)")
		}
		t.Skip("node not found: install nodejs to run the browser crypto against the test vectors")
	}
	return node
}

type jsReport struct {
	Results []struct {
		Section string `json:"section"`
		Name    string `json:"name"`
		OK      bool   `json:"ok"`
		Detail  string `json:"detail"`
	} `json:"results"`
	Refused map[string]int `json:"refused"`
}

// runNode runs a script of testdata with arguments and decodes its one-line JSON report.
func runNode(t *testing.T, node string, args ...string) jsReport {
	t.Helper()
	cmd := exec.Command(node, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("node %v: %v\n%s", args, err, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("node %v did not finish in two minutes", args)
	}
	var r jsReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("node %v printed no report: %v\n%s\n%s", args, err, stdout.String(), stderr.String())
	}
	return r
}

// TestConsultJSVectors runs the browser's consultation crypto (static/consult, under node's
// WebCrypto) against the shared test vectors: every fingerprint, safety number, envelope,
// attachment, DTLS signature, log entry, inclusion proof and checkpoint must come out as the
// vectors say, and the JS must refuse replayed, reordered and altered envelopes and swapped keys.
func TestConsultJSVectors(t *testing.T) {
	node := nodeBinary(t)
	dir, err := filepath.Abs(filepath.Join("static", "consult"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range consultVectorFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			abs, err := filepath.Abs(file)
			if err != nil {
				t.Fatal(err)
			}
			r := runNode(t, node, filepath.Join("testdata", "consult_vectors.mjs"), dir, abs)
			sections := map[string]int{}
			for _, res := range r.Results {
				sections[res.Section]++
				if !res.OK {
					t.Errorf("%s / %s: %s", res.Section, res.Name, res.Detail)
				}
			}
			// A file the runner cannot read yields no results: that is a failure, not a pass.
			for _, s := range []string{"keys", "safety", "envelope-seal", "envelope-open", "envelope-refusal", "file", "dtls", "log"} {
				if sections[s] == 0 {
					t.Errorf("no %s vectors were checked in %s (is the file's format one the runner reads?)", s, file)
				}
			}
			for _, kind := range []string{"replayed", "reordered", "altered", "swapped"} {
				if r.Refused[kind] == 0 {
					t.Errorf("no %s case was checked as refused by the JS in %s", kind, file)
				}
			}
			t.Logf("%d JS checks against %s; refusals checked: %v", len(r.Results), file, r.Refused)
		})
	}
}

// TestConsultJSDirectory runs the browser's key directory (directory.js over store.js's memory
// store) against a fake Haven serving this package's vector log: registration happens once, every
// device is verified before use, a swapped key is refused naming its owner, a changed safety
// number of a verified contact is marked, and another log or signing key is refused.
func TestConsultJSDirectory(t *testing.T) {
	node := nodeBinary(t)
	dir, err := filepath.Abs(filepath.Join("static", "consult"))
	if err != nil {
		t.Fatal(err)
	}
	r := runNode(t, node, filepath.Join("testdata", "consult_directory.mjs"), dir, filepath.Join("testdata", "consult_vectors.json"))
	if len(r.Results) == 0 {
		t.Fatal("the directory script checked nothing")
	}
	for _, res := range r.Results {
		if !res.OK {
			t.Errorf("%s: %s", res.Name, res.Detail)
		}
	}
	for _, kind := range []string{"swapped", "changed"} {
		if r.Refused[kind] == 0 {
			t.Errorf("no %s case was checked", kind)
		}
	}
}
