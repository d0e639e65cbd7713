package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"haven/internal/consult/e2ee"
)

// relayDouble is a signalling relay of docs/e2ee.md §4 in memory, without sessions or policy:
// the device's account comes from the test. It lets the Peer's WebRTC plumbing be tested
// without a Haven server; the attack tests use the real one.
type relayDouble struct {
	accounts map[string]string // device → account
	rewrite  func(payload json.RawMessage) json.RawMessage
	mu       sync.Mutex
	conns    map[string]*websocket.Conn
}

func (r *relayDouble) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	dev := req.URL.Query().Get("device")
	acct, ok := r.accounts[dev]
	if !ok {
		http.Error(w, "unknown device", http.StatusForbidden)
		return
	}
	c, err := websocket.Accept(w, req, nil)
	if err != nil {
		return
	}
	ctx := req.Context()
	r.mu.Lock()
	var peers []Who
	for d := range r.conns {
		peers = append(peers, Who{Account: r.accounts[d], Device: d})
	}
	r.conns[dev] = c
	r.mu.Unlock()
	welcome, _ := json.Marshal(ServerMessage{Type: "welcome", You: &Who{Account: acct, Device: dev}, Peers: peers})
	c.Write(ctx, websocket.MessageText, welcome)
	defer func() { r.mu.Lock(); delete(r.conns, dev); r.mu.Unlock() }()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return
		}
		var m clientMessage
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		if r.rewrite != nil {
			m.Payload = r.rewrite(m.Payload)
		}
		out, _ := json.Marshal(ServerMessage{Type: "signal", From: &Who{Account: acct, Device: dev}, Payload: m.Payload})
		r.mu.Lock()
		to := r.conns[m.To]
		r.mu.Unlock()
		if to != nil {
			to.Write(ctx, websocket.MessageText, out)
		}
	}
}

// testDevice is a Client with fresh device keys set as if registered.
func testDevice(t *testing.T, base, account, device string) (*Client, Device) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c, err := New(Config{BaseURL: base, HTTP: &http.Client{Jar: jar}})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := e2ee.NewDeviceKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	c.me = &self{keys: keys, account: account, device: device}
	return c, Device{Account: account, DisplayName: "Person " + account, DeviceID: device, Public: keys.Public(device, account)}
}

// offerFrom waits for an offer on s from device.
func offerFrom(t *testing.T, s *Signal, device string) ServerMessage {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-s.Events():
			if m.Type == "signal" && m.From.Device == device {
				return m
			}
		case <-timeout:
			t.Fatal("no offer arrived")
		}
	}
}

// TestPeerOverRelayDouble: two Peers connect through a relay that only forwards, exchange a
// data channel text and video packets; through a relay that rewrites the fingerprint of every
// description, the answerer refuses the offer with ErrUnverifiedDescription and nothing
// connects.
func TestPeerOverRelayDouble(t *testing.T) {
	if testing.Short() {
		t.Skip("WebRTC on loopback")
	}
	for _, rewrite := range []bool{false, true} {
		t.Run(map[bool]string{false: "forwarded", true: "rewritten"}[rewrite], func(t *testing.T) {
			relay := &relayDouble{accounts: map[string]string{"devA": "acctA", "devB": "acctB"}, conns: map[string]*websocket.Conn{}}
			if rewrite {
				relay.rewrite = func(p json.RawMessage) json.RawMessage {
					return json.RawMessage(strings.Replace(string(p), "a=fingerprint:sha-256 ", "a=fingerprint:sha-256 00:", 1))
				}
			}
			srv := httptest.NewServer(relay)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a, devA := testDevice(t, srv.URL, "acctA", "devA")
			b, devB := testDevice(t, srv.URL, "acctB", "devB")
			sa, err := a.Dial(ctx, "visit1", "devA")
			if err != nil {
				t.Fatal(err)
			}
			defer sa.Close()
			sb, err := b.Dial(ctx, "visit1", "devB")
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Close()

			type result struct {
				p   *Peer
				err error
			}
			calls := make(chan result, 1)
			go func() {
				p, err := a.Call(ctx, sa, PeerConfig{Remote: devB, DataChannel: true, Video: true, Timeout: 3 * time.Second})
				calls <- result{p, err}
			}()
			pb, err := b.Accept(ctx, sb, offerFrom(t, sb, "devA"), PeerConfig{Remote: devA})
			if rewrite {
				if !errors.Is(err, ErrUnverifiedDescription) || !errors.Is(err, e2ee.ErrBadDescription) || !strings.Contains(err.Error(), "could not be verified") {
					t.Fatalf("accepting a rewritten offer = %v, want the verification refusal", err)
				}
				if r := <-calls; r.err == nil {
					r.p.Close()
					t.Fatal("the caller connected without an answer")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer pb.Close()
			r := <-calls
			if r.err != nil {
				t.Fatal(r.err)
			}
			pa := r.p
			defer pa.Close()
			for _, p := range []*Peer{pa, pb} {
				if err := p.Connected(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := pa.SendText(ctx, "hello over DTLS"); err != nil {
				t.Fatal(err)
			}
			if got, err := pb.Text(ctx); err != nil || got != "hello over DTLS" {
				t.Fatalf("received %q, %v", got, err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for pb.Frames() < 3 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if pb.Frames() < 3 {
				t.Fatalf("video frames received = %d", pb.Frames())
			}
		})
	}
}

// TestSignalKeepsEarlyCandidates: ICE candidates a device trickles before this side has a Peer
// for it (a browser sends them while its offer is being signed) wait for that Peer instead of
// being lost among the events; other messages still go to Events.
func TestSignalKeepsEarlyCandidates(t *testing.T) {
	relay := &relayDouble{accounts: map[string]string{"devA": "acctA", "devB": "acctB"}, conns: map[string]*websocket.Conn{}}
	srv := httptest.NewServer(relay)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, _ := testDevice(t, srv.URL, "acctA", "devA")
	b, _ := testDevice(t, srv.URL, "acctB", "devB")
	sa, err := a.Dial(ctx, "visit1", "devA")
	if err != nil {
		t.Fatal(err)
	}
	defer sa.Close()
	sb, err := b.Dial(ctx, "visit1", "devB")
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	for i := range 3 {
		if err := sa.Send(ctx, "devB", Payload{Kind: "ice", Candidate: json.RawMessage(`{"candidate":"c` + strconv.Itoa(i) + `"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sa.Send(ctx, "devB", Payload{Kind: "offer", SDP: "v=0", Nonce: "n", Fingerprint: "f", Sig: "s"}); err != nil {
		t.Fatal(err)
	}
	offerFrom(t, sb, "devA") // the offer arrives after the candidates, on Events
	ch := sb.route("devA")
	for i := range 3 {
		select {
		case m := <-ch:
			if !strings.Contains(string(m.Payload), `"c`+strconv.Itoa(i)+`"`) {
				t.Fatalf("candidate %d = %s", i, m.Payload)
			}
		default:
			t.Fatalf("candidate %d was not kept", i)
		}
	}
}
