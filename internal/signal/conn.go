package signal

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"
)

// conn is one device's socket: a reader that relays what the device sends, and a writer (the
// serving goroutine) that sends it its room's messages, pings it, and says bye on drain.
type conn struct {
	s       *Signal
	ws      *websocket.Conn
	visitID string
	me      Peer

	drainOnce sync.Once
	drained   chan struct{}
}

func newConn(s *Signal, ws *websocket.Conn, visitID string, me Peer) *conn {
	return &conn{s: s, ws: ws, visitID: visitID, me: me, drained: make(chan struct{})}
}

func (c *conn) drain() { c.drainOnce.Do(func() { close(c.drained) }) }

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
		case <-c.drained:
			if c.write(ctx, encode(bye{Type: "bye", Reason: byeReason})) == nil {
				c.ws.Close(websocket.StatusGoingAway, "the server is restarting")
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
