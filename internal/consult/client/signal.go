package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/coder/websocket"
)

// MaxSignalMessage is the largest signalling message either side sends (docs/e2ee.md §4).
const MaxSignalMessage = 64 << 10

// Who names one device in a visit: its owner's account and the device id.
type Who struct {
	Account string `json:"account"`
	Device  string `json:"device"`
}

// ServerMessage is one message from the signalling socket (docs/e2ee.md §4). Type is one of
// "welcome", "peer-joined", "peer-left", "signal", "message", "bye"; the other fields are set
// as that type has them.
type ServerMessage struct {
	Type    string          `json:"type"`
	You     *Who            `json:"you,omitempty"`
	Peers   []Who           `json:"peers,omitempty"`
	Peer    *Who            `json:"peer,omitempty"`
	From    *Who            `json:"from,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
	Thread  string          `json:"thread,omitempty"`
	ID      string          `json:"id,omitempty"`
	Reason  string          `json:"reason,omitempty"`
}

// clientMessage is the one message a client sends: a payload for another device.
type clientMessage struct {
	Type    string          `json:"type"`
	To      string          `json:"to"`
	Payload json.RawMessage `json:"payload"`
}

// Payload is what two devices exchange through the socket: a signed description or an ICE
// candidate. The server relays it without reading it.
type Payload struct {
	Kind        string          `json:"kind"` // "offer", "answer" or "ice"
	SDP         string          `json:"sdp,omitempty"`
	Nonce       string          `json:"nonce,omitempty"`       // b64(16 random bytes)
	Fingerprint string          `json:"fingerprint,omitempty"` // "sha-256 AB:CD:…", the SDP's a=fingerprint value
	Sig         string          `json:"sig,omitempty"`         // b64(Ed25519 signature), docs/e2ee.md §4
	Candidate   json.RawMessage `json:"candidate,omitempty"`
}

// ErrSignalClosed is returned by Signal's reads once the socket has closed.
var ErrSignalClosed = errors.New("client: the signalling socket closed")

// ParseServerMessage decodes one signalling message from the server, refusing what the
// protocol does not have: an unknown type, a message too large, or one missing the fields its
// type needs.
func ParseServerMessage(b []byte) (ServerMessage, error) {
	var m ServerMessage
	if len(b) > MaxSignalMessage {
		return m, errors.New("client: signalling message too large")
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("client: signalling message: %w", err)
	}
	ok := false
	switch m.Type {
	case "welcome":
		ok = m.You != nil && m.You.Device != ""
	case "peer-joined", "peer-left":
		ok = m.Peer != nil && m.Peer.Device != ""
	case "signal":
		ok = m.From != nil && m.From.Device != "" && len(m.Payload) > 0
	case "message":
		ok = m.Thread != "" && m.ID != ""
	case "bye":
		ok = true
	}
	if !ok {
		return m, fmt.Errorf("client: signalling message of type %q is not one the protocol has, or lacks its fields", m.Type)
	}
	return m, nil
}

// Signal is this device's connection to a visit's signalling socket. A read loop sorts what
// arrives: signal messages from a device a Peer listens to go to that Peer, everything else
// to Events.
type Signal struct {
	conn    *websocket.Conn
	visitID string
	welcome ServerMessage

	events chan ServerMessage
	done   chan struct{}
	err    error // why the loop ended; read after done is closed

	mu     sync.Mutex
	routes map[string]chan ServerMessage // remote device → its Peer's inbox
	early  map[string][]ServerMessage    // ICE candidates from a device no Peer listens to yet
	closed bool
}

// Bounds of the messages a Signal keeps for a Peer: its inbox, and the ICE candidates a remote
// device trickles before the Peer exists (a browser sends them as soon as it has its offer).
const (
	routeSize = 128
	earlySize = 64
)

// Dial joins visit visitID's signalling socket as this client's device deviceID, with the
// session cookie and Haven's own Origin, and waits for the welcome.
func (c *Client) Dial(ctx context.Context, visitID, deviceID string) (*Signal, error) {
	u := c.url("/api/v1/visits/" + url.PathEscape(visitID) + "/signal?device=" + url.QueryEscape(deviceID))
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPClient: c.http,
		HTTPHeader: http.Header{"Origin": {c.origin}},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			ae := &APIError{Status: resp.StatusCode}
			if resp.Body != nil { // the first KiB of the refusal: Haven's message says what to do
				var m struct {
					Error     string `json:"error"`
					RequestID string `json:"requestId"`
				}
				if json.NewDecoder(io.LimitReader(resp.Body, 1024)).Decode(&m) == nil {
					ae.Message, ae.RequestID = m.Error, m.RequestID
				}
			}
			return nil, fmt.Errorf("client: join the visit's signalling: %w", ae)
		}
		return nil, fmt.Errorf("client: join the visit's signalling: %w", err)
	}
	conn.SetReadLimit(MaxSignalMessage)
	_, b, err := conn.Read(ctx)
	if err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("client: signalling welcome: %w", err)
	}
	w, err := ParseServerMessage(b)
	if err != nil || w.Type != "welcome" {
		conn.CloseNow()
		return nil, fmt.Errorf("client: signalling: the first message is not a welcome (%v)", err)
	}
	s := &Signal{conn: conn, visitID: visitID, welcome: w, events: make(chan ServerMessage, 256),
		done: make(chan struct{}), routes: map[string]chan ServerMessage{}, early: map[string][]ServerMessage{}}
	go s.loop()
	return s, nil
}

// VisitID is the visit this socket belongs to.
func (s *Signal) VisitID() string { return s.visitID }

// You is this device as the server knows it.
func (s *Signal) You() Who { return *s.welcome.You }

// Peers are the devices that were in the visit when this one joined.
func (s *Signal) Peers() []Who { return append([]Who(nil), s.welcome.Peers...) }

// Events delivers what the server sends that no Peer takes: peers joining and leaving, a new
// chat message, the server going away, and signal messages from devices no Peer listens to
// (an incoming call: see Client.Accept). It is closed when the socket closes.
func (s *Signal) Events() <-chan ServerMessage { return s.events }

// Done is closed when the socket has closed; Err then says why.
func (s *Signal) Done() <-chan struct{} { return s.done }

// Err is why the socket closed (nil while it is open).
func (s *Signal) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Send sends payload (a Payload, an e2ee.Description, or anything that encodes as a JSON
// object) to device to through the server.
func (s *Signal) Send(ctx context.Context, to string, p any) error {
	pb, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("client: encode payload: %w", err)
	}
	b, err := json.Marshal(clientMessage{Type: "signal", To: to, Payload: pb})
	if err != nil {
		return fmt.Errorf("client: encode signal: %w", err)
	}
	if len(b) > MaxSignalMessage {
		return errors.New("client: signalling message too large")
	}
	if err := s.conn.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("client: send signal: %w", err)
	}
	return nil
}

// Close leaves the visit.
func (s *Signal) Close() error {
	err := s.conn.Close(websocket.StatusNormalClosure, "")
	<-s.done
	return err
}

// route sends the signal messages from device to the returned channel until unroute, starting
// with the ICE candidates it sent before.
func (s *Signal) route(device string) chan ServerMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan ServerMessage, routeSize)
	if s.closed {
		close(ch)
		return ch
	}
	for _, m := range s.early[device] {
		ch <- m
	}
	delete(s.early, device)
	s.routes[device] = ch
	return ch
}

func (s *Signal) unroute(device string, ch chan ServerMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.routes[device] == ch {
		delete(s.routes, device)
	}
}

func (s *Signal) loop() {
	defer func() {
		s.mu.Lock()
		s.closed = true
		for d, ch := range s.routes {
			close(ch)
			delete(s.routes, d)
		}
		s.mu.Unlock()
		close(s.events)
		close(s.done)
	}()
	ctx := context.Background()
	for {
		_, b, err := s.conn.Read(ctx)
		if err != nil {
			s.err = ErrSignalClosed
			if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				s.err = fmt.Errorf("%w: %w", ErrSignalClosed, err)
			}
			return
		}
		m, err := ParseServerMessage(b)
		if err != nil {
			continue // a message the protocol does not have is dropped, never acted on
		}
		if m.Type == "signal" {
			s.mu.Lock()
			ch := s.routes[m.From.Device]
			if ch == nil && isICE(m.Payload) {
				if len(s.early[m.From.Device]) < earlySize {
					s.early[m.From.Device] = append(s.early[m.From.Device], m)
				}
				s.mu.Unlock()
				continue
			}
			s.mu.Unlock()
			if ch != nil {
				select {
				case ch <- m:
				default: // a peer that floods its inbox loses messages, not the socket
				}
				continue
			}
		}
		select {
		case s.events <- m:
		default:
		}
	}
}

// isICE reports whether a signal's payload is an ICE candidate.
func isICE(payload json.RawMessage) bool {
	var p struct {
		Kind string `json:"kind"`
	}
	return json.Unmarshal(payload, &p) == nil && p.Kind == "ice"
}
