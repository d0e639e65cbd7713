// Package signal is the consultation's signalling socket: a WebSocket per device in a visit's
// call (GET /api/v1/visits/{id}/signal?device=…, docs/e2ee.md §4) that carries the clients'
// offers, answers and ICE candidates between the visit's participants, announces who joins
// and leaves, and tells the room when a chat message waits to be fetched.
//
// It is a transport: the session authenticates a socket, and the consult domain's join check
// (which records a refusal through the one door) decides who may open one. It never reads a
// payload beyond its envelope — descriptions are signed end to end by the clients — and it
// stamps the sender itself, so no client can speak as another. It refuses other origins,
// messages over 64 KiB, more than 50 messages a second (bursts of 100) and a fifth device.
// On shutdown it says bye to every socket and closes it (Drain).
//
// Being allowed in is checked for as long as the socket lives, not only when it opens: when
// the visit ends every socket of it is told bye and closed (CloseVisit, which the server calls
// when the visits domain ends one), and at each keepalive the socket's session is
// authenticated again and the join check asked again, so a sign-out, a revoked session, a
// disabled account or a lapsed invitation closes it within one interval.
//
// Messages move between sockets through a Relay: the in-process Hub here, a message bus on
// several nodes.
package signal

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"

	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/principal"
	"haven/internal/services"
)

// Path is the socket's route pattern.
const Path = "GET /api/v1/visits/{id}/signal"

// Limits bound what one socket may do.
type Limits struct {
	ReadLimit    int64         // largest message accepted, in bytes
	Rate         float64       // messages a second, sustained
	Burst        int           // messages at once
	Ping         time.Duration // keepalive interval, and how often a socket re-checks its session and its place
	WriteTimeout time.Duration // how long a write (or a ping's answer) may take
}

// DefaultLimits are docs/e2ee.md §4's.
var DefaultLimits = Limits{ReadLimit: 64 << 10, Rate: 50, Burst: 100, Ping: 20 * time.Second, WriteTimeout: 10 * time.Second}

// The bye reasons, in people's words (docs/e2ee.md §4).
const (
	byeReason = "the server is restarting; your call reconnects by itself"
	// ByeVisitEnded is told to every device of a visit the clinician has ended.
	ByeVisitEnded = "the clinician ended the visit; the call is over"
	// byeSignedOut is told to a device whose session ended: a sign-out, a revoked session,
	// an account disabled, a password reset.
	byeSignedOut = "you are no longer signed in, so the call has ended for you; sign in again to rejoin"
	// byeNotAllowed is told to a device that may no longer be in the call: the visit ended or
	// the invitation lapsed.
	byeNotAllowed = "you are no longer part of this visit (it ended, or your invitation lapsed), so the call has ended for you"
	// byeUnconfirmed is told when the re-check itself failed (the store unreachable): the
	// socket is closed rather than left unchecked, and the client reconnects.
	byeUnconfirmed = "the server could not confirm you may stay in the call; it reconnects by itself"
)

// drainWait bounds how long Drain waits for the sockets' closing handshakes.
const drainWait = 6 * time.Second

// Joiner is the consult domain's join check: it admits a participant's device to a visit's
// call (policy action consult.join, a refusal recorded by the door) and names the participant.
type Joiner interface {
	JoinVisit(ctx context.Context, by principal.Subject, visitID, deviceID string, o principal.Origin) (Peer, error)
}

// JoinFunc adapts a function to Joiner (the server wires the consult service through one).
type JoinFunc func(ctx context.Context, by principal.Subject, visitID, deviceID string, o principal.Origin) (Peer, error)

// JoinVisit implements Joiner.
func (f JoinFunc) JoinVisit(ctx context.Context, by principal.Subject, visitID, deviceID string, o principal.Origin) (Peer, error) {
	return f(ctx, by, visitID, deviceID, o)
}

// Signal serves the signalling sockets.
type Signal struct {
	log     *slog.Logger
	join    Joiner
	relay   Relay
	origin  string // scheme://host[:port] of the server: the only Origin accepted
	limits  Limits
	subject func(*http.Request) (principal.Subject, error)
	// session authenticates a socket's session token again (identity.Authenticate at the
	// full stage); ErrSessionEnded when the session is gone.
	session func(ctx context.Context, token string) (principal.Subject, error)

	mu       sync.Mutex
	draining bool
	conns    map[*conn]struct{}
	wg       sync.WaitGroup
}

// New builds the signalling transport over an in-process relay.
func New(d services.Services, j Joiner) *Signal { return NewWithRelay(d, j, NewHub()) }

// NewWithRelay builds the signalling transport over relay r.
func NewWithRelay(d services.Services, j Joiner, r Relay) *Signal {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Signal{log: log, join: j, relay: r, origin: originOf(d.BaseURL), limits: DefaultLimits,
		subject: sessionSubject, session: reauthenticate(d.Identity), conns: make(map[*conn]struct{})}
}

// SetLimits replaces the limits of the sockets opened from now on (before serving).
func (s *Signal) SetLimits(l Limits) { s.limits = l }

// reauthenticate checks a session token again through the identity service. Without one no
// session is valid: a socket is never left unchecked.
func reauthenticate(ids *identity.Service) func(context.Context, string) (principal.Subject, error) {
	return func(ctx context.Context, token string) (principal.Subject, error) {
		if ids == nil {
			return principal.Subject{}, ErrSessionEnded
		}
		sess, err := ids.Authenticate(ctx, token)
		if errors.Is(err, identity.ErrNoSession) || errors.Is(err, identity.ErrSessionExpired) {
			return principal.Subject{}, ErrSessionEnded
		}
		if err != nil {
			return principal.Subject{}, err
		}
		if sess.Stage != identity.StageFull {
			return principal.Subject{}, ErrSessionEnded
		}
		return sess.Subject, nil
	}
}

// CloseVisit tells every socket of the visit on this node bye, with reason, and closes it
// (StatusNormalClosure): the visit is over. The server calls it when the visits domain ends a
// visit.
func (s *Signal) CloseVisit(visitID, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.visitID == visitID {
			c.end(ending{status: websocket.StatusNormalClosure, close: "the visit has ended", bye: reason})
		}
	}
}

// Mount registers the socket's route. It is more specific than the API's catch-all under
// /api/v1/, so the router gives it the socket whichever is mounted first.
func (s *Signal) Mount(mux *http.ServeMux) {
	mux.Handle(Path, httpx.Adapt(s.log, httpx.JSONError, s.serve))
}

// MessagePosted tells every device in the visit's call that a message waits in thread
// (consult's notifier).
func (s *Signal) MessagePosted(visitID, thread, id string) {
	s.relay.Broadcast(visitID, encode(messageEvent{Type: "message", Thread: thread, ID: id}), "")
}

// sessionSubject is who the request's session signed in, at its full stage (guests too: they
// are participants).
func sessionSubject(r *http.Request) (principal.Subject, error) {
	sess, err := httpx.RequireSession(r, identity.StageFull)
	if err != nil {
		return principal.Subject{}, err
	}
	return sess.Subject, nil
}

// serve checks the request, upgrades it and runs the socket until it ends. Every refusal comes
// before the upgrade, as an HTTP error.
func (s *Signal) serve(w http.ResponseWriter, r *http.Request) error {
	by, err := s.subject(r)
	if err != nil {
		return err
	}
	if r.Header.Get("Origin") != s.origin || s.origin == "" {
		return httpx.Errorf(http.StatusForbidden, "cross-origin request refused")
	}
	visitID, device := r.PathValue("id"), r.URL.Query().Get("device")
	if !validDevice(device) || !validDevice(visitID) {
		return httpx.Errorf(http.StatusBadRequest, "name this browser's registered device: ?device=…")
	}
	if s.isDraining() {
		return &httpx.Error{Status: http.StatusServiceUnavailable, Message: ErrDraining.Error(), Header: http.Header{"Retry-After": {"5"}}}
	}
	p, err := s.join.JoinVisit(r.Context(), by, visitID, device, httpx.Origin(r))
	if err != nil {
		return err
	}
	if p.Device == "" {
		p.Device = device
	}
	// The server's read and write timeouts are for requests; a socket lives as long as the
	// call, with its own keepalive and write timeouts.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	u, _ := url.Parse(s.origin)
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: []string{u.Host}})
	if err != nil {
		return nil // Accept has answered
	}
	ws.SetReadLimit(s.limits.ReadLimit)
	c := newConn(s, ws, visitID, p)
	// What the socket needs to be checked again at each keepalive. The token stays in memory
	// only; it is never logged.
	c.by, c.token, c.from = by, httpx.SessionToken(r), httpx.Origin(r)
	if !s.track(c) {
		ws.Close(websocket.StatusGoingAway, ErrDraining.Error())
		return nil
	}
	defer s.untrack(c)
	c.run(r.Context())
	return nil
}

func (s *Signal) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

func (s *Signal) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Signal) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

// Drain refuses new sockets, says bye to every open one and closes it with StatusGoingAway,
// waiting (a bounded time) for them to end. A graceful shutdown calls it: sockets never go
// idle, so the HTTP server's own shutdown would wait its whole grace for them.
func (s *Signal) Drain() {
	s.mu.Lock()
	s.draining = true
	for c := range s.conns {
		c.end(ending{status: websocket.StatusGoingAway, close: "the server is restarting", bye: byeReason})
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(drainWait):
		s.log.Warn("signalling sockets still open after drain")
	}
}

// Open is how many sockets are open now.
func (s *Signal) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// originOf is the scheme, host and port of a URL.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
