package client

import (
	"encoding/json"
	"testing"
)

// The client's parsers of what the server (or anyone between) sends: each must refuse or
// return, never panic, on any input; and what they accept re-encodes to something they accept.

func FuzzParseServerMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"welcome","you":{"account":"a","device":"d"},"peers":[{"account":"b","device":"e"}]}`,
		`{"type":"peer-joined","peer":{"account":"b","device":"e"}}`,
		`{"type":"signal","from":{"account":"b","device":"e"},"payload":{"kind":"ice","candidate":{}}}`,
		`{"type":"message","thread":"visit.1","id":"m1"}`,
		`{"type":"bye","reason":"restart"}`,
		`{"type":"signal","from":null}`, `[]`, `{"type":"welcome"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseServerMessage(b)
		if err != nil {
			return
		}
		again, _ := json.Marshal(m)
		if _, err := ParseServerMessage(again); err != nil {
			t.Fatalf("accepted %q but not its re-encoding %q: %v", b, again, err)
		}
	})
}

func FuzzParsePayload(f *testing.F) {
	for _, s := range []string{
		`{"kind":"offer","sdp":"v=0\r\n","nonce":"AAAAAAAAAAAAAAAAAAAAAA","fingerprint":"sha-256 AB","sig":"x"}`,
		`{"kind":"ice","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}}`,
		`{"kind":"answer"}`, `{"kind":"bye"}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := parsePayload(b); err == nil && p.Kind != "offer" && p.Kind != "answer" && p.Kind != "ice" {
			t.Fatalf("accepted kind %q", p.Kind)
		}
	})
}
