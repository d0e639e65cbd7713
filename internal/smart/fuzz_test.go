package smart_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"

	"haven/internal/fault"
	"haven/internal/principal"
	"haven/internal/smart"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// FuzzToken feeds the token endpoint arbitrary assertions and scopes: whatever arrives, it
// answers with an OAuth error (never a panic, never a token) unless the assertion is signed by
// the registered key.
func FuzzToken(f *testing.F) {
	h := newHarness(f, storetest.Open(f, store.SQLite), nil)
	s := newES384(f)
	c, err := h.svc.Register(context.Background(), principal.Subject{AccountID: "acct-admin", Role: principal.Admin, FactorAt: h.clock.Now()},
		smart.NewClient{Name: "Acme Labs", JWKS: jwks(f, s), Scopes: "system/Observation.rs", Purpose: "TREAT",
			AgreementStart: "2026-01-01", AgreementEnd: "2027-12-31"}, origin())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signAssertion(f, s, h.clock.Now(), c.ID, claims{}), "")
	f.Add(signAssertion(f, newES384(f), h.clock.Now(), c.ID, claims{}), "system/Observation.r")
	f.Add(unsigned(c.ID), "system/*.*")
	f.Add("eyJhbGciOiJFUzM4NCJ9.e30.", "patient/x")
	f.Add("a.b.c.d.e", "system/Observation.rs")
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, assertion, scope string) {
		// Each input from an address of its own: the per-address throttle is tested apart.
		o := principal.Origin{Addr: "198.51.100." + strconv.FormatInt(n.Add(1), 10), RequestID: "fuzz"}
		tok, err := h.svc.Token(context.Background(), request(assertion, scope), o)
		if err == nil {
			if tok.AccessToken == "" {
				t.Fatal("no error and no token")
			}
			return
		}
		var oe *smart.OAuthError
		if !errors.As(err, &oe) || oe.Code == "" || oe.Status < 400 {
			t.Fatalf("not an OAuth error: %v", err)
		}
	})
}

// FuzzRegisterKeys feeds a registration arbitrary key sets: each is accepted only as a set of
// public keys, or refused as invalid input naming the field.
func FuzzRegisterKeys(f *testing.F) {
	h := newHarness(f, storetest.Open(f, store.SQLite), nil)
	f.Add(jwks(f, newES384(f)))
	f.Add(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)
	f.Add(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`)
	f.Add(`{"keys":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, set string) {
		admin := principal.Subject{AccountID: "acct-admin", Role: principal.Admin, FactorAt: h.clock.Now()}
		c, err := h.svc.Register(context.Background(), admin, smart.NewClient{Name: "Fuzz", JWKS: set, Scopes: "system/Observation.rs",
			Purpose: "TREAT", AgreementStart: "2026-01-01", AgreementEnd: "2027-12-31"}, origin())
		if err != nil {
			if fe := fault.As(err); fe == nil || fe.Kind != fault.Invalid || fe.Field != "jwks" {
				t.Fatalf("refused as %v", err)
			}
			return
		}
		for _, k := range c.JWKS["keys"].([]any) {
			if _, private := k.(map[string]any)["d"]; private {
				t.Fatalf("a private key was registered: %s", set)
			}
		}
	})
}
