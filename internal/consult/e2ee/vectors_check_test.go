package e2ee

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// wantErrs maps the vectors' "want" words to the errors Open and VerifyDevice return.
var wantErrs = map[string]error{
	"ok": nil, "altered": ErrAltered, "replayed": ErrReplayed, "wrongThread": ErrWrongThread,
	"notForMe": ErrNotForMe, "malformed": ErrMalformed,
	"keyNotInEntry": ErrKeyNotInEntry, "notInLog": ErrNotInLog, "badCheckpoint": ErrBadCheckpoint,
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// TestVectorsReproduce reads testdata/vectors.json as the JavaScript side does and checks every
// value with the package's API, independently of the generator.
func TestVectorsReproduce(t *testing.T) {
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatal(err)
	}
	devs := map[string]vecIdentity{}
	t.Run("devices", func(t *testing.T) {
		for _, d := range vf.Devices {
			keys, err := DeviceKeysFromBytes(unhex(t, d.SignSeedHex), unhex(t, d.AgreePrivateHex))
			if err != nil {
				t.Fatal(err)
			}
			dev := keys.Public(d.Device, d.Account)
			if hx(dev.SignKey) != d.SignPublicHex || hx(dev.AgreeKey.Bytes()) != d.AgreePublicHex {
				t.Errorf("%s: public keys differ", d.Name)
			}
			if got := Fingerprint(unhex(t, d.SignPublicHex), unhex(t, d.AgreePublicHex)); got != d.Fingerprint {
				t.Errorf("%s: fingerprint %s, want %s", d.Name, got, d.Fingerprint)
			}
			devs[d.Name] = vecIdentity{vecDevice: d, keys: keys, dev: dev}
		}
	})
	t.Run("safety numbers", func(t *testing.T) {
		person := func(p vecPerson) Person {
			out := Person{Account: p.Account}
			for _, k := range p.SignPublicsHex {
				out.SignKeys = append(out.SignKeys, unhex(t, k))
			}
			if got := safetyDigits(out); got != p.Digits {
				t.Errorf("%s: digits %s, want %s", p.Account, got, p.Digits)
			}
			return out
		}
		for _, v := range vf.SafetyNumbers {
			a, b := person(v.A), person(v.B)
			if got := SafetyNumber(a, b); got != v.SafetyNumber {
				t.Errorf("%s: %s, want %s", v.Name, got, v.SafetyNumber)
			}
			if SafetyNumber(b, a) != v.SafetyNumber {
				t.Errorf("%s: depends on the order of the people", v.Name)
			}
		}
	})
	t.Run("seal", func(t *testing.T) {
		for _, v := range vf.Seal {
			s := devs[v.Sender]
			random := slices.Concat(unhex(t, v.IDHex), unhex(t, v.ContentKeyHex), unhex(t, v.EphemeralPrivateHex), unhex(t, v.IVHex))
			var recips []Device
			for _, r := range v.Recipients {
				random = append(random, unhex(t, r.IVHex)...)
				for _, id := range devs {
					if id.Device == r.Device {
						recips = append(recips, id.dev)
					}
				}
			}
			sentAt, err := time.Parse(time.RFC3339, v.SentAt)
			if err != nil {
				t.Fatal(err)
			}
			env, err := Seal(bytes.NewReader(random), Sender{Account: s.Account, Device: s.Device, Keys: s.keys}, v.Thread, v.Seq, sentAt, []byte(v.Plaintext), recips)
			if err != nil {
				t.Fatal(err)
			}
			want, err := ParseEnvelope(v.Envelope)
			if err != nil {
				t.Fatalf("%s: %v", v.Name, err)
			}
			if !bytes.Equal(mustJSON(t, env), mustJSON(t, want)) {
				t.Errorf("%s: envelope differs", v.Name)
			}
			for name, pair := range map[string][2]string{
				"body aad":    {hx(bodyAAD(env)), v.BodyAADHex},
				"ciphertext":  {hx(env.Ciphertext), v.CiphertextHex},
				"signed data": {hx(signedData(env)), v.SignedDataHex},
				"sig":         {hx(env.Sig), v.SigHex},
				"epk":         {hx(env.EPK), v.EphemeralPublicHex},
			} {
				if pair[0] != pair[1] {
					t.Errorf("%s: %s differs", v.Name, name)
				}
			}
			for i, r := range v.Recipients {
				kek, err := deriveKEK(unhex(t, r.SharedSecretHex), env.EPK, unhex(t, r.AgreePublicHex), env.ID, r.Device)
				if err != nil || hx(kek) != r.KEKHex || hx(env.Recipients[i].Wrapped) != r.WrappedHex ||
					hx(wrapSalt(env.EPK, unhex(t, r.AgreePublicHex))) != r.HKDFSaltHex || hx([]byte(wrapInfo(env.ID, r.Device))) != r.HKDFInfoHex {
					t.Errorf("%s: recipient %s differs", v.Name, r.Device)
				}
			}
		}
	})
	t.Run("open", func(t *testing.T) {
		for _, v := range vf.Open {
			var in Inbox
			me, sender := devs[v.Recipient], devs[v.Sender]
			for i, s := range v.Steps {
				env, err := ParseEnvelope(s.Envelope)
				var plain []byte
				if err == nil {
					plain, err = in.Open(env, me.dev, me.keys, sender.dev.SignKey, v.Thread)
				}
				want, known := wantErrs[s.Want]
				if !known || !errors.Is(err, want) || (want == nil && err != nil) {
					t.Errorf("%s, step %d: got %v, want %s", v.Name, i, err, s.Want)
				}
				if string(plain) != s.Plaintext {
					t.Errorf("%s, step %d: plaintext %q, want %q", v.Name, i, plain, s.Plaintext)
				}
			}
		}
	})
	t.Run("files", func(t *testing.T) {
		for _, v := range vf.Files {
			a := Attachment{Name: v.Name, Type: v.Type, Size: int64(len(unhex(t, v.PlaintextHex))), Key: unhex(t, v.KeyHex), IV: unhex(t, v.IVHex), SHA256: v.SHA256}
			got, err := OpenFile(a, unhex(t, v.CiphertextHex))
			if err != nil || hx(got) != v.PlaintextHex || hx([]byte(fileAAD)) != v.AADHex {
				t.Errorf("%s: open %v", v.Name, err)
			}
			_, ct, err := SealFile(bytes.NewReader(slices.Concat(a.Key, a.IV)), v.Name, v.Type, got)
			if err != nil || hx(ct) != v.CiphertextHex {
				t.Errorf("%s: seal differs: %v", v.Name, err)
			}
		}
	})
	t.Run("dtls", func(t *testing.T) {
		for _, v := range vf.DTLS {
			s := devs[v.Signer]
			nonce := unhex(t, v.NonceHex)
			if got := SignDescription(s.keys, v.VisitID, v.From, v.To, nonce, v.Fingerprint); hx(got) != v.SigHex {
				t.Errorf("%s: signature differs", v.Name)
			}
			if hx(descriptionData(v.VisitID, v.From, v.To, nonce, v.Fingerprint)) != v.SignedDataHex {
				t.Errorf("%s: signed data differs", v.Name)
			}
			if err := VerifyDescription(s.dev.SignKey, v.VisitID, v.From, v.To, nonce, v.Fingerprint, unhex(t, v.SigHex)); err != nil {
				t.Errorf("%s: %v", v.Name, err)
			}
			var d Description
			if err := json.Unmarshal(v.Payload, &d); err != nil {
				t.Fatal(err)
			}
			var nonces NonceSet
			if err := d.Check(s.dev.SignKey, v.VisitID, v.From, v.To, v.To, &nonces); err != nil {
				t.Errorf("%s: payload check: %v", v.Name, err)
			}
			if err := d.Check(s.dev.SignKey, v.VisitID, v.From, v.To, v.To, &nonces); !errors.Is(err, ErrReplayedNonce) {
				t.Errorf("%s: replayed payload: %v", v.Name, err)
			}
		}
	})
	t.Run("sdp", func(t *testing.T) {
		for _, v := range vf.SDP {
			got, err := SDPFingerprint(v.SDP)
			if v.Fingerprint == "" && !errors.Is(err, ErrSDPFingerprint) || v.Fingerprint != "" && (err != nil || got != v.Fingerprint) {
				t.Errorf("%s: %q, %v; want %q", v.Name, got, err, v.Fingerprint)
			}
		}
	})
	t.Run("transparency", func(t *testing.T) {
		tr := vf.Transparency
		verifier, err := note.NewVerifier(tr.VerifierKey)
		if err != nil {
			t.Fatal(err)
		}
		body := tr.Checkpoint[:strings.Index(tr.Checkpoint, "\n\n")+1]
		if body != tr.CheckpointBody {
			t.Errorf("checkpoint body differs")
		}
		var leaves [][]byte
		for _, l := range tr.Leaves {
			c, err := CanonicalEntry(l.Entry)
			if err != nil || hx(c) != l.CanonicalHex {
				t.Errorf("leaf %s: canonical differs (%v)", l.Entry.Seq, err)
			}
			if h := tlog.RecordHash(c); hx(h[:]) != l.LeafHashHex {
				t.Errorf("leaf %s: hash differs", l.Entry.Seq)
			}
			leaves = append(leaves, c)
		}
		tree, err := OpenCheckpoint([]byte(tr.Checkpoint), tr.Origin, verifier)
		if err != nil || tree.N != tr.TreeSize || hx(tree.Hash[:]) != tr.RootHashHex {
			t.Errorf("checkpoint: %+v, %v", tree, err)
		}
		if root, _ := tlog.TreeHash(int64(len(leaves)), buildTree(t, leaves)); hx(root[:]) != tr.RootHashHex {
			t.Errorf("root of the leaves differs")
		}
		for _, c := range tr.Cases {
			var d DirectoryDevice
			if err := json.Unmarshal(c.Device, &d); err != nil {
				t.Fatal(err)
			}
			err := VerifyDevice(d, c.Owner, []byte(c.Checkpoint), tr.Origin, verifier)
			if want := wantErrs[c.Want]; !errors.Is(err, want) || (want == nil && err != nil) {
				t.Errorf("%s: got %v, want %s", c.Name, err, c.Want)
			}
		}
	})
}
