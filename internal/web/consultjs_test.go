package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
// number of a verified contact is marked and holds sending (sealFor), another log or signing key
// is refused, a thread's history and live messages are read with replay protection
// (ThreadReader), and no fuzzed answer gets a key accepted.
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

type chromiumReport struct {
	jsReport
	Error string `json:"error"`
	Store struct {
		SignKey       string `json:"signKey"`
		Extractable   bool   `json:"extractable"`
		Exported      bool   `json:"exported"`
		Signs         bool   `json:"signs"`
		Seq           int    `json:"seq"`
		ReceiverLast  int    `json:"receiverLast"`
		TestKeyStored bool   `json:"testKeyStored"`
		RaceSame      bool   `json:"raceSame"`
	} `json:"store"`
}

// TestConsultJSChromium runs the same vector checks in Chromium, whose WebCrypto is the one the
// product runs on, under a CSP that allows no inline script, and checks the IndexedDB store: the
// device keys survive a reload as the same non-extractable keys and still sign, message numbers
// and the receiver state are kept, and test keys are never stored.
func TestConsultJSChromium(t *testing.T) {
	files := consultVectorFiles(t)
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServer(http.Dir("static"))))
	mux.Handle("GET /testdata/", http.StripPrefix("/testdata/", http.FileServer(http.Dir("testdata"))))
	mux.HandleFunc("GET /vectors/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil || i < 0 || i >= len(files) {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, files[i])
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("testdata", "consult_page.html"))
	})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'")
		mux.ServeHTTP(w, r)
	}))
	defer ts.Close()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	load := func(t *testing.T, i int) chromiumReport {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/?v="+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		var raw string
		for deadline := time.Now().Add(time.Minute); ; {
			s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.consultReport ? JSON.stringify(window.consultReport) : ""`))
			if err != nil {
				t.Fatal(err)
			}
			if s != "" {
				raw = s
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the page left no report (did its module load under the CSP?)")
			}
			time.Sleep(50 * time.Millisecond)
		}
		var r chromiumReport
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatal(err)
		}
		if r.Error != "" {
			t.Fatalf("page: %s", r.Error)
		}
		return r
	}

	var last chromiumReport // the previous load's report
	for i, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			r := load(t, i)
			for _, res := range r.Results {
				if !res.OK {
					t.Errorf("%s / %s: %s", res.Section, res.Name, res.Detail)
				}
			}
			for _, kind := range []string{"replayed", "reordered", "altered", "swapped"} {
				if r.Refused[kind] == 0 {
					t.Errorf("no %s case was checked as refused in Chromium", kind)
				}
			}
			if len(r.Results) == 0 {
				t.Error("no vector was checked in Chromium")
			}
			last = r
		})
	}
	t.Run("store", func(t *testing.T) {
		first := last
		again := load(t, 0)
		s := again.Store
		if s.SignKey == "" || s.SignKey != first.Store.SignKey {
			t.Errorf("the device keys changed across a reload: %q then %q", first.Store.SignKey, s.SignKey)
		}
		if s.Extractable || s.Exported || first.Store.Exported {
			t.Error("a stored private key is extractable")
		}
		if !s.Signs {
			t.Error("the stored signing key no longer signs")
		}
		if s.Seq != first.Store.Seq+1 || s.ReceiverLast != first.Store.ReceiverLast+1 {
			t.Errorf("message numbers not kept: seq %d then %d, receiver %d then %d", first.Store.Seq, s.Seq, first.Store.ReceiverLast, s.ReceiverLast)
		}
		if !s.RaceSame || !first.Store.RaceSame {
			t.Error("two tabs making device keys at once ended with different keys")
		}
		if s.TestKeyStored {
			t.Error("test keys were stored")
		}
	})
}
