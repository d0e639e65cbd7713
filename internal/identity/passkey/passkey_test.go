package passkey_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"haven/internal/identity/passkey"
	"haven/internal/identity/passkey/passkeytest"
	"haven/internal/keys"
)

const (
	rpID   = "haven.test"
	origin = "https://haven.test"
)

func newRP(t *testing.T) *passkey.RelyingParty {
	t.Helper()
	rp, err := passkey.New(passkey.Config{RPID: rpID, Origin: origin, DisplayName: "Haven"})
	if err != nil || rp == nil {
		t.Fatalf("New = %v, %v", rp, err)
	}
	return rp
}

func TestOffWithoutAHost(t *testing.T) {
	for _, cfg := range []passkey.Config{{}, {RPID: rpID}, {Origin: origin}} {
		if rp, err := passkey.New(cfg); rp != nil || err != nil {
			t.Errorf("New(%+v) = %v, %v; want passkeys off", cfg, rp, err)
		}
	}
}

func TestCleanName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Phone", "Phone"},
		{"  Work laptop \t", "Work laptop"},
		{"", passkey.DefaultName},
		{"   ", passkey.DefaultName},
		{strings.Repeat("é", 60), strings.Repeat("é", 60)}, // 60 characters, 120 bytes
		{strings.Repeat("x", 61), ""},
		{"Phone\nSecond line", ""},
		{"Phone\r", "Phone"}, // trimmed
		{"Ph\rone", ""},
		{"Ph\x00one", ""},
	} {
		got, err := passkey.CleanName(tc.in)
		if tc.want == "" {
			if !errors.Is(err, passkey.ErrName) {
				t.Errorf("CleanName(%q) = %q, %v; want ErrName", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CleanName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// register runs a registration ceremony for u with a and adds the credential to u.
func register(t *testing.T, rp *passkey.RelyingParty, u *passkey.User, a *passkeytest.Authenticator) {
	t.Helper()
	ch, err := rp.BeginRegistration(u)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Create(ch.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := rp.FinishRegistration(u, ch.Session, marshal(t, resp))
	if err != nil {
		t.Fatalf("FinishRegistration = %v", err)
	}
	u.Credentials = append(u.Credentials, *cred)
}

// TestCeremonies runs each ceremony against a software authenticator, and the answers a
// relying party must refuse: another site's (phishing), another account's, and garbage.
func TestCeremonies(t *testing.T) {
	rp := newRP(t)
	phone := &passkeytest.Authenticator{Origin: origin}
	u := &passkey.User{AccountID: "acct-1", Name: "ada@haven.test"}
	register(t, rp, u, phone)

	t.Run("registering the same authenticator again is excluded", func(t *testing.T) {
		ch, err := rp.BeginRegistration(u)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(marshal(t, ch.PublicKey), []byte(passkey.ID(&u.Credentials[0]))) {
			t.Fatal("the registration options do not exclude the credential already held")
		}
	})

	t.Run("verification", func(t *testing.T) {
		ch, err := rp.BeginVerification(u)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := phone.Get(ch.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		cred, err := rp.FinishVerification(u, ch.Session, marshal(t, resp))
		if err != nil {
			t.Fatalf("FinishVerification = %v", err)
		}
		used, ok := u.Used(cred)
		if !ok || used.Authenticator.SignCount != 1 {
			t.Fatalf("Used = %+v, %v; want the stored credential with sign count 1", used.Authenticator, ok)
		}
		if _, ok := (&passkey.User{AccountID: "acct-2"}).Used(cred); ok {
			t.Fatal("Used found the credential on another account")
		}
	})

	t.Run("passwordless sign-in", func(t *testing.T) {
		ch, err := rp.BeginSignIn()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := phone.Get(ch.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		lookup := func(id string) (*passkey.User, error) {
			if id != u.AccountID {
				return nil, errors.New("no such account")
			}
			return u, nil
		}
		got, _, err := rp.FinishSignIn(ch.Session, marshal(t, resp), lookup)
		if err != nil || got != u {
			t.Fatalf("FinishSignIn = %v, %v", got, err)
		}
		// The same answer for an account that does not hold the credential.
		other := func(string) (*passkey.User, error) { return &passkey.User{AccountID: u.AccountID}, nil }
		if _, _, err := rp.FinishSignIn(ch.Session, marshal(t, resp), other); !errors.Is(err, passkey.ErrUnverified) {
			t.Fatalf("sign-in with a credential the account lacks = %v, want ErrUnverified", err)
		}
	})

	t.Run("refused answers", func(t *testing.T) {
		ch, err := rp.BeginVerification(u)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := phone.Get(ch.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		phone.Origin = "https://haven.example.net" // a look-alike site relaying the challenge
		relayed, err := phone.Get(ch.PublicKey)
		phone.Origin = origin
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name     string
			response []byte
			want     error
		}{
			{"another origin", marshal(t, relayed), passkey.ErrUnverified},
			{"not JSON", []byte("{"), passkey.ErrMalformed},
			{"an empty object", []byte("{}"), passkey.ErrMalformed},
		} {
			if _, err := rp.FinishVerification(u, ch.Session, tc.response); !errors.Is(err, tc.want) {
				t.Errorf("%s: FinishVerification = %v, want %v", tc.name, err, tc.want)
			}
		}
		// The genuine answer, for another account's ceremony.
		if _, err := rp.FinishVerification(&passkey.User{AccountID: "acct-2"}, ch.Session, marshal(t, resp)); !errors.Is(err, passkey.ErrUnverified) {
			t.Errorf("another account: FinishVerification = %v, want ErrUnverified", err)
		}
	})
}

// sealer binds a ciphertext to its location, as the key service does with associated data.
type sealer struct{}

func (sealer) SealDirectory(loc keys.Location, pt []byte) ([]byte, error) {
	return append([]byte(loc.Table+"|"+loc.Row+"|"+loc.Field+"|"), pt...), nil
}

func (sealer) OpenDirectory(loc keys.Location, ct []byte) ([]byte, error) {
	prefix := []byte(loc.Table + "|" + loc.Row + "|" + loc.Field + "|")
	if !bytes.HasPrefix(ct, prefix) {
		return nil, errors.New("sealed for another location")
	}
	return ct[len(prefix):], nil
}

// TestSealedCredentialIsBoundToItsRow: a stored credential opens only for the account and
// credential ID it was sealed for, so a row moved onto another account (to sign in as it) does
// not open.
func TestSealedCredentialIsBoundToItsRow(t *testing.T) {
	rp := newRP(t)
	u := &passkey.User{AccountID: "acct-1", Name: "ada@haven.test"}
	register(t, rp, u, &passkeytest.Authenticator{Origin: origin})
	id, sealed, err := passkey.SealCredential(sealer{}, u.AccountID, &u.Credentials[0])
	if err != nil || id != passkey.ID(&u.Credentials[0]) {
		t.Fatalf("SealCredential = %q, %v", id, err)
	}
	c, err := passkey.OpenCredential(sealer{}, u.AccountID, id, sealed)
	if err != nil || !bytes.Equal(c.PublicKey, u.Credentials[0].PublicKey) {
		t.Fatalf("OpenCredential = %v; public key kept: %v", err, bytes.Equal(c.PublicKey, u.Credentials[0].PublicKey))
	}
	if _, err := passkey.OpenCredential(sealer{}, "acct-2", id, sealed); err == nil {
		t.Error("a credential opened for another account")
	}
	if _, err := passkey.OpenCredential(sealer{}, u.AccountID, "another-id", sealed); err == nil {
		t.Error("a credential opened under another credential ID")
	}
	name, err := passkey.SealName(sealer{}, u.AccountID, id, "Phone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passkey.OpenCredential(sealer{}, u.AccountID, id, name); err == nil {
		t.Error("a name opened as a credential")
	}
	if got, err := passkey.OpenName(sealer{}, u.AccountID, id, name); err != nil || got != "Phone" {
		t.Errorf("OpenName = %q, %v", got, err)
	}
}
