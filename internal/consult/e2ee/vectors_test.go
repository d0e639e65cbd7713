package e2ee

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json")

const vectorsPath = "testdata/vectors.json"

// The shared test vectors (docs/e2ee.md): the Go and JavaScript implementations both reproduce
// every value in testdata/vectors.json. Field names say what a value is; the encoding note at
// the top says how bytes are written.

const vectorEncoding = "Every field whose name ends in Hex, and every list of such values, is lowercase hex of raw bytes. " +
	"Objects under \"envelope\", \"device\" and \"payload\" are the protocol's own JSON (docs/e2ee.md), whose binary fields are base64url without padding. " +
	"Strings that are not bytes (ids, threads, sentAt, fingerprints, safety numbers, SDPs, notes) are UTF-8 text as is. " +
	"Ed25519 private keys are given as their 32-byte seed (signSeedHex); X25519 private keys as their 32 raw bytes. " +
	"Ed25519 signatures, AES-GCM (given key and iv), X25519 and HKDF are deterministic, so every value is reproducible. " +
	"Seal reads its randomness in this order: id (16), content key (32), ephemeral X25519 private key (32), body iv (12), then one iv (12) per recipient in device-id order."

type vectorFile struct {
	Encoding      string          `json:"encoding"`
	Devices       []vecDevice     `json:"devices"`
	SafetyNumbers []vecSafety     `json:"safetyNumbers"`
	Seal          []vecSeal       `json:"seal"`
	Open          []vecOpen       `json:"open"`
	Files         []vecFile       `json:"files"`
	DTLS          []vecDTLS       `json:"dtls"`
	SDP           []vecSDP        `json:"sdp"`
	Transparency  vecTransparency `json:"transparency"`
}

type vecDevice struct {
	Name            string `json:"name"`
	Account         string `json:"account"`
	Device          string `json:"device"`
	SignSeedHex     string `json:"signSeedHex"`
	SignPublicHex   string `json:"signPublicHex"`
	AgreePrivateHex string `json:"agreePrivateHex"`
	AgreePublicHex  string `json:"agreePublicHex"`
	Fingerprint     string `json:"fingerprint"` // hex of SHA-256("haven-device-v1\0" ‖ sign ‖ agree)
}

type vecPerson struct {
	Account        string   `json:"account"`
	SignPublicsHex []string `json:"signPublicsHex"`
	DigestHex      string   `json:"digestHex"` // SHA-512 of the person, all 64 bytes
	Digits         string   `json:"digits"`    // the person's 30 digits
}

type vecSafety struct {
	Name         string    `json:"name"`
	A            vecPerson `json:"a"`
	B            vecPerson `json:"b"`
	SafetyNumber string    `json:"safetyNumber"`
}

type vecWrap struct {
	Device          string `json:"device"`
	AgreePublicHex  string `json:"agreePublicHex"`
	IVHex           string `json:"ivHex"`
	SharedSecretHex string `json:"sharedSecretHex"`
	HKDFSaltHex     string `json:"hkdfSaltHex"`
	HKDFInfoHex     string `json:"hkdfInfoHex"`
	KEKHex          string `json:"kekHex"`
	WrappedHex      string `json:"wrappedHex"`
}

type vecSeal struct {
	Name                string          `json:"name"`
	Sender              string          `json:"sender"` // a device name of "devices"
	Thread              string          `json:"thread"`
	Seq                 uint64          `json:"seq"`
	SentAt              string          `json:"sentAt"`
	Plaintext           string          `json:"plaintext"`
	IDHex               string          `json:"idHex"` // the id's raw 16 bytes; envelope.id is their b64url
	ContentKeyHex       string          `json:"contentKeyHex"`
	EphemeralPrivateHex string          `json:"ephemeralPrivateHex"`
	EphemeralPublicHex  string          `json:"ephemeralPublicHex"`
	IVHex               string          `json:"ivHex"`
	Recipients          []vecWrap       `json:"recipients"` // in device-id order
	BodyAADHex          string          `json:"bodyAadHex"`
	CiphertextHex       string          `json:"ciphertextHex"`
	SignedDataHex       string          `json:"signedDataHex"`
	SigHex              string          `json:"sigHex"`
	Envelope            json.RawMessage `json:"envelope"`
}

type vecStep struct {
	Envelope  json.RawMessage `json:"envelope"`
	Want      string          `json:"want"` // ok, altered, replayed, wrongThread, notForMe, malformed
	Plaintext string          `json:"plaintext,omitempty"`
}

type vecOpen struct {
	Name      string    `json:"name"`
	Recipient string    `json:"recipient"` // the opening device (a device name)
	Sender    string    `json:"sender"`    // whose directory signing key verifies the envelopes
	Thread    string    `json:"thread"`    // the thread the recipient asked for
	Steps     []vecStep `json:"steps"`     // opened in order by one inbox
}

type vecFile struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	PlaintextHex  string `json:"plaintextHex"`
	KeyHex        string `json:"keyHex"`
	IVHex         string `json:"ivHex"`
	AADHex        string `json:"aadHex"`
	SHA256        string `json:"sha256"`
	CiphertextHex string `json:"ciphertextHex"`
}

type vecDTLS struct {
	Name          string          `json:"name"`
	Signer        string          `json:"signer"` // a device name
	VisitID       string          `json:"visitId"`
	From          string          `json:"from"`
	To            string          `json:"to"`
	NonceHex      string          `json:"nonceHex"`
	Fingerprint   string          `json:"fingerprint"`
	SignedDataHex string          `json:"signedDataHex"`
	SigHex        string          `json:"sigHex"`
	Payload       json.RawMessage `json:"payload"` // the signalling payload carrying it
}

type vecSDP struct {
	Name        string `json:"name"`
	SDP         string `json:"sdp"`
	Fingerprint string `json:"fingerprint"` // "" when the SDP must be refused
}

type vecLeaf struct {
	Entry        DirectoryEntry `json:"entry"`
	CanonicalHex string         `json:"canonicalHex"`
	LeafHashHex  string         `json:"leafHashHex"`
}

type vecKTCase struct {
	Name       string          `json:"name"`
	Owner      string          `json:"owner"`
	Device     json.RawMessage `json:"device"` // a DirectoryDevice as the directory serves it
	Checkpoint string          `json:"checkpoint"`
	Want       string          `json:"want"` // ok, keyNotInEntry, notInLog, badCheckpoint
}

type vecTransparency struct {
	Origin      string `json:"origin"`
	VerifierKey string `json:"verifierKey"` // note verifier key, as GET /api/v1/audit/key serves it
	// VerifierPublicHex is the Ed25519 public key inside VerifierKey ("<name>+<key hash>+<b64std(0x01 ‖ key)>");
	// a signature line of the note is "— <name> <b64std(key hash (4 bytes) ‖ Ed25519 sig over the body)>".
	VerifierPublicHex string      `json:"verifierPublicHex"`
	CheckpointBody    string      `json:"checkpointBody"` // the signed text: origin, size, b64std(root), each ending in a newline
	Leaves            []vecLeaf   `json:"leaves"`
	TreeSize          int64       `json:"treeSize"`
	RootHashHex       string      `json:"rootHashHex"`
	Checkpoint        string      `json:"checkpoint"`
	Cases             []vecKTCase `json:"cases"`
}

// seedBytes is a fixed, named byte string for the vectors.
func seedBytes(name string, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		s := sha256.Sum256(fmt.Appendf(nil, "haven-e2ee-vectors %s %d", name, i))
		out = append(out, s[:]...)
	}
	return out[:n]
}

type vecIdentity struct {
	vecDevice
	keys DeviceKeys
	dev  Device
}

func vectorIdentities(t testing.TB) map[string]vecIdentity {
	t.Helper()
	ids := map[string]vecIdentity{}
	for _, d := range []struct{ name, account, device string }{
		{"alice-laptop", "acct-alice", "dev-alice-laptop"},
		{"alice-phone", "acct-alice", "dev-alice-phone"},
		{"rivera", "acct-rivera", "dev-rivera-1"},
		{"carol", "acct-carol", "dev-carol-1"},
	} {
		seed, agree := seedBytes(d.name+" sign", 32), seedBytes(d.name+" agree", 32)
		keys, err := DeviceKeysFromBytes(seed, agree)
		if err != nil {
			t.Fatal(err)
		}
		dev := keys.Public(d.device, d.account)
		ids[d.name] = vecIdentity{vecDevice: vecDevice{
			Name: d.name, Account: d.account, Device: d.device,
			SignSeedHex: hex.EncodeToString(seed), SignPublicHex: hex.EncodeToString(dev.SignKey),
			AgreePrivateHex: hex.EncodeToString(agree), AgreePublicHex: hex.EncodeToString(dev.AgreeKey.Bytes()),
			Fingerprint: dev.Fingerprint(),
		}, keys: keys, dev: dev}
	}
	return ids
}

var vecOrder = []string{"alice-laptop", "alice-phone", "rivera", "carol"}

func mustJSON(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func hx(b []byte) string { return hex.EncodeToString(b) }

// sealVector seals one message with fixed randomness and records every intermediate value.
func sealVector(t testing.TB, ids map[string]vecIdentity, name, sender, thread string, seq uint64, sentAt time.Time, text string, to []string) (vecSeal, Envelope) {
	t.Helper()
	s := ids[sender]
	plain, err := Message{Text: text}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	id, ck, eph, iv := seedBytes(name+" id", 16), seedBytes(name+" ck", 32), seedBytes(name+" eph", 32), seedBytes(name+" iv", 12)
	var recips []Device
	for _, n := range to {
		recips = append(recips, ids[n].dev)
	}
	sorted := slices.Clone(recips)
	slices.SortFunc(sorted, func(a, b Device) int { return bytes.Compare([]byte(a.ID), []byte(b.ID)) })
	random := slices.Concat(id, ck, eph, iv)
	var ivs [][]byte
	for _, r := range sorted {
		riv := seedBytes(name+" iv "+r.ID, 12)
		ivs = append(ivs, riv)
		random = append(random, riv...)
	}
	rd := bytes.NewReader(random)
	env, err := Seal(rd, Sender{Account: s.Account, Device: s.Device, Keys: s.keys}, thread, seq, sentAt, plain, recips)
	if err != nil {
		t.Fatal(err)
	}
	if rd.Len() != 0 {
		t.Fatalf("seal left %d random bytes unread", rd.Len())
	}
	v := vecSeal{Name: name, Sender: sender, Thread: thread, Seq: seq, SentAt: env.SentAt, Plaintext: string(plain),
		IDHex: hx(id), ContentKeyHex: hx(ck), EphemeralPrivateHex: hx(eph), EphemeralPublicHex: hx(env.EPK), IVHex: hx(iv),
		BodyAADHex: hx(bodyAAD(env)), CiphertextHex: hx(env.Ciphertext), SignedDataHex: hx(signedData(env)), SigHex: hx(env.Sig),
		Envelope: mustJSON(t, env)}
	for i, r := range sorted {
		ephKey, err := ecdh.X25519().NewPrivateKey(eph)
		if err != nil {
			t.Fatal(err)
		}
		shared, err := ephKey.ECDH(r.AgreeKey)
		if err != nil {
			t.Fatal(err)
		}
		kek, err := deriveKEK(shared, env.EPK, r.AgreeKey.Bytes(), env.ID, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		v.Recipients = append(v.Recipients, vecWrap{Device: r.ID, AgreePublicHex: hx(r.AgreeKey.Bytes()), IVHex: hx(ivs[i]),
			SharedSecretHex: hx(shared), HKDFSaltHex: hx(wrapSalt(env.EPK, r.AgreeKey.Bytes())),
			HKDFInfoHex: hx([]byte(wrapInfo(env.ID, r.ID))), KEKHex: hx(kek), WrappedHex: hx(env.Recipients[i].Wrapped)})
	}
	return v, env
}

// mutate returns a copy of env changed by f.
func mutate(env Envelope, f func(*Envelope)) Envelope {
	c := env
	c.EPK, c.IV, c.Ciphertext, c.Sig = slices.Clone(env.EPK), slices.Clone(env.IV), slices.Clone(env.Ciphertext), slices.Clone(env.Sig)
	c.Recipients = nil
	for _, r := range env.Recipients {
		c.Recipients = append(c.Recipients, Recipient{Device: r.Device, IV: slices.Clone(r.IV), Wrapped: slices.Clone(r.Wrapped)})
	}
	f(&c)
	return c
}

// resign signs env again with keys, as a sender (or an impostor) would.
func resign(env Envelope, keys DeviceKeys) Envelope {
	env.Sig = ed25519.Sign(keys.Sign, signedData(env))
	return env
}

func safetyVector(t testing.TB, name string, a, b Person) vecSafety {
	t.Helper()
	person := func(p Person) vecPerson {
		keys := slices.Clone(p.SignKeys)
		slices.SortFunc(keys, bytes.Compare)
		in := slices.Concat([]byte("haven-safety-v1\x00"), []byte(p.Account), []byte{0})
		var hexes []string
		for _, k := range keys {
			in = append(in, k...)
		}
		for _, k := range p.SignKeys {
			hexes = append(hexes, hx(k))
		}
		d := sha512.Sum512(in)
		return vecPerson{Account: p.Account, SignPublicsHex: hexes, DigestHex: hx(d[:]), Digits: safetyDigits(p)}
	}
	return vecSafety{Name: name, A: person(a), B: person(b), SafetyNumber: SafetyNumber(a, b)}
}

// sampleSDP is a trimmed Chromium offer; fp is its fingerprint line's value.
func sampleSDP(fp string, media ...string) string {
	s := "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n" +
		"a=msid-semantic: WMS\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n" +
		"a=ice-ufrag:kG4i\r\na=ice-pwd:6GkQ9R2XkFJ3bEJX0XvdAbc1\r\n"
	if fp != "" {
		s += "a=fingerprint:" + fp + "\r\n"
	}
	for _, m := range media {
		s += "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=fingerprint:" + m + "\r\n"
	}
	return s + "a=setup:actpass\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"
}

func colonHex(b []byte) string {
	var s []byte
	for i, c := range b {
		if i > 0 {
			s = append(s, ':')
		}
		s = fmt.Appendf(s, "%02X", c)
	}
	return string(s)
}

// memTree is an in-memory tlog over fixed leaves.
type memTree []tlog.Hash

func (m memTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m[x]
	}
	return out, nil
}

func buildTree(t testing.TB, leaves [][]byte) memTree {
	t.Helper()
	var m memTree
	for i, l := range leaves {
		hs, err := tlog.StoredHashes(int64(i), l, m)
		if err != nil {
			t.Fatal(err)
		}
		m = append(m, hs...)
	}
	return m
}

const vecOrigin = "haven.audit/00112233445566778899aabbccddeeff"

func transparencyVectors(t testing.TB, ids map[string]vecIdentity) vecTransparency {
	t.Helper()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(seedBytes("checkpoint key", 32)), "haven-audit")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	rogueKey, _, err := note.GenerateKey(bytes.NewReader(seedBytes("rogue checkpoint key", 32)), "haven-audit")
	if err != nil {
		t.Fatal(err)
	}
	rogue, _ := note.NewSigner(rogueKey)

	base := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC).UnixNano()
	keyEntry := func(seq int, id vecIdentity, role, req string) DirectoryEntry {
		return DirectoryEntry{Seq: fmt.Sprint(seq), Time: fmt.Sprint(base + int64(seq)*1e9), ActorID: id.Account, ActorRole: role,
			Action: ActionKeyAdd, ResourceType: ResourceDevice, ResourceID: id.Device, Outcome: OutcomeSuccess,
			Reason: LeafReason(id.dev.SignKey, id.dev.AgreeKey.Bytes()), RequestID: req}
	}
	entries := []DirectoryEntry{
		{Seq: "1", Time: fmt.Sprint(base + 1e9), ActorID: "acct-rivera", ActorRole: "clinician", Action: "patient.read",
			ResourceType: "Patient", ResourceID: "pat-1", PatientID: "pat-1", Outcome: "allow", Reason: "care-team",
			SourceAddr: "192.0.2.10", RequestID: "req-1", Purpose: "TREAT"},
		keyEntry(2, ids["rivera"], "clinician", "req-2"),
		keyEntry(3, ids["alice-laptop"], "patient", "req-3"),
		{Seq: "4", Time: fmt.Sprint(base + 4e9), ActorID: "acct-alice", ActorRole: "patient", Action: "auth.login",
			ResourceType: "Account", ResourceID: "acct-alice", Outcome: "success", SourceAddr: "198.51.100.7", RequestID: "req-4"},
		keyEntry(5, ids["alice-phone"], "patient", "req-5"),
	}
	tr := vecTransparency{Origin: vecOrigin, VerifierKey: vkey}
	var leaves [][]byte
	for _, e := range entries {
		c, err := CanonicalEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, c)
		lh := tlog.RecordHash(c)
		tr.Leaves = append(tr.Leaves, vecLeaf{Entry: e, CanonicalHex: hx(c), LeafHashHex: hx(lh[:])})
	}
	tree := buildTree(t, leaves)
	n := int64(len(leaves))
	root, err := tlog.TreeHash(n, tree)
	if err != nil {
		t.Fatal(err)
	}
	tr.TreeSize, tr.RootHashHex = n, hx(root[:])
	body := fmt.Sprintf("%s\n%d\n%s\n", vecOrigin, n, b64std(root[:]))
	cp, err := note.Sign(&note.Note{Text: body}, signer)
	if err != nil {
		t.Fatal(err)
	}
	tr.Checkpoint, tr.CheckpointBody = string(cp), body
	parts := strings.SplitN(vkey, "+", 3)
	pub, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(pub) != 33 || pub[0] != 1 {
		t.Fatalf("verifier key %q", vkey)
	}
	tr.VerifierPublicHex = hx(pub[1:])
	rogueCP, _ := note.Sign(&note.Note{Text: body}, rogue)
	otherLog, _ := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n%d\n%s\n", "haven.audit/ffffffffffffffffffffffffffffffff", n, b64std(root[:]))}, signer)

	device := func(id vecIdentity, e DirectoryEntry) DirectoryDevice {
		seq, _ := parseDecimal(e.Seq)
		p, err := tlog.ProveRecord(n, seq-1, tree)
		if err != nil {
			t.Fatal(err)
		}
		d := DirectoryDevice{DeviceID: id.Device, SignKey: B64(id.dev.SignKey), AgreeKey: id.dev.AgreeKey.Bytes(), Entry: e}
		for _, h := range p {
			d.Proof = append(d.Proof, slices.Clone(h[:]))
		}
		return d
	}
	laptop := device(ids["alice-laptop"], entries[2])
	phone := device(ids["alice-phone"], entries[4])
	swapped := laptop
	swapped.SignKey = B64(ids["carol"].dev.SignKey)
	swappedBoth := swapped
	swappedBoth.AgreeKey = ids["carol"].dev.AgreeKey.Bytes()
	swappedBoth.Entry.Reason = LeafReason(swappedBoth.SignKey, swappedBoth.AgreeKey)
	tampered := laptop
	tampered.Entry.RequestID = "req-33"
	wrongIndex := laptop
	wrongIndex.Entry.Seq = "4"
	shortProof := laptop
	shortProof.Proof = laptop.Proof[:len(laptop.Proof)-1]
	removal := laptop
	removal.Entry.Action = ActionKeyRemove

	for _, c := range []struct {
		name, owner string
		d           DirectoryDevice
		cp          []byte
		want        string
	}{
		{"alice laptop, a middle leaf", "acct-alice", laptop, cp, "ok"},
		{"alice phone, the last leaf", "acct-alice", phone, cp, "ok"},
		{"another owner claims the device", "acct-carol", laptop, cp, "keyNotInEntry"},
		{"signing key swapped, entry kept", "acct-alice", swapped, cp, "keyNotInEntry"},
		{"keys and reason swapped together", "acct-alice", swappedBoth, cp, "notInLog"},
		{"entry's request id tampered", "acct-alice", tampered, cp, "notInLog"},
		{"entry's seq moved", "acct-alice", wrongIndex, cp, "notInLog"},
		{"proof cut short", "acct-alice", shortProof, cp, "notInLog"},
		{"a removal served as a key", "acct-alice", removal, cp, "keyNotInEntry"},
		{"checkpoint signed by another key", "acct-alice", laptop, rogueCP, "badCheckpoint"},
		{"checkpoint of another log", "acct-alice", laptop, otherLog, "badCheckpoint"},
	} {
		tr.Cases = append(tr.Cases, vecKTCase{Name: c.name, Owner: c.owner, Device: mustJSON(t, c.d), Checkpoint: string(c.cp), Want: c.want})
	}
	return tr
}

func buildVectors(t testing.TB) vectorFile {
	t.Helper()
	ids := vectorIdentities(t)
	vf := vectorFile{Encoding: vectorEncoding}
	for _, n := range vecOrder {
		vf.Devices = append(vf.Devices, ids[n].vecDevice)
	}

	alice := Person{Account: "acct-alice", SignKeys: [][]byte{ids["alice-phone"].dev.SignKey, ids["alice-laptop"].dev.SignKey}}
	rivera := Person{Account: "acct-rivera", SignKeys: [][]byte{ids["rivera"].dev.SignKey}}
	aliceOne := Person{Account: "acct-alice", SignKeys: [][]byte{ids["alice-laptop"].dev.SignKey}}
	vf.SafetyNumbers = []vecSafety{
		safetyVector(t, "patient with two devices and clinician", rivera, alice),
		safetyVector(t, "patient with one device and clinician", aliceOne, rivera),
	}

	thread := "visit.v-123"
	sentAt := time.Date(2026, 11, 30, 9, 12, 3, 0, time.UTC)
	to := []string{"alice-phone", "rivera", "alice-laptop"}
	s1, env1 := sealVector(t, ids, "message 1", "rivera", thread, 1, sentAt, "Take one tablet twice a day.", to)
	s2, env2 := sealVector(t, ids, "message 2", "rivera", thread, 2, sentAt.Add(time.Minute), "Call us if the rash spreads.", to)
	vf.Seal = []vecSeal{s1, s2}

	riveraKeys, carolKeys := ids["rivera"].keys, ids["carol"].keys
	flip := func(b B64) { b[len(b)/2] ^= 0x01 }
	step := func(env Envelope, want, plain string) vecStep {
		return vecStep{Envelope: mustJSON(t, env), Want: want, Plaintext: plain}
	}
	ok1, ok2 := step(env1, "ok", s1.Plaintext), step(env2, "ok", s2.Plaintext)
	open := func(name, recipient, asked string, steps ...vecStep) vecOpen {
		return vecOpen{Name: name, Recipient: recipient, Sender: "rivera", Thread: asked, Steps: steps}
	}
	vf.Open = []vecOpen{
		open("valid, in order", "alice-laptop", thread, ok1, ok2),
		open("valid, the sender's own device", "rivera", thread, ok1),
		open("valid after a gap", "alice-phone", thread, ok2),
		open("ciphertext altered", "alice-laptop", thread,
			step(mutate(env1, func(e *Envelope) { flip(e.Ciphertext) }), "altered", ""), ok1),
		open("ciphertext altered and signed again by the sender", "alice-laptop", thread,
			step(resign(mutate(env1, func(e *Envelope) { flip(e.Ciphertext) }), riveraKeys), "altered", ""), ok1),
		open("wrapped key altered and signed again by the sender", "alice-laptop", thread,
			step(resign(mutate(env1, func(e *Envelope) { flip(e.Recipients[0].Wrapped) }), riveraKeys), "altered", "")),
		open("signature altered", "alice-laptop", thread,
			step(mutate(env1, func(e *Envelope) { flip(e.Sig) }), "altered", "")),
		open("signed by another device", "alice-laptop", thread,
			step(resign(env1, carolKeys), "altered", "")),
		open("seq raised without a new signature", "alice-laptop", thread,
			step(mutate(env1, func(e *Envelope) { e.Seq = 9 }), "altered", "")),
		open("replayed", "alice-laptop", thread, ok1, step(env1, "replayed", "")),
		open("reordered", "alice-laptop", thread, ok2, step(env1, "replayed", "")),
		open("wrong thread", "alice-laptop", "visit.v-999", step(env1, "wrongThread", "")),
		open("thread field rewritten", "alice-laptop", "visit.v-999",
			step(mutate(env1, func(e *Envelope) { e.Thread = "visit.v-999" }), "altered", "")),
		open("not a recipient", "carol", thread, step(env1, "notForMe", "")),
	}

	fileKey, fileIV := seedBytes("file key", 32), seedBytes("file iv", 12)
	fileData := []byte("%PDF-1.4\nlab result canary 7f3a\n")
	att, fct, err := SealFile(bytes.NewReader(slices.Concat(fileKey, fileIV)), "result.pdf", "application/pdf", fileData)
	if err != nil {
		t.Fatal(err)
	}
	vf.Files = []vecFile{{Name: att.Name, Type: att.Type, PlaintextHex: hx(fileData), KeyHex: hx(fileKey), IVHex: hx(fileIV),
		AADHex: hx([]byte(fileAAD)), SHA256: att.SHA256, CiphertextHex: hx(fct)}}

	fp := "sha-256 " + colonHex(seedBytes("dtls cert", 32))
	sdp := sampleSDP(fp)
	nonce := seedBytes("dtls nonce", NonceSize)
	desc, err := NewDescription(bytes.NewReader(nonce), riveraKeys, "v-123", "dev-rivera-1", "dev-alice-laptop", "offer", sdp)
	if err != nil {
		t.Fatal(err)
	}
	vf.DTLS = []vecDTLS{{Name: "clinician's offer to the patient", Signer: "rivera", VisitID: "v-123", From: "dev-rivera-1",
		To: "dev-alice-laptop", NonceHex: hx(nonce), Fingerprint: fp,
		SignedDataHex: hx(descriptionData("v-123", "dev-rivera-1", "dev-alice-laptop", nonce, fp)),
		SigHex:        hx(desc.Sig), Payload: mustJSON(t, desc)}}

	other := "sha-256 " + colonHex(seedBytes("relay cert", 32))
	vf.SDP = []vecSDP{
		{"session-level fingerprint", sdp, fp},
		{"same fingerprint repeated per media section", sampleSDP(fp, fp), fp},
		{"fingerprint only in a media section", sampleSDP("", fp), fp},
		{"no fingerprint", sampleSDP(""), ""},
		{"conflicting fingerprints", sampleSDP(fp, other), ""},
		{"sha-1 fingerprint", sampleSDP("sha-1 " + colonHex(seedBytes("sha1", 20))), ""},
		{"truncated fingerprint", sampleSDP(fp[:len(fp)-3]), ""},
	}

	vf.Transparency = transparencyVectors(t, ids)
	return vf
}

func b64std(b []byte) string {
	return base64.StdEncoding.EncodeToString(b)
}

func encodeVectors(t testing.TB, vf vectorFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(vf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestVectors regenerates the shared vectors and checks they are the file's (-update rewrites
// the file): the Go code reproduces every byte.
func TestVectors(t *testing.T) {
	got := encodeVectors(t, buildVectors(t))
	if *update {
		if err := os.MkdirAll(filepath.Dir(vectorsPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/consult/e2ee -run TestVectors -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what the code generates; if the protocol changed on purpose, run with -update and tell the JavaScript side", vectorsPath)
	}
}
