package signal

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"haven/internal/principal"
	"haven/internal/services"
)

// The signalling benchmarks (docs/benchmarks.md, "11. Consultations"): relay latency with
// 1,000 connected sockets against the same relay with 2, and the memory of an idle socket
// against a bare coder/websocket echo server over the same TLS. Each runs its baseline in the
// same run.
//
//	go test ./internal/signal -run '^$' -bench SignalRelay -benchtime 5000x
//	go test ./internal/signal -run '^$' -bench IdleSocketMemory -benchtime 1x
//
// The server is this package's socket and in-process Hub on an httptest TLS server; the
// session and the consult domain's join check are stubbed (every socket is a participant of
// the visit its URL names), since they run once per socket, before the upgrade.

// benchSignal starts Haven's signalling on a TLS test server. The rate limit is lifted so one
// pair can send back to back in the 2-socket baseline; the limiter still runs on every message.
func benchSignal(tb testing.TB) *httptest.Server {
	tb.Helper()
	mux := http.NewServeMux()
	ts := httptest.NewUnstartedServer(mux)
	ts.StartTLS()
	tb.Cleanup(ts.Close)
	s := New(services.Services{BaseURL: ts.URL}, JoinFunc(func(_ context.Context, _ principal.Subject, _, device string, _ principal.Origin) (Peer, error) {
		return Peer{Account: "account-" + device, Device: device}, nil
	}))
	s.subject = func(*http.Request) (principal.Subject, error) { return principal.Subject{AccountID: "bench"}, nil }
	s.limits.Rate, s.limits.Burst = 1e9, 1<<30
	s.Mount(mux)
	return ts
}

// benchEcho starts a bare coder/websocket echo server on a TLS test server.
func benchEcho(tb testing.TB) *httptest.Server {
	tb.Helper()
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(64 << 10)
		for {
			typ, b, err := c.Read(r.Context())
			if err != nil || c.Write(r.Context(), typ, b) != nil {
				return
			}
		}
	}))
	tb.Cleanup(ts.Close)
	return ts
}

// socketURL is socket i's URL: four devices to a visit, as a full call has.
func socketURL(base string, i int) string {
	return fmt.Sprintf("%s/api/v1/visits/v%d/signal?device=d%d", base, i/MaxDevices, i)
}

// dialAll opens n sockets to ts (Haven's signalling if haven, else the echo server) and waits
// until each is served: the welcome read, or one echo.
func dialAll(tb testing.TB, base string, client *http.Client, n int, haven bool) []*websocket.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		c, _, err := websocket.Dial(ctx, socketURL(base, i), &websocket.DialOptions{HTTPClient: client, HTTPHeader: http.Header{"Origin": {base}}})
		if err != nil {
			tb.Fatalf("socket %d: %v", i, err)
		}
		if !haven {
			if err := c.Write(ctx, websocket.MessageText, []byte(`{}`)); err != nil {
				tb.Fatal(err)
			}
		}
		if _, _, err := c.Read(ctx); err != nil {
			tb.Fatalf("socket %d: first message: %v", i, err)
		}
		conns[i] = c
	}
	tb.Cleanup(func() {
		for _, c := range conns {
			c.CloseNow()
		}
	})
	return conns
}

// BenchmarkSignalRelay is the time from one device sending a signal to its peer receiving it,
// through Haven's relay, with 2 sockets connected (the baseline) and with 1,000 (250 visits of
// four). The pairs take turns, both ways, so every socket carries traffic. It reports the
// median and the 99th percentile of the one-way latency.
func BenchmarkSignalRelay(b *testing.B) {
	for _, n := range []int{2, 1000} {
		b.Run("sockets="+strconv.Itoa(n), func(b *testing.B) {
			ts := benchSignal(b)
			conns := dialAll(b, ts.URL, ts.Client(), n, true)
			arrived := make(chan time.Duration, 1)
			start := time.Now()
			for _, c := range conns {
				go func() {
					for {
						_, msg, err := c.Read(context.Background())
						if err != nil {
							return
						}
						var m struct {
							Type    string `json:"type"`
							Payload struct {
								Sent int64 `json:"sent"`
							} `json:"payload"`
						}
						if json.Unmarshal(msg, &m) == nil && m.Type == "signal" {
							arrived <- time.Since(start) - time.Duration(m.Payload.Sent)
						}
					}
				}()
			}
			ctx := context.Background()
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				from := (i * 2) % n // pair k = sockets 2k and 2k+1 (same visit), alternating direction
				to := from + 1
				if (i/(n/2))%2 == 1 {
					from, to = to, from
				}
				msg := fmt.Appendf(nil, `{"type":"signal","to":"d%d","payload":{"kind":"ice","sent":%d}}`, to, time.Since(start))
				if err := conns[from].Write(ctx, websocket.MessageText, msg); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, <-arrived)
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
		})
	}
}

// idleSockets is how many idle sockets the memory benchmark holds open.
const idleSockets = 1000

// BenchmarkIdleSocketMemory is the server's memory per idle socket: Haven's signalling (each
// socket welcomed into a visit of four, pinged, waiting) against a bare coder/websocket echo
// server, both over the same TLS. Each server runs in a child process (this test binary, see
// TestIdleSocketServer), so the clients' own memory is not counted; the figure is the growth of
// the live heap and of the goroutine stacks, after a GC, divided by the sockets.
func BenchmarkIdleSocketMemory(b *testing.B) {
	per := map[string]float64{}
	for b.Loop() {
		for _, kind := range []string{"echo", "haven"} {
			per[kind] = idleBytesPerSocket(b, kind)
		}
	}
	b.ReportMetric(per["haven"], "B/socket-haven")
	b.ReportMetric(per["echo"], "B/socket-echo")
	b.ReportMetric(per["haven"]/per["echo"], "haven/echo")
}

func idleBytesPerSocket(b *testing.B, kind string) float64 {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleSocketServer$")
	cmd.Env = append(os.Environ(), "HAVEN_IDLE_SOCKET_SERVER="+kind)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { in.Close(); cmd.Wait() }()
	out := bufio.NewScanner(outPipe)
	line := func() string {
		for out.Scan() {
			if t, ok := strings.CutPrefix(out.Text(), "idle-socket-server "); ok {
				return t
			}
		}
		b.Fatalf("%s server: %v", kind, out.Err())
		return ""
	}
	base := line()
	memory := func() float64 {
		fmt.Fprintln(in, "memory")
		n, err := strconv.ParseFloat(line(), 64)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the child's test certificate
	before := memory()
	conns := dialAll(b, base, client, idleSockets, kind == "haven")
	time.Sleep(200 * time.Millisecond) // let every server goroutine settle in its wait
	after := memory()
	for _, c := range conns {
		c.CloseNow()
	}
	return (after - before) / idleSockets
}

// TestIdleSocketServer is the child process of BenchmarkIdleSocketMemory: with
// HAVEN_IDLE_SOCKET_SERVER set (haven or echo) it serves that kind on TLS, prints its URL and
// certificate, and answers "memory" on stdin with its live heap plus stacks after a GC. It
// skips otherwise.
func TestIdleSocketServer(t *testing.T) {
	kind := os.Getenv("HAVEN_IDLE_SOCKET_SERVER")
	if kind == "" {
		t.Skip("the child process of BenchmarkIdleSocketMemory")
	}
	var ts *httptest.Server
	if kind == "haven" {
		ts = benchSignal(t)
	} else {
		ts = benchEcho(t)
	}
	fmt.Println("idle-socket-server", ts.URL)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() != "memory" {
			continue
		}
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Println("idle-socket-server", m.HeapAlloc+m.StackInuse)
	}
}
