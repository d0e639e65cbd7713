package signal

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/principal"
)

// conn is one device's socket: a reader that relays what the device sends, and a writer (the
// serving goroutine) that sends it its room's messages, pings it and checks it is still
// allowed in, and says bye when the server ends it.
type conn struct {
	s       *Signal
	ws      *websocket.Conn
	visitID string
	me      Peer

	// Who opened the socket, with which session, from where: checked again at each keepalive.
	by    principal.Subject
	token string // the session token; never logged
	from  principal.Origin

	endOnce sync.Once
	ended   chan struct{}
	why     ending // set once, before ended closes
}

// ending is why the server ends a socket: the bye a person reads, and the close frame.
type ending struct {
	status websocket.StatusCode
	close  string // close reason (at most 123 bytes)
	bye    string
}

func newConn(s *Signal, ws *websocket.Conn, visitID string, me Peer) *conn {
	return &conn{s: s, ws: ws, visitID: visitID, me: me, ended: make(chan struct{})}
}

// end asks the socket's writer to say bye and close; the first reason given wins.
func (c *conn) end(why ending) {
	c.endOnce.Do(func() {
		c.why = why
		close(c.ended)
	})
}

// refused tells a refusal (the door's, a visit no longer joinable) from a failure to decide.
func refused(err error) bool {
	var he *httpx.Error
	if errors.As(err, &he) {
		return he.Status >= 400 && he.Status < 500
	}
	fe := fault.As(err)
	return fe != nil && fe.Kind != fault.Unavailable && fe.Kind != fault.Throttled
}

// recheck authenticates the socket's session again and asks the join check again (a refusal
// is recorded by the door: a continued access no longer allowed). It returns why the socket
// must end, or nil.
func (c *conn) recheck(ctx context.Context) *ending {
	ctx, cancel := context.WithTimeout(ctx, c.s.limits.WriteTimeout)
	defer cancel()
	by, err := c.s.session(ctx, c.token)
	if errors.Is(err, ErrSessionEnded) || (err == nil && by.AccountID != c.by.AccountID) {
		return &ending{status: websocket.StatusPolicyViolation, close: "your session has ended", bye: byeSignedOut}
	}
	if err == nil {
		_, err = c.s.join.JoinVisit(ctx, by, c.visitID, c.me.Device, c.from)
		if err == nil {
			return nil
		}
		if refused(err) {
			return &ending{status: websocket.StatusPolicyViolation, close: "no longer allowed in this call", bye: byeNotAllowed}
		}
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil // the socket is ending anyway
	}
	c.s.log.Warn("signalling socket re-check failed", "visit", c.visitID, "err", err)
	return &ending{status: websocket.StatusTryAgainLater, close: "could not confirm the session", bye: byeUnconfirmed}
}

// run serves the socket until it ends.
func (c *conn) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer c.ws.CloseNow()
	m, peers, err := c.s.relay.Join(c.visitID, c.me)
	if err != nil {
		c.ws.Close(websocket.StatusPolicyViolation, err.Error())
		return
	}
	defer func() {
		if m.Leave() {
			c.s.relay.Broadcast(c.visitID, encode(peerEvent{Type: "peer-left", Peer: c.me}), c.me.Device)
		}
	}()
	if peers == nil {
		peers = []Peer{}
	}
	if err := c.write(ctx, encode(welcome{Type: "welcome", You: c.me, Peers: peers})); err != nil {
		return
	}

	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		c.read(ctx)
	}()
	ping := time.NewTicker(c.s.limits.Ping)
	defer ping.Stop()
	for {
		select {
		case msg, ok := <-m.Inbox:
			if !ok {
				c.ws.Close(websocket.StatusPolicyViolation, m.Gone().Error())
				return
			}
			if c.write(ctx, msg) != nil {
				return
			}
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(ctx, c.s.limits.WriteTimeout)
			err := c.ws.Ping(pctx)
			pcancel()
			if err != nil {
				return
			}
			if why := c.recheck(ctx); why != nil {
				c.end(*why)
			}
		case <-c.ended:
			if c.write(ctx, encode(bye{Type: "bye", Reason: c.why.bye})) == nil {
				c.ws.Close(c.why.status, c.why.close)
			}
			return
		case <-readDone:
			return
		}
	}
}

func (c *conn) write(ctx context.Context, msg []byte) error {
	wctx, cancel := context.WithTimeout(ctx, c.s.limits.WriteTimeout)
	defer cancel()
	return c.ws.Write(wctx, websocket.MessageText, msg)
}

// read relays the device's signals until the socket ends, closing it on a message that breaks
// the rules. A message over the read limit is refused by the socket itself (StatusMessageTooBig).
func (c *conn) read(ctx context.Context) {
	lim := rate.NewLimiter(rate.Limit(c.s.limits.Rate), c.s.limits.Burst)
	for {
		typ, b, err := c.ws.Read(ctx)
		if err != nil {
			return
		}
		if !lim.Allow() {
			c.ws.Close(websocket.StatusPolicyViolation, ErrTooFast.Error())
			return
		}
		out, err := ParseOutgoing(b)
		if typ != websocket.MessageText || err != nil {
			c.ws.Close(websocket.StatusInvalidFramePayloadData, ErrBadMessage.Error())
			return
		}
		if out.To == c.me.Device {
			continue
		}
		// A device that left in between is no error: the sender learns it from peer-left.
		c.s.relay.Send(c.visitID, out.To, encode(relayed{Type: "signal", From: c.me, Payload: out.Payload}))
	}
}
