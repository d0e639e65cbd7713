package e2ee

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
)

// seeded is a reproducible randomness source for tests (never for keys in use).
func seeded(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	return rand.NewChaCha8(s)
}

type testDevice struct {
	dev  Device
	keys DeviceKeys
}

func newTestDevice(t testing.TB, account, id string, seed uint64) testDevice {
	t.Helper()
	keys, err := NewDeviceKeys(seeded(seed))
	if err != nil {
		t.Fatal(err)
	}
	return testDevice{dev: keys.Public(id, account), keys: keys}
}

func (d testDevice) sender() Sender {
	return Sender{Account: d.dev.Account, Device: d.dev.ID, Keys: d.keys}
}

var t0 = time.Date(2026, 11, 30, 9, 12, 3, 0, time.UTC)

func TestSealOpenRoundTrip(t *testing.T) {
	clin := newTestDevice(t, "acct-clin", "dev-clin", 1)
	others := []testDevice{
		newTestDevice(t, "acct-pat", "dev-pat-phone", 2),
		newTestDevice(t, "acct-pat", "dev-pat-laptop", 3),
		newTestDevice(t, "acct-interp", "dev-interp", 4),
		newTestDevice(t, "acct-family", "dev-family", 5),
	}
	for n := 1; n <= 4; n++ {
		t.Run(fmt.Sprintf("%d recipient devices", n), func(t *testing.T) {
			var recips []Device
			for _, o := range others[:n] {
				recips = append(recips, o.dev)
			}
			msg, _ := Message{Text: fmt.Sprintf("hello %d", n)}.Marshal()
			env, err := Seal(nil, clin.sender(), "visit.v1", 1, t0, msg, recips)
			if err != nil {
				t.Fatal(err)
			}
			wire, err := json.Marshal(env)
			if err != nil {
				t.Fatal(err)
			}
			if len(wire) > MaxEnvelope {
				t.Fatalf("envelope of %d bytes", len(wire))
			}
			got, err := ParseEnvelope(wire)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range others[:n] {
				var in Inbox
				plain, err := in.Open(got, o.dev, o.keys, clin.dev.SignKey, "visit.v1")
				if err != nil || !bytes.Equal(plain, msg) {
					t.Fatalf("%s: %q, %v", o.dev.ID, plain, err)
				}
				if in.Last(got.Sender, "visit.v1") != 1 {
					t.Fatalf("inbox did not record seq 1")
				}
			}
			for _, o := range others[n:] {
				var in Inbox
				if _, err := in.Open(got, o.dev, o.keys, clin.dev.SignKey, "visit.v1"); !errors.Is(err, ErrNotForMe) {
					t.Fatalf("%s, not a recipient: %v", o.dev.ID, err)
				}
			}
		})
	}
}

// TestConsultNewDeviceCannotReadOlderMessages: a device registered after a message was sent was
// never a recipient of it, so it cannot open it; it opens the messages sent after.
func TestConsultNewDeviceCannotReadOlderMessages(t *testing.T) {
	clin := newTestDevice(t, "acct-clin", "dev-clin", 1)
	phone := newTestDevice(t, "acct-pat", "dev-pat-phone", 2)
	before, err := Seal(nil, clin.sender(), "patient.p1", 1, t0, []byte(`{"text":"before"}`), []Device{phone.dev, clin.dev})
	if err != nil {
		t.Fatal(err)
	}
	tablet := newTestDevice(t, "acct-pat", "dev-pat-tablet", 3)
	after, err := Seal(nil, clin.sender(), "patient.p1", 2, t0.Add(time.Hour), []byte(`{"text":"after"}`), []Device{phone.dev, tablet.dev, clin.dev})
	if err != nil {
		t.Fatal(err)
	}
	var in Inbox
	if _, err := in.Open(before, tablet.dev, tablet.keys, clin.dev.SignKey, "patient.p1"); !errors.Is(err, ErrNotForMe) {
		t.Fatalf("new device opened an older message: %v", err)
	}
	// Copying another device's entry under the new device's id does not help: the KEK is bound to
	// the recipient's agreement key and device id, and the signature to the entry.
	forged := mutate(before, func(e *Envelope) { e.Recipients[0].Device = tablet.dev.ID })
	if _, err := in.Open(forged, tablet.dev, tablet.keys, clin.dev.SignKey, "patient.p1"); !errors.Is(err, ErrAltered) {
		t.Fatalf("forged recipient entry: %v", err)
	}
	if plain, err := in.Open(after, tablet.dev, tablet.keys, clin.dev.SignKey, "patient.p1"); err != nil || string(plain) != `{"text":"after"}` {
		t.Fatalf("new device, newer message: %q %v", plain, err)
	}
}

func TestOpenRefuses(t *testing.T) {
	clin := newTestDevice(t, "acct-clin", "dev-clin", 1)
	pat := newTestDevice(t, "acct-pat", "dev-pat", 2)
	mallory := newTestDevice(t, "acct-mallory", "dev-mallory", 3)
	seal := func(seq uint64) Envelope {
		env, err := Seal(nil, clin.sender(), "visit.v1", seq, t0, []byte("body"), []Device{pat.dev, clin.dev})
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	env1, env2 := seal(1), seal(2)
	flip := func(b B64) { b[0] ^= 0x80 }
	tests := []struct {
		name    string
		before  []Envelope // accepted first
		env     Envelope
		thread  string
		key     ed25519.PublicKey
		me      testDevice
		wantErr error
	}{
		{"valid", nil, env1, "visit.v1", clin.dev.SignKey, pat, nil},
		{"ciphertext altered", nil, mutate(env1, func(e *Envelope) { flip(e.Ciphertext) }), "visit.v1", clin.dev.SignKey, pat, ErrAltered},
		{"ciphertext altered, re-signed", nil, resign(mutate(env1, func(e *Envelope) { flip(e.Ciphertext) }), clin.keys), "visit.v1", clin.dev.SignKey, pat, ErrAltered},
		{"body iv altered, re-signed", nil, resign(mutate(env1, func(e *Envelope) { flip(e.IV) }), clin.keys), "visit.v1", clin.dev.SignKey, pat, ErrAltered},
		{"wrapped key altered, re-signed", nil, resign(mutate(env1, func(e *Envelope) { flip(e.Recipients[1].Wrapped) }), clin.keys), "visit.v1", clin.dev.SignKey, pat, ErrAltered},
		{"ephemeral key altered, re-signed", nil, resign(mutate(env1, func(e *Envelope) { flip(e.EPK) }), clin.keys), "visit.v1", clin.dev.SignKey, pat, ErrAltered},
		{"seq altered, re-signed", []Envelope{}, resign(mutate(env1, func(e *Envelope) { e.Seq = 5 }), clin.keys), "visit.v1", clin.dev.SignKey, pat, ErrAltered},
		{"signature altered", nil, mutate(env1, func(e *Envelope) { flip(e.Sig) }), "visit.v1", clin.dev.SignKey, pat, ErrAltered},
		{"sentAt altered", nil, mutate(env1, func(e *Envelope) { e.SentAt = "2026-11-30T09:12:04Z" }), "visit.v1", clin.dev.SignKey, pat, ErrAltered},
		{"sender account altered", nil, mutate(env1, func(e *Envelope) { e.Sender.Account = "acct-mallory" }), "visit.v1", clin.dev.SignKey, pat, ErrAltered},
		{"recipient dropped", nil, mutate(env1, func(e *Envelope) { e.Recipients = e.Recipients[1:] }), "visit.v1", clin.dev.SignKey, clin, ErrAltered},
		{"signed by another device", nil, resign(env1, mallory.keys), "visit.v1", clin.dev.SignKey, pat, ErrAltered},
		{"checked against another key", nil, env1, "visit.v1", mallory.dev.SignKey, pat, ErrAltered},
		{"no sender key", nil, env1, "visit.v1", nil, pat, ErrAltered},
		{"replayed", []Envelope{env1}, env1, "visit.v1", clin.dev.SignKey, pat, ErrReplayed},
		{"reordered", []Envelope{env2}, env1, "visit.v1", clin.dev.SignKey, pat, ErrReplayed},
		{"wrong thread", nil, env1, "visit.v2", clin.dev.SignKey, pat, ErrWrongThread},
		{"thread field rewritten", nil, mutate(env1, func(e *Envelope) { e.Thread = "visit.v2" }), "visit.v2", clin.dev.SignKey, pat, ErrAltered},
		{"not a recipient", nil, env1, "visit.v1", clin.dev.SignKey, mallory, ErrNotForMe},
		{"version 2", nil, mutate(env1, func(e *Envelope) { e.V = 2 }), "visit.v1", clin.dev.SignKey, pat, ErrMalformed},
		{"seq 0", nil, mutate(env1, func(e *Envelope) { e.Seq = 0 }), "visit.v1", clin.dev.SignKey, pat, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in Inbox
			for _, b := range tt.before {
				if _, err := in.Open(b, tt.me.dev, tt.me.keys, clin.dev.SignKey, "visit.v1"); err != nil {
					t.Fatal(err)
				}
			}
			last := in.Last(env1.Sender, "visit.v1")
			plain, err := in.Open(tt.env, tt.me.dev, tt.me.keys, tt.key, tt.thread)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				if plain != nil {
					t.Fatal("a refused envelope returned plaintext")
				}
				if in.Last(env1.Sender, "visit.v1") != last {
					t.Fatal("a refused envelope moved the inbox")
				}
			}
		})
	}
}

func TestInboxSeparatesSendersAndThreads(t *testing.T) {
	a := newTestDevice(t, "acct-a", "dev-a", 1)
	b := newTestDevice(t, "acct-b", "dev-b", 2)
	me := newTestDevice(t, "acct-me", "dev-me", 3)
	var in Inbox
	for _, c := range []struct {
		from   testDevice
		thread string
	}{{a, "visit.v1"}, {b, "visit.v1"}, {a, "patient.p1"}} {
		env, err := Seal(nil, c.from.sender(), c.thread, 1, t0, []byte("x"), []Device{me.dev})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := in.Open(env, me.dev, me.keys, c.from.dev.SignKey, c.thread); err != nil {
			t.Fatalf("seq 1 from %s in %s: %v", c.from.dev.ID, c.thread, err)
		}
	}
	in.Restore(DeviceRef{"acct-a", "dev-a"}, "visit.v1", 7)
	in.Restore(DeviceRef{"acct-a", "dev-a"}, "visit.v1", 3) // never lowers
	if got := in.Last(DeviceRef{"acct-a", "dev-a"}, "visit.v1"); got != 7 {
		t.Fatalf("last %d, want 7", got)
	}
}

func TestSealRefuses(t *testing.T) {
	clin := newTestDevice(t, "acct-clin", "dev-clin", 1)
	pat := newTestDevice(t, "acct-pat", "dev-pat", 2)
	noKey := pat.dev
	noKey.AgreeKey = nil
	for name, c := range map[string]struct {
		from   Sender
		thread string
		seq    uint64
		to     []Device
	}{
		"no recipients":       {clin.sender(), "visit.v1", 1, nil},
		"recipient twice":     {clin.sender(), "visit.v1", 1, []Device{pat.dev, pat.dev}},
		"recipient no key":    {clin.sender(), "visit.v1", 1, []Device{noKey}},
		"seq 0":               {clin.sender(), "visit.v1", 0, []Device{pat.dev}},
		"no thread":           {clin.sender(), "", 1, []Device{pat.dev}},
		"no signing key":      {Sender{Account: "a", Device: "d"}, "visit.v1", 1, []Device{pat.dev}},
		"sender without name": {Sender{Keys: clin.keys}, "visit.v1", 1, []Device{pat.dev}},
	} {
		if _, err := Seal(nil, c.from, c.thread, c.seq, t0, []byte("x"), c.to); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseEnvelopeStrict(t *testing.T) {
	clin := newTestDevice(t, "acct-clin", "dev-clin", 1)
	pat := newTestDevice(t, "acct-pat", "dev-pat", 2)
	env, err := Seal(seeded(9), clin.sender(), "visit.v1", 1, t0, []byte("x"), []Device{pat.dev})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(env)
	if _, err := ParseEnvelope(good); err != nil {
		t.Fatal(err)
	}
	s := string(good)
	b64 := func(n int) string { return encodeB64(make([]byte, n)) }
	field := func(name string) *regexp.Regexp { return regexp.MustCompile(`"` + name + `":"[^"]*"`) }
	replace := func(name, value string) string { return field(name).ReplaceAllString(s, `"`+name+`":`+value) }
	for name, in := range map[string]string{
		"unknown field":       strings.Replace(s, `{"v":1,`, `{"v":1,"x":1,`, 1),
		"duplicate field":     strings.Replace(s, `{"v":1,`, `{"v":1,"v":1,`, 1),
		"differently cased":   strings.Replace(s, `"thread"`, `"Thread"`, 1),
		"unknown sender key":  strings.Replace(s, `"sender":{`, `"sender":{"role":"x",`, 1),
		"unknown recip key":   strings.Replace(s, `"recipients":[{`, `"recipients":[{"x":1,`, 1),
		"trailing data":       s + `{}`,
		"missing sig":         strings.Replace(s, `,"sig":`+field("sig").FindString(s)[6:], ``, 1),
		"padded b64":          replace("sig", `"`+b64(64)+`=="`),
		"std b64 alphabet":    strings.Replace(s, `"sig":"`, `"sig":"+/`, 1),
		"short sig":           replace("sig", `"`+b64(63)+`"`),
		"short epk":           replace("epk", `"`+b64(31)+`"`),
		"short iv":            replace("ciphertext", `"`+b64(15)+`"`),
		"id of 15 bytes":      replace("id", `"`+b64(15)+`"`),
		"sentAt not a time":   replace("sentAt", `"yesterday"`),
		"empty thread":        replace("thread", `""`),
		"negative seq":        strings.Replace(s, `"seq":1`, `"seq":-1`, 1),
		"seq as string":       strings.Replace(s, `"seq":1`, `"seq":"1"`, 1),
		"no recipients":       regexp.MustCompile(`"recipients":\[.*?\]`).ReplaceAllString(s, `"recipients":[]`),
		"null":                `null`,
		"array":               `[]`,
		"too large":           strings.Replace(s, `"thread":"visit.v1"`, `"thread":"`+strings.Repeat("a", MaxEnvelope)+`"`, 1),
		"recipient twice":     strings.Replace(s, `"recipients":[`, `"recipients":[`+regexp.MustCompile(`\{"device".*?\}`).FindString(s)+`,`, 1),
		"wrapped of 47 bytes": replace("wrapped", `"`+b64(47)+`"`),
	} {
		if in == s {
			t.Errorf("%s: the test's edit did nothing", name)
			continue
		}
		if _, err := ParseEnvelope([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSafetyNumber(t *testing.T) {
	k := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	a := Person{Account: "acct-a", SignKeys: [][]byte{k(1), k(2)}}
	b := Person{Account: "acct-b", SignKeys: [][]byte{k(3)}}
	n := SafetyNumber(a, b)
	if !regexp.MustCompile(`^\d{5}( \d{5}){11}$`).MatchString(n) {
		t.Fatalf("safety number %q is not 12 groups of 5 digits", n)
	}
	if SafetyNumber(b, a) != n {
		t.Fatal("the two sides compute different numbers")
	}
	if SafetyNumber(Person{Account: "acct-a", SignKeys: [][]byte{k(2), k(1)}}, b) != n {
		t.Fatal("the order of a person's devices changes the number")
	}
	for name, changed := range map[string]Person{
		"device added":   {Account: "acct-a", SignKeys: [][]byte{k(1), k(2), k(4)}},
		"device removed": {Account: "acct-a", SignKeys: [][]byte{k(1)}},
		"key swapped":    {Account: "acct-a", SignKeys: [][]byte{k(1), k(5)}},
		"other account":  {Account: "acct-c", SignKeys: [][]byte{k(1), k(2)}},
	} {
		if SafetyNumber(changed, b) == n {
			t.Errorf("%s: the safety number did not change", name)
		}
	}
}

func TestFiles(t *testing.T) {
	data := []byte("attachment canary")
	a, ct, err := SealFile(nil, "scan.png", "image/png", data)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, data) {
		t.Fatal("ciphertext contains the plaintext")
	}
	if got, err := OpenFile(a, ct); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%q %v", got, err)
	}
	bad := bytes.Clone(ct)
	bad[0] ^= 1
	wrongHash, wrongSize := a, a
	wrongHash.SHA256 = strings.Repeat("0", 64)
	wrongSize.Size++
	for name, c := range map[string]struct {
		a  Attachment
		ct []byte
	}{"ciphertext altered": {a, bad}, "hash differs": {wrongHash, ct}, "size differs": {wrongSize, ct}} {
		if _, err := OpenFile(c.a, c.ct); !errors.Is(err, ErrAltered) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := SealFile(nil, "big", "application/octet-stream", make([]byte, MaxAttachment)); err == nil {
		t.Error("an attachment over the limit was sealed")
	}
	m, _ := Message{Text: "see scan", Attachments: []Attachment{a}}.Marshal()
	back, err := ParseMessage(m)
	if err != nil || back.Attachments[0].SHA256 != a.SHA256 || !bytes.Equal(back.Attachments[0].Key, a.Key) {
		t.Fatalf("message round trip: %+v %v", back, err)
	}
}
