package signal

import (
	"encoding/json"
	"testing"
)

func TestParseOutgoing(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"type":"signal","to":"d1","payload":{"kind":"ice","candidate":{}}}`, true},
		{`{"type":"signal","to":"d1","payload":{}}`, true},
		{`{"type":"signal","to":"d1","payload":[]}`, false},
		{`{"type":"signal","to":"d1","payload":"x"}`, false},
		{`{"type":"signal","to":"d1"}`, false},
		{`{"type":"signal","payload":{}}`, false},
		{`{"type":"signal","to":"d 1","payload":{}}`, false},
		{`{"type":"welcome","to":"d1","payload":{}}`, false},
		{`{"type":"signal","to":"d1","payload":{},"from":{"account":"a","device":"d"}}`, false},
		{`{"type":"signal","to":"d1","payload":{}} {}`, false},
		{`not json`, false},
	} {
		_, err := ParseOutgoing([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("ParseOutgoing(%s) = %v; want ok %v", tc.in, err, tc.ok)
		}
	}
}

func FuzzParseOutgoing(f *testing.F) {
	f.Add([]byte(`{"type":"signal","to":"d1","payload":{"kind":"offer","sdp":"v=0"}}`))
	f.Add([]byte(`{"type":"signal","to":"d1","payload":{}, "from":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := ParseOutgoing(b)
		if err != nil {
			return
		}
		if !validDevice(out.To) || !json.Valid(out.Payload) || out.Payload[0] != '{' {
			t.Fatalf("accepted %q as %+v", b, out)
		}
		// What the server relays is always one well-formed message.
		if !json.Valid(encode(relayed{Type: "signal", From: Peer{Account: "a", Device: "d"}, Payload: out.Payload})) {
			t.Fatalf("relayed message of %q is not JSON", b)
		}
	})
}
