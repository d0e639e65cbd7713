package signal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"haven/internal/httpx"
	"haven/internal/principal"
	"haven/internal/services"
)

// fakeJoiner admits the accounts listed for each visit, as consult.JoinVisit would.
type fakeJoiner struct {
	mu      sync.Mutex
	members map[string][]string // visit → accounts
	refused []string            // "account visit" of each refusal
}

func (f *fakeJoiner) JoinVisit(_ context.Context, by principal.Subject, visitID, deviceID string, _ principal.Origin) (Peer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.members[visitID] {
		if a == by.AccountID {
			return Peer{Account: by.AccountID, Device: deviceID, Role: string(by.Role)}, nil
		}
	}
	f.refused = append(f.refused, by.AccountID+" "+visitID)
	return Peer{}, httpx.ErrForbidden
}

type env struct {
	t   *testing.T
	sig *Signal
	srv *httptest.Server
	j   *fakeJoiner

	mu    sync.Mutex
	ended map[string]bool // tokens whose session has ended
}

// signOut ends the session whose token is token (the tests' token is the account).
func (e *env) signOut(token string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ended[token] = true
}

// leaveVisit takes account out of the visit's participants, as a lapsed invitation would.
func (e *env) leaveVisit(visit, account string) {
	e.j.mu.Lock()
	defer e.j.mu.Unlock()
	var kept []string
	for _, a := range e.j.members[visit] {
		if a != account {
			kept = append(kept, a)
		}
	}
	e.j.members[visit] = kept
}

// newEnv serves the socket over TLS with a fake session: the X-Test-Account header names the
// signed-in account (none: no session).
func newEnv(t *testing.T, limits Limits) *env {
	t.Helper()
	j := &fakeJoiner{members: map[string][]string{"v1": {"pat", "clin", "g1", "g2", "g3"}, "v2": {"other"}}}
	sig := New(services.Services{}, j)
	sig.limits = limits
	sig.subject = func(r *http.Request) (principal.Subject, error) {
		a := r.Header.Get("X-Test-Account")
		if a == "" {
			return principal.Subject{}, httpx.ErrUnauthenticated
		}
		return principal.Subject{AccountID: a, Role: principal.Patient}, nil
	}
	e := &env{t: t, sig: sig, j: j, ended: map[string]bool{}}
	// The session cookie carries the account's name: the fake identity service's token.
	sig.session = func(_ context.Context, token string) (principal.Subject, error) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if token == "" || e.ended[token] {
			return principal.Subject{}, ErrSessionEnded
		}
		return principal.Subject{AccountID: token, Role: principal.Patient}, nil
	}
	mux := http.NewServeMux()
	sig.Mount(mux)
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	sig.origin = srv.URL
	e.srv = srv
	return e
}

func (e *env) url(visit, device string) string {
	return "wss" + strings.TrimPrefix(e.srv.URL, "https") + "/api/v1/visits/" + visit + "/signal?device=" + device
}

// dial opens a socket as account from origin; it returns the socket or the HTTP status.
func (e *env) dial(account, visit, device, origin string) (*websocket.Conn, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	if account != "" {
		h.Set("X-Test-Account", account)
		h.Set("Cookie", httpx.SessionCookie+"="+account)
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	c, resp, err := websocket.Dial(ctx, e.url(visit, device), &websocket.DialOptions{HTTPClient: e.srv.Client(), HTTPHeader: h})
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	if c != nil {
		e.t.Cleanup(func() { c.CloseNow() })
	}
	return c, status, err
}

func (e *env) mustDial(account, visit, device string) *websocket.Conn {
	e.t.Helper()
	c, status, err := e.dial(account, visit, device, e.srv.URL)
	if err != nil {
		e.t.Fatalf("dial as %s: status %d, %v", account, status, err)
	}
	return c
}

func read(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("read %s: %v", b, err)
	}
	return m
}

func send(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := c.Write(context.Background(), websocket.MessageText, b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// closedWith reads until the socket ends and returns its close status and reason.
func closedWith(t *testing.T, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		t.Fatalf("socket ended without a close frame: %v", err)
	}
}

func TestSignalRefusals(t *testing.T) {
	e := newEnv(t, DefaultLimits)
	for _, tc := range []struct {
		name, account, visit, device, origin string
		want                                 int
	}{
		{"no session", "", "v1", "d1", "own", http.StatusUnauthorized},
		{"cross origin", "pat", "v1", "d1", "https://evil.example", http.StatusForbidden},
		{"no origin", "pat", "v1", "d1", "", http.StatusForbidden},
		{"no device", "pat", "v1", "", "own", http.StatusBadRequest},
		{"not a participant", "other", "v1", "d1", "own", http.StatusForbidden},
		{"participant of another visit", "pat", "v2", "d1", "own", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			origin := tc.origin
			if origin == "own" {
				origin = e.srv.URL
			}
			c, status, err := e.dial(tc.account, tc.visit, tc.device, origin)
			if err == nil || c != nil || status != tc.want {
				t.Fatalf("dial = %v, %d, %v; want refused with %d", c, status, err, tc.want)
			}
		})
	}
	if want := []string{"other v1", "pat v2"}; fmt.Sprint(e.j.refused) != fmt.Sprint(want) {
		t.Errorf("join refusals = %v; want %v (only participants checked by the domain, after session and origin)", e.j.refused, want)
	}
}

func TestSignalRelayStampsFrom(t *testing.T) {
	e := newEnv(t, DefaultLimits)
	a := e.mustDial("pat", "v1", "dev-a")
	if w := read(t, a); w["type"] != "welcome" || fmt.Sprint(w["you"]) != "map[account:pat device:dev-a]" || len(w["peers"].([]any)) != 0 {
		t.Fatalf("first welcome = %v", w)
	}
	b := e.mustDial("clin", "v1", "dev-b")
	if w := read(t, b); fmt.Sprint(w["peers"]) != "[map[account:pat device:dev-a]]" {
		t.Fatalf("second welcome = %v; want the first device as peer", w)
	}
	if j := read(t, a); j["type"] != "peer-joined" || fmt.Sprint(j["peer"]) != "map[account:clin device:dev-b]" {
		t.Fatalf("peer-joined = %v", j)
	}
	send(t, a, map[string]any{"type": "signal", "to": "dev-b", "payload": map[string]any{"kind": "offer", "sdp": "v=0"}})
	got := read(t, b)
	if got["type"] != "signal" || fmt.Sprint(got["from"]) != "map[account:pat device:dev-a]" || fmt.Sprint(got["payload"]) != "map[kind:offer sdp:v=0]" {
		t.Fatalf("relayed = %v", got)
	}
	// A client that names its own sender is refused: only the server stamps "from".
	send(t, b, map[string]any{"type": "signal", "to": "dev-a", "from": map[string]any{"account": "pat", "device": "dev-a"}, "payload": map[string]any{}})
	if code, _ := closedWith(t, b); code != websocket.StatusInvalidFramePayloadData {
		t.Fatalf("forged from: close %v; want %v", code, websocket.StatusInvalidFramePayloadData)
	}
	if l := read(t, a); l["type"] != "peer-left" || fmt.Sprint(l["peer"]) != "map[account:clin device:dev-b]" {
		t.Fatalf("after the forger's socket closed: %v; want peer-left", l)
	}
	e.sig.MessagePosted("v1", "visit.v1", "m1")
	if m := read(t, a); fmt.Sprint(m) != "map[id:m1 thread:visit.v1 type:message]" {
		t.Fatalf("message notice = %v", m)
	}
}

func TestSignalLimits(t *testing.T) {
	t.Run("oversize message", func(t *testing.T) {
		e := newEnv(t, DefaultLimits)
		a := e.mustDial("pat", "v1", "dev-a")
		read(t, a)
		big := `{"type":"signal","to":"x","payload":{"p":"` + strings.Repeat("a", 64<<10) + `"}}`
		a.Write(context.Background(), websocket.MessageText, []byte(big))
		if code, _ := closedWith(t, a); code != websocket.StatusMessageTooBig {
			t.Fatalf("close %v; want %v", code, websocket.StatusMessageTooBig)
		}
	})
	t.Run("rate", func(t *testing.T) {
		e := newEnv(t, DefaultLimits)
		a := e.mustDial("pat", "v1", "dev-a")
		read(t, a)
		msg := []byte(`{"type":"signal","to":"nobody","payload":{}}`)
		for i := 0; i < 2*DefaultLimits.Burst; i++ {
			if a.Write(context.Background(), websocket.MessageText, msg) != nil {
				break
			}
		}
		if code, reason := closedWith(t, a); code != websocket.StatusPolicyViolation || reason != ErrTooFast.Error() {
			t.Fatalf("close %v %q; want %v %q", code, reason, websocket.StatusPolicyViolation, ErrTooFast)
		}
	})
	t.Run("within the rate", func(t *testing.T) {
		e := newEnv(t, DefaultLimits)
		a, b := e.mustDial("pat", "v1", "dev-a"), e.mustDial("clin", "v1", "dev-b")
		read(t, a)
		read(t, a) // peer-joined
		read(t, b)
		for i := 0; i < DefaultLimits.Burst; i++ {
			send(t, a, map[string]any{"type": "signal", "to": "dev-b", "payload": map[string]any{"n": i}})
		}
		for i := 0; i < DefaultLimits.Burst; i++ {
			if m := read(t, b); m["payload"].(map[string]any)["n"] != float64(i) {
				t.Fatalf("message %d = %v; want them all, in order", i, m)
			}
		}
	})
	t.Run("fifth device", func(t *testing.T) {
		e := newEnv(t, DefaultLimits)
		for i, acct := range []string{"pat", "clin", "g1", "g2"} {
			c := e.mustDial(acct, "v1", fmt.Sprintf("d%d", i))
			read(t, c)
		}
		c := e.mustDial("g3", "v1", "d5")
		if code, reason := closedWith(t, c); code != websocket.StatusPolicyViolation || reason != ErrVisitFull.Error() {
			t.Fatalf("fifth device: close %v %q; want %v %q", code, reason, websocket.StatusPolicyViolation, ErrVisitFull)
		}
	})
}

func TestSignalReconnectReplaces(t *testing.T) {
	e := newEnv(t, DefaultLimits)
	a := e.mustDial("pat", "v1", "dev-a")
	read(t, a)
	b := e.mustDial("clin", "v1", "dev-b")
	read(t, b)
	a2 := e.mustDial("pat", "v1", "dev-a")
	if w := read(t, a2); fmt.Sprint(w["peers"]) != "[map[account:clin device:dev-b]]" {
		t.Fatalf("welcome after reconnect = %v", w)
	}
	if _, reason := closedWith(t, a); reason != ErrReplaced.Error() {
		t.Fatalf("old socket closed with %q; want %q", reason, ErrReplaced)
	}
	if m := read(t, b); m["type"] != "peer-joined" {
		t.Fatalf("after reconnect the peer got %v; want peer-joined", m)
	}
	send(t, b, map[string]any{"type": "signal", "to": "dev-a", "payload": map[string]any{"kind": "ice"}})
	if m := read(t, a2); m["type"] != "signal" {
		t.Fatalf("after reconnect: %v; want the relayed signal", m)
	}
	// The replaced socket's end is no departure: the next thing the peer hears is a2's signal.
	send(t, a2, map[string]any{"type": "signal", "to": "dev-b", "payload": map[string]any{"kind": "ice"}})
	if m := read(t, b); m["type"] != "signal" {
		t.Fatalf("a replaced connection announced %v; want only the relayed signal", m)
	}
}

func TestSignalDrain(t *testing.T) {
	e := newEnv(t, DefaultLimits)
	a := e.mustDial("pat", "v1", "dev-a")
	read(t, a)
	done := make(chan struct{})
	go func() { e.sig.Drain(); close(done) }()
	if m := read(t, a); m["type"] != "bye" || m["reason"] != byeReason {
		t.Fatalf("on drain: %v; want bye", m)
	}
	if code, _ := closedWith(t, a); code != websocket.StatusGoingAway {
		t.Fatalf("close %v; want %v", code, websocket.StatusGoingAway)
	}
	<-done
	if n := e.sig.Open(); n != 0 {
		t.Errorf("%d sockets open after drain", n)
	}
	if _, status, err := e.dial("clin", "v1", "dev-b", e.srv.URL); err == nil || status != http.StatusServiceUnavailable {
		t.Errorf("dial while draining = %d, %v; want 503", status, err)
	}
}

// byeAndClose reads the socket until its bye, and returns the bye's reason and the close frame.
func byeAndClose(t *testing.T, c *websocket.Conn) (string, websocket.StatusCode, string) {
	t.Helper()
	for {
		m := read(t, c)
		if m["type"] == "bye" {
			reason, _ := m["reason"].(string)
			code, why := closedWith(t, c)
			return reason, code, why
		}
	}
}

// TestSignalCloseVisit: a visit the clinician ended keeps no call open — every device of it
// is told bye and its socket closed; another visit's call goes on.
func TestSignalCloseVisit(t *testing.T) {
	e := newEnv(t, DefaultLimits)
	pat, clin := e.mustDial("pat", "v1", "dp"), e.mustDial("clin", "v1", "dc")
	other := e.mustDial("other", "v2", "do")
	read(t, pat)   // welcome
	read(t, clin)  // welcome
	read(t, other) // welcome
	e.sig.CloseVisit("v1", ByeVisitEnded)
	for name, c := range map[string]*websocket.Conn{"patient": pat, "clinician": clin} {
		reason, code, why := byeAndClose(t, c)
		if reason != ByeVisitEnded || code != websocket.StatusNormalClosure || why == "" {
			t.Errorf("the %s's socket: bye %q, close %d %q; want bye %q, normal closure", name, reason, code, why, ByeVisitEnded)
		}
	}
	send(t, other, map[string]any{"type": "signal", "to": "nobody", "payload": map[string]any{}})
	deadline := time.Now().Add(2 * time.Second)
	for e.sig.Open() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := e.sig.Open(); n != 1 {
		t.Errorf("%d sockets open; want only the other visit's", n)
	}
}

// TestSignalRecheck stops a continued access that is no longer allowed: a socket whose session
// ended (signed out, revoked, the account disabled) or whose person is no longer a participant
// (a lapsed invitation) is told bye and closed at the next re-check, the refusal recorded by
// the join check; the others stay.
func TestSignalRecheck(t *testing.T) {
	limits := DefaultLimits
	limits.Ping = 20 * time.Millisecond
	e := newEnv(t, limits)
	pat, clin, guest := e.mustDial("pat", "v1", "dp"), e.mustDial("clin", "v1", "dc"), e.mustDial("g1", "v1", "dg")
	read(t, pat)
	read(t, clin)
	read(t, guest)

	e.signOut("pat")
	reason, code, _ := byeAndClose(t, pat)
	if reason != byeSignedOut || code != websocket.StatusPolicyViolation {
		t.Errorf("signed out: bye %q, close %d; want %q, policy violation", reason, code, byeSignedOut)
	}

	e.leaveVisit("v1", "g1")
	reason, code, _ = byeAndClose(t, guest)
	if reason != byeNotAllowed || code != websocket.StatusPolicyViolation {
		t.Errorf("invitation lapsed: bye %q, close %d; want %q, policy violation", reason, code, byeNotAllowed)
	}
	e.j.mu.Lock()
	refused := append([]string(nil), e.j.refused...)
	e.j.mu.Unlock()
	if len(refused) == 0 || refused[len(refused)-1] != "g1 v1" {
		t.Errorf("refusals %v; want the guest's continued access recorded", refused)
	}

	// The clinician's call goes on: it hears both leave and its socket stays open.
	left := map[string]bool{}
	for len(left) < 2 {
		m := read(t, clin)
		if m["type"] == "peer-left" {
			left[m["peer"].(map[string]any)["account"].(string)] = true
		}
	}
	if !left["pat"] || !left["g1"] {
		t.Errorf("the clinician heard %v leave; want pat and g1", left)
	}
	if n := e.sig.Open(); n != 1 {
		t.Errorf("%d sockets open; want the clinician's", n)
	}
}
