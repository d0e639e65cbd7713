package e2ee

import (
	"errors"
	"strings"
	"testing"
)

func TestDescriptionCheck(t *testing.T) {
	clin := newTestDevice(t, "acct-clin", "dev-clin", 1)
	mallory := newTestDevice(t, "acct-mallory", "dev-mallory", 2)
	fp := "sha-256 " + colonHex(seedBytes("cert", 32))
	relayFP := "sha-256 " + colonHex(seedBytes("relay cert", 32))
	sdp := sampleSDP(fp)
	d, err := NewDescription(nil, clin.keys, "v1", "dev-clin", "dev-pat", "offer", sdp)
	if err != nil {
		t.Fatal(err)
	}
	rewritten := d
	rewritten.SDP = strings.ReplaceAll(sdp, fp, relayFP)
	rewrittenBoth := rewritten
	rewrittenBoth.Fingerprint = relayFP
	resigned := rewrittenBoth
	resigned.Sig = SignDescription(mallory.keys, "v1", "dev-clin", "dev-pat", d.Nonce, relayFP)
	badKind := d
	badKind.Kind = "pranswer"
	tests := []struct {
		name            string
		d               Description
		visit, from, me string
		key             []byte
		want            error
	}{
		{"valid", d, "v1", "dev-clin", "dev-pat", clin.dev.SignKey, nil},
		{"fingerprint rewritten in the SDP", rewritten, "v1", "dev-clin", "dev-pat", clin.dev.SignKey, ErrBadDescription},
		{"fingerprint rewritten in SDP and payload", rewrittenBoth, "v1", "dev-clin", "dev-pat", clin.dev.SignKey, ErrBadDescription},
		{"rewritten and signed by another device", resigned, "v1", "dev-clin", "dev-pat", clin.dev.SignKey, ErrBadDescription},
		{"another visit", d, "v2", "dev-clin", "dev-pat", clin.dev.SignKey, ErrBadDescription},
		{"another sender", d, "v1", "dev-mallory", "dev-pat", clin.dev.SignKey, ErrBadDescription},
		{"addressed to another device", d, "v1", "dev-clin", "dev-family", clin.dev.SignKey, ErrBadDescription},
		{"unknown kind", badKind, "v1", "dev-clin", "dev-pat", clin.dev.SignKey, ErrBadDescription},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var nonces NonceSet
			err := tt.d.Check(tt.key, tt.visit, tt.from, "dev-pat", tt.me, &nonces)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.want != nil {
				// A refused description does not use up its nonce.
				if err := nonces.Add(tt.d.Nonce); err != nil {
					t.Fatal("a refused description recorded its nonce")
				}
			}
		})
	}
	var nonces NonceSet
	if err := d.Check(clin.dev.SignKey, "v1", "dev-clin", "dev-pat", "dev-pat", &nonces); err != nil {
		t.Fatal(err)
	}
	if err := d.Check(clin.dev.SignKey, "v1", "dev-clin", "dev-pat", "dev-pat", &nonces); !errors.Is(err, ErrReplayedNonce) {
		t.Fatalf("replayed description: %v", err)
	}
	if err := VerifyDescription(clin.dev.SignKey, "v1", "dev-clin", "dev-pat", d.Nonce[:8], fp, d.Sig); !errors.Is(err, ErrBadDescription) {
		t.Fatalf("short nonce: %v", err)
	}
}

func TestSDPFingerprint(t *testing.T) {
	fp := "sha-256 " + colonHex(seedBytes("cert", 32))
	lower := strings.ToLower(fp)
	tests := []struct {
		name, sdp, want string
	}{
		{"session level", sampleSDP(fp), fp},
		{"media level only", sampleSDP("", fp), fp},
		{"repeated", sampleSDP(fp, fp, fp), fp},
		{"LF line ends", strings.ReplaceAll(sampleSDP(fp), "\r\n", "\n"), fp},
		{"sha-512", sampleSDP("sha-512 " + colonHex(seedBytes("x", 64))), "sha-512 " + colonHex(seedBytes("x", 64))},
		{"none", sampleSDP(""), ""},
		{"conflicting", sampleSDP(fp, "sha-256 "+colonHex(seedBytes("other", 32))), ""},
		{"same bytes, other case", sampleSDP(fp, lower), ""},
		{"sha-1", sampleSDP("sha-1 " + colonHex(seedBytes("x", 20))), ""},
		{"truncated", sampleSDP(fp[:len(fp)-3]), ""},
		{"trailing space", sampleSDP(fp + " "), ""},
		{"misspelt attribute", strings.Replace(sampleSDP(fp), "a=fingerprint:", "a=Fingerprint:", 1), ""},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		got, err := SDPFingerprint(tt.sdp)
		if tt.want == "" && !errors.Is(err, ErrSDPFingerprint) || tt.want != "" && (err != nil || got != tt.want) {
			t.Errorf("%s: %q %v, want %q", tt.name, got, err, tt.want)
		}
	}
}
