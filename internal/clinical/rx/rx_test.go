package rx_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"haven/internal/clinical/rx"
	"haven/internal/identity/passkey/passkeytest"
)

var update = flag.Bool("update", false, "write new test vectors into testdata")

// vector is a signed prescription as an offline verifier receives it.
type vector struct {
	Name      string       `json:"name"`
	Header    vectorHeader `json:"header"`
	Content   rx.Content   `json:"content"`
	Canonical string       `json:"canonical"`
	Digest    string       `json:"digest"`
	Signature rx.Signature `json:"signature"`
	Leaf      string       `json:"leaf"`
	Key       string       `json:"fingerprint"`
}

type vectorHeader struct {
	PrescriptionID string    `json:"prescriptionId"`
	PatientID      string    `json:"patientId"`
	PrescriberID   string    `json:"prescriberId"`
	IssuedAt       time.Time `json:"issuedAt"`
}

func (h vectorHeader) header() rx.Header {
	return rx.Header{PrescriptionID: h.PrescriptionID, PatientID: h.PatientID, PrescriberID: h.PrescriberID, IssuedAt: h.IssuedAt}
}

func sampleContent() (vectorHeader, rx.Content) {
	return vectorHeader{PrescriptionID: "rx-test-1", PatientID: "patient-test-1", PrescriberID: "clinician-test-1",
			IssuedAt: time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)},
		rx.Content{Medication: "Amoxicillin", Code: "723", CodeSystem: "http://www.nlm.nih.gov/research/umls/rxnorm",
			Strength: "500 mg", Form: "capsule", Dose: "1 capsule", Route: "oral", Frequency: "three times a day",
			Quantity: "21 capsules", Refills: 0, Notes: "Synthetic <test> & data"}
}

// passkeyVector signs the sample with a software passkey, as a browser would.
func passkeyVector(t *testing.T) vector {
	h, c := sampleContent()
	canon := rx.Canonical(h.header(), c)
	digest := rx.Digest(canon)
	a := &passkeytest.Authenticator{Origin: "https://haven.test"}
	b64 := base64.RawURLEncoding
	created, err := a.Create(map[string]any{"challenge": b64.EncodeToString([]byte("registration")),
		"rp": map[string]any{"id": "haven.test"}, "user": map[string]any{"id": b64.EncodeToString([]byte("clinician-test-1"))}})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(created)
	parsed, err := protocol.ParseCredentialCreationResponseBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	cose := parsed.Response.AttestationObject.AuthData.AttData.CredentialPublicKey
	got, err := a.Get(map[string]any{"challenge": b64.EncodeToString(digest), "rpId": "haven.test"})
	if err != nil {
		t.Fatal(err)
	}
	resp := got["response"].(map[string]any)
	dec := func(k string) []byte {
		b, err := b64.DecodeString(resp[k].(string))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	id, _ := b64.DecodeString(got["rawId"].(string))
	sig := rx.Signature{Method: rx.MethodPasskey, PublicKey: cose, CredentialID: id,
		AuthenticatorData: dec("authenticatorData"), ClientDataJSON: dec("clientDataJSON"), Signature: dec("signature")}
	return vector{Name: "passkey", Header: h, Content: c, Canonical: string(canon), Digest: b64.EncodeToString(digest),
		Signature: sig, Leaf: rx.LeafReason(sig.Alg(), cose), Key: rx.Fingerprint(cose)}
}

// keyVector signs the sample with a fixed Ed25519 seed, as the key service would.
func keyVector() vector {
	h, c := sampleContent()
	canon := rx.Canonical(h.header(), c)
	digest := rx.Digest(canon)
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	sig := rx.Signature{Method: rx.MethodKey, PublicKey: pub, Signature: ed25519.Sign(priv, digest)}
	return vector{Name: "key", Header: h, Content: c, Canonical: string(canon),
		Digest: base64.RawURLEncoding.EncodeToString(digest), Signature: sig, Leaf: rx.LeafReason(sig.Alg(), pub), Key: rx.Fingerprint(pub)}
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	path := filepath.Join("testdata", "vectors.json")
	if *update {
		vs := []vector{passkeyVector(t), keyVector()}
		raw, err := json.MarshalIndent(vs, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestPrescriptionSignatureVerifiesOffline checks the stored vectors with this package alone:
// the canonical bytes are rebuilt from the content, and the signature verifies over them.
func TestPrescriptionSignatureVerifiesOffline(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			canon := rx.Canonical(v.Header.header(), v.Content)
			if string(canon) != v.Canonical {
				t.Fatalf("canonical form changed:\n got %s\nwant %s", canon, v.Canonical)
			}
			if got := base64.RawURLEncoding.EncodeToString(rx.Digest(canon)); got != v.Digest {
				t.Fatalf("digest %s, want %s", got, v.Digest)
			}
			if err := rx.Verify(canon, v.Signature); err != nil {
				t.Fatalf("the vector does not verify: %v", err)
			}
			if got := rx.LeafReason(v.Signature.Alg(), v.Signature.PublicKey); got != v.Leaf {
				t.Fatalf("leaf %q, want %q", got, v.Leaf)
			}
			if got := rx.Fingerprint(v.Signature.PublicKey); got != v.Key {
				t.Fatalf("fingerprint %q, want %q", got, v.Key)
			}
		})
	}
}

// TestTamperedPrescriptionFailsOffline changes one thing a pharmacist relies on at a time, and
// then one byte of each part of the signature: nothing verifies.
func TestTamperedPrescriptionFailsOffline(t *testing.T) {
	for _, v := range loadVectors(t) {
		edits := []struct {
			name string
			edit func(h *vectorHeader, c *rx.Content, s *rx.Signature)
		}{
			{"medication", func(_ *vectorHeader, c *rx.Content, _ *rx.Signature) { c.Medication = "Amoxicillin " }},
			{"quantity", func(_ *vectorHeader, c *rx.Content, _ *rx.Signature) { c.Quantity = "210 capsules" }},
			{"refills", func(_ *vectorHeader, c *rx.Content, _ *rx.Signature) { c.Refills = 5 }},
			{"schedule", func(_ *vectorHeader, c *rx.Content, _ *rx.Signature) { c.Schedule = "II" }},
			{"patient", func(h *vectorHeader, _ *rx.Content, _ *rx.Signature) { h.PatientID = "patient-test-2" }},
			{"issued", func(h *vectorHeader, _ *rx.Content, _ *rx.Signature) { h.IssuedAt = h.IssuedAt.Add(time.Hour) }},
			{"signature", func(_ *vectorHeader, _ *rx.Content, s *rx.Signature) { s.Signature[len(s.Signature)/2] ^= 1 }},
			{"key", func(_ *vectorHeader, _ *rx.Content, s *rx.Signature) { s.PublicKey[len(s.PublicKey)-1] ^= 1 }},
		}
		if v.Signature.Method == rx.MethodPasskey {
			edits = append(edits,
				struct {
					name string
					edit func(h *vectorHeader, c *rx.Content, s *rx.Signature)
				}{"authenticator data", func(_ *vectorHeader, _ *rx.Content, s *rx.Signature) { s.AuthenticatorData[33] ^= 1 }},
				struct {
					name string
					edit func(h *vectorHeader, c *rx.Content, s *rx.Signature)
				}{"client data", func(_ *vectorHeader, _ *rx.Content, s *rx.Signature) {
					s.ClientDataJSON = []byte(string(s.ClientDataJSON[:len(s.ClientDataJSON)-1]) + ` }`)
				}},
				struct {
					name string
					edit func(h *vectorHeader, c *rx.Content, s *rx.Signature)
				}{"not verified", func(_ *vectorHeader, _ *rx.Content, s *rx.Signature) { s.AuthenticatorData[32] &^= 0x04 }})
		}
		for _, e := range edits {
			t.Run(v.Name+"/"+e.name, func(t *testing.T) {
				h, c := v.Header, v.Content
				s := clone(v.Signature)
				e.edit(&h, &c, &s)
				if err := rx.Verify(rx.Canonical(h.header(), c), s); err == nil {
					t.Fatal("a tampered prescription verified")
				}
			})
		}
	}
}

func clone(s rx.Signature) rx.Signature {
	cp := func(b []byte) []byte { return append([]byte(nil), b...) }
	return rx.Signature{Method: s.Method, PublicKey: cp(s.PublicKey), CredentialID: cp(s.CredentialID),
		AuthenticatorData: cp(s.AuthenticatorData), ClientDataJSON: cp(s.ClientDataJSON), Signature: cp(s.Signature)}
}

func TestCanonicalIsSortedAndCompact(t *testing.T) {
	h, c := sampleContent()
	got := string(rx.Canonical(h.header(), c))
	want := `{"code":"723","codeSystem":"http://www.nlm.nih.gov/research/umls/rxnorm","dose":"1 capsule","form":"capsule","frequency":"three times a day","issuedAt":"2026-11-24T09:30:00Z","medication":"Amoxicillin","notes":"Synthetic <test> & data","patientId":"patient-test-1","prescriberId":"clinician-test-1","prescriptionId":"rx-test-1","quantity":"21 capsules","refills":0,"route":"oral","schedule":"","strength":"500 mg","version":"haven-rx/1"}`
	if got != want {
		t.Fatalf("canonical form:\n got %s\nwant %s", got, want)
	}
}

// FuzzVerify feeds untrusted signatures (client data, COSE keys, authenticator data) to the
// verifier: it must never panic, and never accept.
func FuzzVerify(f *testing.F) {
	h, c := sampleContent()
	canon := rx.Canonical(h.header(), c)
	f.Add([]byte(`{"type":"webauthn.get","challenge":"x"}`), []byte{0xa1}, make([]byte, 37), []byte{1})
	f.Fuzz(func(t *testing.T, clientData, cose, authData, sig []byte) {
		err := rx.Verify(canon, rx.Signature{Method: rx.MethodPasskey, PublicKey: cose, AuthenticatorData: authData, ClientDataJSON: clientData, Signature: sig})
		if err == nil {
			t.Fatal("a made-up assertion verified")
		}
		if !errors.Is(err, rx.ErrBadSignature) && !errors.Is(err, rx.ErrMalformed) {
			t.Fatalf("unexpected error: %v", err)
		}
	})
}
