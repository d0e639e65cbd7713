package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"haven/internal/consult/e2ee"
)

// ErrUnverifiedDescription is the refusal of a call whose description could not be verified
// against the key directory (docs/e2ee.md §4): its fingerprint is not the signed one, the
// signature is not the sender device's, the nonce was seen before, or it was addressed to
// another device. Errors wrapping it are *UnverifiedError.
var ErrUnverifiedDescription = errors.New("client: the description could not be verified")

// UnverifiedError is the refusal of one peer's description: who, and which check failed.
type UnverifiedError struct {
	Peer   string // the display name of the person whose device it claims to be
	Reason error
}

func (e *UnverifiedError) Error() string {
	return fmt.Sprintf("The connection to %s could not be verified, so the call was stopped (%v)", e.Peer, e.Reason)
}

func (e *UnverifiedError) Is(target error) bool { return target == ErrUnverifiedDescription }
func (e *UnverifiedError) Unwrap() error        { return e.Reason }

// PeerConfig is one side of a call with one other device.
type PeerConfig struct {
	// Remote is the other device, as VisitKeys verified it.
	Remote Device
	// ICEServers are the STUN/TURN servers (see Client.TURN); none on a loopback test.
	ICEServers []webrtc.ICEServer
	// RelayOnly restricts ICE to TURN relay candidates (iceTransportPolicy "relay").
	RelayOnly bool
	// DataChannel opens a data channel named "chat" (the caller creates it; the answerer
	// takes the caller's).
	DataChannel bool
	// Video sends a generated VP8 track (samples of made-up bytes at 30 per second): enough to
	// show that media flows over DTLS-SRTP; nothing decodes it.
	Video bool
	// Timeout bounds the wait for the answer (default 10 s).
	Timeout time.Duration
}

// Peer is a WebRTC connection (github.com/pion/webrtc/v4) with one other device of the visit,
// negotiated through the signalling socket with signed, verified descriptions.
type Peer struct {
	sig    *Signal
	remote Device
	me     *self
	nonces *e2ee.NonceSet
	pc     *webrtc.PeerConnection
	inbox  chan ServerMessage

	connected chan struct{}
	failed    chan struct{}
	dcOpen    chan *webrtc.DataChannel
	texts     chan string
	packets   atomic.Int64
	frames    atomic.Int64
	stop      chan struct{}
	closeOnce sync.Once
}

// Call offers a connection to cfg.Remote through sig: it signs its description, waits for the
// answer and verifies it before using it. A description that fails verification ends the call
// with an *UnverifiedError; nothing is connected.
func (c *Client) Call(ctx context.Context, sig *Signal, cfg PeerConfig) (*Peer, error) {
	p, err := c.newPeer(sig, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.DataChannel {
		dc, err := p.pc.CreateDataChannel("chat", nil)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("client: data channel: %w", err)
		}
		p.onDataChannel(dc)
	}
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		err = p.setLocal(offer)
	}
	if err == nil {
		err = p.sendDescription(ctx, "offer")
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	wait, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var early []ServerMessage
	for {
		var m ServerMessage
		var ok bool
		select {
		case m, ok = <-p.inbox:
			if !ok {
				p.Close()
				return nil, ErrSignalClosed
			}
		case <-wait.Done():
			p.Close()
			return nil, fmt.Errorf("client: no answer from %s: %w", cfg.Remote.DisplayName, wait.Err())
		}
		pl, err := parsePayload(m.Payload)
		if err != nil {
			continue
		}
		switch pl.Kind {
		case "answer":
			if err := p.acceptDescription(m, webrtc.SDPTypeAnswer); err != nil {
				p.Close()
				return nil, err
			}
			for _, m := range early {
				p.addCandidate(m)
			}
			go p.trickle()
			return p, nil
		case "ice":
			early = append(early, m) // added once the answer is set
		}
	}
}

// Accept answers an offer that arrived on sig.Events() from cfg.Remote: it verifies the offer
// before using it, then signs and sends its answer. An offer that fails verification is
// refused with an *UnverifiedError and answered with nothing.
func (c *Client) Accept(ctx context.Context, sig *Signal, offer ServerMessage, cfg PeerConfig) (*Peer, error) {
	if offer.Type != "signal" || offer.From == nil || offer.From.Device != cfg.Remote.DeviceID {
		return nil, errors.New("client: accept: the offer is not from the expected device")
	}
	pl, err := parsePayload(offer.Payload)
	if err != nil || pl.Kind != "offer" {
		return nil, errors.New("client: accept: the message is not an offer")
	}
	p, err := c.newPeer(sig, cfg)
	if err != nil {
		return nil, err
	}
	if err := p.acceptDescription(offer, webrtc.SDPTypeOffer); err != nil {
		p.Close()
		return nil, err
	}
	answer, err := p.pc.CreateAnswer(nil)
	if err == nil {
		err = p.setLocal(answer)
	}
	if err == nil {
		err = p.sendDescription(ctx, "answer")
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	go p.trickle()
	return p, nil
}

func (c *Client) newPeer(sig *Signal, cfg PeerConfig) (*Peer, error) {
	me, err := c.self()
	if err != nil {
		return nil, err
	}
	if cfg.Remote.DeviceID == "" || len(cfg.Remote.Public.SignKey) == 0 {
		return nil, errors.New("client: a call needs the remote device as VisitKeys verified it")
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true) // tests and integrations on one machine
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	conf := webrtc.Configuration{ICEServers: cfg.ICEServers}
	if cfg.RelayOnly {
		conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(conf)
	if err != nil {
		return nil, fmt.Errorf("client: peer connection: %w", err)
	}
	p := &Peer{sig: sig, remote: cfg.Remote, me: me, nonces: &c.nonces, pc: pc, inbox: sig.route(cfg.Remote.DeviceID),
		connected: make(chan struct{}), failed: make(chan struct{}), dcOpen: make(chan *webrtc.DataChannel, 1),
		texts: make(chan string, 64), stop: make(chan struct{})}
	var once, failOnce sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			once.Do(func() { close(p.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			failOnce.Do(func() { close(p.failed) })
		}
	})
	pc.OnDataChannel(p.onDataChannel)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			p.packets.Add(1)
			if pkt.Marker {
				p.frames.Add(1)
			}
		}
	})
	if cfg.Video {
		if err := p.addVideo(); err != nil {
			p.Close()
			return nil, err
		}
	} else {
		// Receive video even when sending none, so a browser's camera reaches a Go client.
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			p.Close()
			return nil, fmt.Errorf("client: video transceiver: %w", err)
		}
	}
	return p, nil
}

// setLocal sets a local description and waits for ICE gathering, so the SDP sent carries every
// candidate (no trickle from this side; a browser peer may trickle to us).
func (p *Peer) setLocal(d webrtc.SessionDescription) error {
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(d); err != nil {
		return fmt.Errorf("client: local description: %w", err)
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		return errors.New("client: gathering ICE candidates took too long")
	}
	return nil
}

// sendDescription signs the local description's DTLS fingerprint for the remote device under a
// fresh nonce (docs/e2ee.md §4) and sends it.
func (p *Peer) sendDescription(ctx context.Context, kind string) error {
	d, err := e2ee.NewDescription(nil, p.me.keys, p.sig.visitID, p.me.device, p.remote.DeviceID, kind, p.pc.LocalDescription().SDP)
	if err != nil {
		return fmt.Errorf("client: sign own description: %w", err)
	}
	return p.sig.Send(ctx, p.remote.DeviceID, d)
}

// acceptDescription verifies a remote description before it touches the peer connection
// (docs/e2ee.md §4), then sets it. The checks are e2ee.Description.Check's: addressed to this
// device, the SDP's fingerprint is the signed one, the signature is the remote device's
// directory key's, and the nonce is new.
func (p *Peer) acceptDescription(m ServerMessage, typ webrtc.SDPType) error {
	refuse := func(reason error) error { return &UnverifiedError{Peer: p.remote.DisplayName, Reason: reason} }
	d, err := e2ee.ParseDescription(m.Payload)
	if err != nil {
		return refuse(err)
	}
	if d.Kind != typ.String() {
		return refuse(fmt.Errorf("%w: a %s where a %s was due", e2ee.ErrBadDescription, d.Kind, typ))
	}
	if m.From == nil || m.From.Device != p.remote.DeviceID || m.From.Account != p.remote.Account {
		return refuse(errors.New("it does not come from the device in the directory"))
	}
	if err := d.Check(p.remote.Public.SignKey, p.sig.visitID, m.From.Device, p.me.device, p.me.device, p.nonces); err != nil {
		return refuse(err)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: typ, SDP: d.SDP}); err != nil {
		return fmt.Errorf("client: remote description: %w", err)
	}
	return nil
}

// trickle adds the remote's ICE candidates as they come, until the peer closes.
func (p *Peer) trickle() {
	for {
		select {
		case <-p.stop:
			return
		case m, ok := <-p.inbox:
			if !ok {
				return
			}
			p.addCandidate(m) // a second description mid-call (an ICE restart) is not supported here
		}
	}
}

// addCandidate adds the ICE candidate m carries, if it carries one.
func (p *Peer) addCandidate(m ServerMessage) {
	pl, err := parsePayload(m.Payload)
	if err != nil || pl.Kind != "ice" || len(pl.Candidate) == 0 {
		return
	}
	var cand webrtc.ICECandidateInit
	if json.Unmarshal(pl.Candidate, &cand) == nil {
		p.pc.AddICECandidate(cand)
	}
}

func (p *Peer) onDataChannel(dc *webrtc.DataChannel) {
	dc.OnOpen(func() {
		select {
		case p.dcOpen <- dc:
		default:
		}
	})
	dc.OnMessage(func(m webrtc.DataChannelMessage) {
		if m.IsString {
			select {
			case p.texts <- string(m.Data):
			default:
			}
		}
	})
}

func (p *Peer) addVideo() error {
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "haven-client")
	if err != nil {
		return fmt.Errorf("client: video track: %w", err)
	}
	if _, err := p.pc.AddTrack(track); err != nil {
		return fmt.Errorf("client: add video: %w", err)
	}
	go func() {
		<-p.connected
		tick := time.NewTicker(time.Second / 30)
		defer tick.Stop()
		frame := make([]byte, 1000)
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				frame[0] = byte(i)
				if track.WriteSample(media.Sample{Data: frame, Duration: time.Second / 30}) != nil {
					return
				}
			}
		}
	}()
	return nil
}

// Connected waits until ICE and DTLS are up with the remote device.
func (p *Peer) Connected(ctx context.Context) error {
	select {
	case <-p.connected:
		return nil
	case <-p.failed:
		return fmt.Errorf("client: the connection to %s failed", p.remote.DisplayName)
	case <-ctx.Done():
		return fmt.Errorf("client: connecting to %s: %w", p.remote.DisplayName, ctx.Err())
	}
}

// IsConnected reports whether the connection reached ICE+DTLS connected.
func (p *Peer) IsConnected() bool {
	select {
	case <-p.connected:
		return true
	default:
		return false
	}
}

// SendText sends s on the data channel once it is open.
func (p *Peer) SendText(ctx context.Context, s string) error {
	select {
	case dc := <-p.dcOpen:
		p.dcOpen <- dc
		return dc.SendText(s)
	case <-ctx.Done():
		return fmt.Errorf("client: data channel to %s: %w", p.remote.DisplayName, ctx.Err())
	}
}

// Text receives the next text from the data channel.
func (p *Peer) Text(ctx context.Context) (string, error) {
	select {
	case s := <-p.texts:
		return s, nil
	case <-ctx.Done():
		return "", fmt.Errorf("client: data channel from %s: %w", p.remote.DisplayName, ctx.Err())
	}
}

// Frames is how many video frames (RTP packets ending a frame) arrived from the remote, and
// Packets how many RTP packets.
func (p *Peer) Frames() int64  { return p.frames.Load() }
func (p *Peer) Packets() int64 { return p.packets.Load() }

// Stats is the peer connection's WebRTC statistics, for a connection-quality readout.
func (p *Peer) Stats() webrtc.StatsReport { return p.pc.GetStats() }

// Close ends the call with the remote device.
func (p *Peer) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.stop)
		p.sig.unroute(p.remote.DeviceID, p.inbox)
		err = p.pc.Close()
	})
	return err
}

func parsePayload(raw json.RawMessage) (Payload, error) {
	var pl Payload
	if len(raw) > MaxSignalMessage {
		return pl, errors.New("client: payload too large")
	}
	if err := json.Unmarshal(raw, &pl); err != nil {
		return pl, fmt.Errorf("client: payload: %w", err)
	}
	switch pl.Kind {
	case "offer", "answer":
		if pl.SDP == "" || pl.Nonce == "" || pl.Fingerprint == "" || pl.Sig == "" {
			return pl, errors.New("client: a description without its signature")
		}
	case "ice":
	default:
		return pl, fmt.Errorf("client: payload kind %q", pl.Kind)
	}
	return pl, nil
}
