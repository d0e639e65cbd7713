package visits

import "sync"

// Event tells a live page that something it shows has changed; the page then asks again
// through the guarded call. An event carries no PHI: a kind and an appointment identifier.
type Event struct {
	Kind          string `json:"kind"` // e.g. "waiting-room", "visit"
	AppointmentID string `json:"appointmentId,omitempty"`
}

// Hub fans events out to the live pages subscribed to a topic: a clinician's waiting room
// ("clinician:<id>"), the front desk's ("frontdesk"), a visit's page ("visit:<id>"), the
// on-demand queue ("queue"). It is in-process; a multi-node deployment backs the same methods
// with NATS. A slow subscriber misses events rather than blocking the publisher: the next event
// (or the page's own refresh) brings it up to date.
type Hub struct {
	mu     sync.Mutex
	subs   map[string]map[chan Event]struct{}
	closed bool
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[string]map[chan Event]struct{}{}} }

// Subscribe returns one channel of the events of every topic named and the function that ends
// the subscription (and closes the channel). After Close, the channel comes back closed.
func (h *Hub) Subscribe(topics ...string) (<-chan Event, func()) {
	ch := make(chan Event, 16)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		close(ch)
		return ch, func() {}
	}
	for _, topic := range topics {
		if h.subs[topic] == nil {
			h.subs[topic] = map[chan Event]struct{}{}
		}
		h.subs[topic][ch] = struct{}{}
	}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.closed {
				return // Close closed it
			}
			for _, topic := range topics {
				delete(h.subs[topic], ch)
				if len(h.subs[topic]) == 0 {
					delete(h.subs, topic)
				}
			}
			close(ch)
		})
	}
}

// Subscribers is how many live pages follow the topic (a clinician "online" has at least one).
func (h *Hub) Subscribers(topic string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[topic])
}

// Publish sends ev to every subscriber of each topic, dropping it for one whose buffer is full.
// A subscriber of several of the topics gets it once.
func (h *Hub) Publish(ev Event, topics ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sent := map[chan Event]bool{}
	for _, t := range topics {
		for ch := range h.subs[t] {
			if sent[ch] {
				continue
			}
			sent[ch] = true
			select {
			case ch <- ev:
			default:
			}
		}
	}
}

// Close ends every subscription (their channels close, so live pages end their streams) and
// refuses new ones: the server is shutting down.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	done := map[chan Event]bool{}
	for _, subs := range h.subs {
		for ch := range subs {
			if !done[ch] {
				done[ch] = true
				close(ch)
			}
		}
	}
	h.subs = map[string]map[chan Event]struct{}{}
}
