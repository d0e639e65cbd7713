package e2ee

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// fuzzSeeds are the envelopes of the shared vectors, valid and refused.
func fuzzSeeds(f *testing.F) [][]byte {
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		f.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, s := range vf.Seal {
		out = append(out, s.Envelope)
	}
	for _, o := range vf.Open {
		for _, s := range o.Steps {
			out = append(out, s.Envelope)
		}
	}
	return out
}

func FuzzParseEnvelope(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"v":1,"v":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvelope(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("parse error %v is not ErrMalformed", err)
			}
			return
		}
		// What parses is well formed and survives a round trip unchanged.
		if err := env.check(); err != nil {
			t.Fatalf("parsed envelope fails its own check: %v", err)
		}
		again, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		env2, err := ParseEnvelope(again)
		if err != nil || !bytes.Equal(signedData(env), signedData(env2)) {
			t.Fatalf("round trip changed the envelope: %v", err)
		}
	})
}

// FuzzOpen mutates a valid envelope's JSON: whatever the mutation, Open never panics, and it
// accepts only an envelope whose signed content is the original's (a JSON-level change that
// decodes to the same envelope, such as reordered keys or escaped characters).
func FuzzOpen(f *testing.F) {
	ids := vectorIdentities(f)
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		f.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		f.Fatal(err)
	}
	orig, err := ParseEnvelope(vf.Seal[0].Envelope)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	me, sender := ids["alice-laptop"], ids["rivera"]
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvelope(data)
		if err != nil {
			return
		}
		var in Inbox
		plain, err := in.Open(env, me.dev, me.keys, sender.dev.SignKey, orig.Thread)
		if err != nil {
			if plain != nil {
				t.Fatal("refused envelope returned plaintext")
			}
			return
		}
		same := bytes.Equal(signedData(env), signedData(orig))
		other, _ := ParseEnvelope(vf.Seal[1].Envelope)
		if !same && !bytes.Equal(signedData(env), signedData(other)) {
			t.Fatalf("a mutated envelope was accepted: %s", data)
		}
	})
}

func FuzzSDPFingerprint(f *testing.F) {
	fp := "sha-256 " + colonHex(seedBytes("cert", 32))
	f.Add(sampleSDP(fp))
	f.Add(sampleSDP("", fp))
	f.Add(sampleSDP(fp, "sha-256 "+colonHex(seedBytes("other", 32))))
	f.Add("a=fingerprint:\r\n")
	f.Fuzz(func(t *testing.T, sdp string) {
		got, err := SDPFingerprint(sdp)
		if err != nil {
			if !errors.Is(err, ErrSDPFingerprint) {
				t.Fatalf("error %v is not ErrSDPFingerprint", err)
			}
			return
		}
		if !fingerprintValue.MatchString(got) {
			t.Fatalf("returned malformed fingerprint %q", got)
		}
	})
}

func FuzzParseDescription(f *testing.F) {
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		f.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		f.Fatal(err)
	}
	for _, d := range vf.DTLS {
		f.Add([]byte(d.Payload))
	}
	signer := vectorIdentities(f)["rivera"]
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDescription(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		var nonces NonceSet
		if err := d.Check(signer.dev.SignKey, vf.DTLS[0].VisitID, vf.DTLS[0].From, vf.DTLS[0].To, vf.DTLS[0].To, &nonces); err == nil {
			if d.Fingerprint != vf.DTLS[0].Fingerprint || hx(d.Nonce) != vf.DTLS[0].NonceHex {
				t.Fatalf("a description with another fingerprint or nonce was accepted: %s", data)
			}
		}
	})
}

func FuzzParseDirectoryAnswer(f *testing.F) {
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		f.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		f.Fatal(err)
	}
	tr := vf.Transparency
	verifier, err := note.NewVerifier(tr.VerifierKey)
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range tr.Cases {
		var d DirectoryDevice
		_ = json.Unmarshal(c.Device, &d)
		a := DirectoryAnswer{Checkpoint: c.Checkpoint, Origin: tr.Origin,
			People: []DirectoryPerson{{AccountID: c.Owner, Role: "patient", DisplayName: "Alice", Devices: []DirectoryDevice{d}}}}
		b, _ := json.Marshal(a)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseDirectoryAnswer(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		for _, p := range a.People {
			for _, d := range p.Devices {
				if VerifyDevice(d, p.AccountID, []byte(a.Checkpoint), tr.Origin, verifier) != nil {
					continue
				}
				// Only the genuine leaves verify.
				c, err := CanonicalEntry(d.Entry)
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, l := range tr.Leaves {
					found = found || hx(c) == l.CanonicalHex
				}
				if !found {
					t.Fatalf("a device whose entry is not a leaf verified: %s", data)
				}
			}
		}
	})
}
