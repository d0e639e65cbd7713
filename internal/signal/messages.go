package signal

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The messages of docs/e2ee.md §4. The server reads only the envelope of what a client sends
// (its type and the device it is for); the payload is the clients' own and passes through
// untouched, apart from the sender the server stamps on it.

// welcome is the first message on a socket: who the device is and who is already there.
type welcome struct {
	Type  string `json:"type"` // "welcome"
	You   Peer   `json:"you"`
	Peers []Peer `json:"peers"`
}

// peerEvent announces a device joining or leaving.
type peerEvent struct {
	Type string `json:"type"` // "peer-joined" | "peer-left"
	Peer Peer   `json:"peer"`
}

// relayed is a client's signal as the recipient gets it, with the sender stamped by the server.
type relayed struct {
	Type    string          `json:"type"` // "signal"
	From    Peer            `json:"from"`
	Payload json.RawMessage `json:"payload"`
}

// messageEvent tells the room that a chat message waits to be fetched.
type messageEvent struct {
	Type   string `json:"type"` // "message"
	Thread string `json:"thread"`
	ID     string `json:"id"`
}

// bye says the server is going away.
type bye struct {
	Type   string `json:"type"` // "bye"
	Reason string `json:"reason"`
}

// Outgoing is a message a client sends: a signal for one device of the visit.
type Outgoing struct {
	To      string
	Payload json.RawMessage
}

// maxDeviceID bounds a device id named in a message or the socket's URL.
const maxDeviceID = 128

// ParseOutgoing reads a client's message: {"type": "signal", "to": deviceId, "payload": {…}}.
// Anything else — another type, no recipient, a payload that is not a JSON object, unknown
// fields such as a forged "from" — is refused: the server stamps the sender itself.
func ParseOutgoing(b []byte) (Outgoing, error) {
	var m struct {
		Type    string          `json:"type"`
		To      string          `json:"to"`
		Payload json.RawMessage `json:"payload"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Outgoing{}, fmt.Errorf("%w: %w", ErrBadMessage, err)
	}
	if dec.More() {
		return Outgoing{}, fmt.Errorf("%w: trailing data", ErrBadMessage)
	}
	switch {
	case m.Type != "signal":
		return Outgoing{}, fmt.Errorf("%w: type %q", ErrBadMessage, m.Type)
	case !validDevice(m.To):
		return Outgoing{}, fmt.Errorf("%w: no valid recipient", ErrBadMessage)
	case len(m.Payload) == 0 || m.Payload[0] != '{':
		return Outgoing{}, fmt.Errorf("%w: payload is not an object", ErrBadMessage)
	}
	return Outgoing{To: m.To, Payload: m.Payload}, nil
}

// validDevice accepts a device id of printable ASCII without quotes or spaces, as the key
// directory issues them; the relay only compares them.
func validDevice(id string) bool {
	if id == "" || len(id) > maxDeviceID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// encode marshals a server message; the types above always marshal.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("signal: encode %T: %v", v, err))
	}
	return b
}
