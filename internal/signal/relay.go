package signal

import (
	"sync"
)

// MaxDevices is how many devices one visit's call holds at once: a full mesh of four
// (patient, clinician, interpreter, family), docs/e2ee.md §4.
const MaxDevices = 4

// inboxSize is how many messages wait for a slow socket before the relay gives up on it.
const inboxSize = 256

// Peer is one participant's device in a visit's call, as the wire names it.
type Peer struct {
	Account string `json:"account"`
	Device  string `json:"device"`
	// Role is the participant's role in the visit (patient, clinician, guest); not sent.
	Role string `json:"-"`
}

// Member is a device's place in a visit's room: its inbox, and Leave to give the place up.
type Member struct {
	// Inbox carries the messages for this device; the relay closes it when the device is
	// replaced (the same device joined again), dropped as too slow, or the room is drained.
	Inbox <-chan []byte
	// Leave removes the device from the room. It reports whether this member was still the
	// device's current one (false after a replacement): only then is the peer's departure news.
	Leave func() bool
	// Gone says, once Inbox is closed, why the relay let the device go (ErrReplaced,
	// ErrTooSlow).
	Gone func() error
}

// Relay carries signalling messages between the devices of each visit. The in-process Hub is
// one node's; a multi-node deployment backs the same interface with a message bus.
type Relay interface {
	// Join adds p to the visit's room, announces it to the peers already there (peer-joined)
	// and returns them, all at once: a peer never hears of p both in its welcome and as news.
	// A device that is already in the room replaces its old connection (a reconnect); a fifth
	// device is refused with ErrVisitFull.
	Join(visitID string, p Peer) (Member, []Peer, error)
	// Send queues msg for one device of the visit and reports whether that device is there.
	Send(visitID, toDevice string, msg []byte) bool
	// Broadcast queues msg for every device of the visit except the device named by except.
	Broadcast(visitID string, msg []byte, except string)
}

// Hub is the in-process Relay: rooms in a map, one mutex.
type Hub struct {
	mu    sync.Mutex
	rooms map[string]map[string]*member // visit id → device id → member
}

type member struct {
	peer Peer
	ch   chan []byte
	gone error // why the relay removed it; guarded by Hub.mu
}

// NewHub returns an empty in-process relay.
func NewHub() *Hub { return &Hub{rooms: make(map[string]map[string]*member)} }

// Join implements Relay.
func (h *Hub) Join(visitID string, p Peer) (Member, []Peer, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	room := h.rooms[visitID]
	if room == nil {
		room = make(map[string]*member)
		h.rooms[visitID] = room
	}
	if old, ok := room[p.Device]; ok {
		h.remove(room, old, ErrReplaced)
	}
	if len(room) >= MaxDevices {
		if len(room) == 0 {
			delete(h.rooms, visitID)
		}
		return Member{}, nil, ErrVisitFull
	}
	peers := make([]Peer, 0, len(room))
	joined := encode(peerEvent{Type: "peer-joined", Peer: p})
	for _, other := range room {
		peers = append(peers, other.peer)
		h.deliver(visitID, other, joined)
	}
	m := &member{peer: p, ch: make(chan []byte, inboxSize)}
	room[p.Device] = m
	return Member{Inbox: m.ch, Leave: func() bool { return h.leave(visitID, m) }, Gone: func() error { return h.gone(m) }}, peers, nil
}

func (h *Hub) leave(visitID string, m *member) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	room := h.rooms[visitID]
	if room[m.peer.Device] != m {
		// Already removed: its departure is news unless another connection took its place.
		return m.gone != ErrReplaced
	}
	h.remove(room, m, ErrLeft)
	if len(room) == 0 {
		delete(h.rooms, visitID)
	}
	return true
}

func (h *Hub) gone(m *member) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return m.gone
}

// remove takes m out of room and closes its inbox. Called with h.mu held.
func (h *Hub) remove(room map[string]*member, m *member, why error) {
	delete(room, m.peer.Device)
	m.gone = why
	close(m.ch)
}

// Send implements Relay.
func (h *Hub) Send(visitID, toDevice string, msg []byte) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.rooms[visitID][toDevice]
	if !ok {
		return false
	}
	h.deliver(visitID, m, msg)
	return true
}

// Broadcast implements Relay.
func (h *Hub) Broadcast(visitID string, msg []byte, except string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for dev, m := range h.rooms[visitID] {
		if dev != except {
			h.deliver(visitID, m, msg)
		}
	}
}

// deliver queues msg for m, dropping a member whose inbox is full: a socket that cannot keep
// up would otherwise hold every message for the room in memory. Its connection sees the
// inbox closed and ends; the client reconnects. Called with h.mu held.
func (h *Hub) deliver(visitID string, m *member, msg []byte) {
	select {
	case m.ch <- msg:
	default:
		h.remove(h.rooms[visitID], m, ErrTooSlow)
	}
}

// Devices is how many devices are in the visit's room now.
func (h *Hub) Devices(visitID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.rooms[visitID])
}
