package smart_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/principal"
	"haven/internal/smart"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestRegisterValidation: a registration names the field to fix, and never takes a private
// key, a weak key, an http:// key address or dates that do not make an agreement.
func TestRegisterValidation(t *testing.T) {
	es, rs := newES384(t), newRS384(t)
	good := smart.NewClient{Name: "Acme Labs", JWKS: jwks(t, es), Scopes: "system/Observation.rs", Purpose: "TREAT",
		AgreementStart: "2026-01-01", AgreementEnd: "2026-12-31"}
	privateJWK := func() string {
		b, _ := jose.JSONWebKey{Key: es.priv, KeyID: "k"}.MarshalJSON()
		return `{"keys":[` + string(b) + `]}`
	}()
	weak := func() string {
		s := newRS384(t)
		s.priv, _ = rsaKey(t, 1024)
		return jwks(t, s)
	}()
	p256 := `{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`
	for _, tc := range []struct {
		name  string
		edit  func(*smart.NewClient)
		field string // "" means accepted
	}{
		{"a good registration", func(*smart.NewClient) {}, ""},
		{"an RSA key", func(n *smart.NewClient) { n.JWKS = jwks(t, rs) }, ""},
		{"a key set's https address", func(n *smart.NewClient) { n.JWKS, n.JWKSURL = "", "https://keys.acme.test/jwks.json" }, ""},
		{"v1 scopes", func(n *smart.NewClient) { n.Scopes = "system/Patient.read system/Observation.write" }, ""},
		{"one-day agreement", func(n *smart.NewClient) { n.AgreementEnd = n.AgreementStart }, ""},
		{"no name", func(n *smart.NewClient) { n.Name = "  " }, "name"},
		{"no keys", func(n *smart.NewClient) { n.JWKS = "" }, "jwks"},
		{"keys and an address", func(n *smart.NewClient) { n.JWKSURL = "https://keys.acme.test/jwks.json" }, "jwks"},
		{"keys not JSON", func(n *smart.NewClient) { n.JWKS = "not json" }, "jwks"},
		{"an empty key set", func(n *smart.NewClient) { n.JWKS = `{"keys":[]}` }, "jwks"},
		{"a private key", func(n *smart.NewClient) { n.JWKS = privateJWK }, "jwks"},
		{"a symmetric key", func(n *smart.NewClient) { n.JWKS = `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}` }, "jwks"},
		{"an RSA key under 2048 bits", func(n *smart.NewClient) { n.JWKS = weak }, "jwks"},
		{"a P-256 key", func(n *smart.NewClient) { n.JWKS = p256 }, "jwks"},
		{"an encryption key", func(n *smart.NewClient) { n.JWKS = strings.Replace(jwks(t, es), `"use":"sig"`, `"use":"enc"`, 1) }, "jwks"},
		{"an http address", func(n *smart.NewClient) { n.JWKS, n.JWKSURL = "", "http://keys.acme.test/jwks.json" }, "jwksUrl"},
		{"not an address", func(n *smart.NewClient) { n.JWKS, n.JWKSURL = "", "keys.acme.test" }, "jwksUrl"},
		{"a patient scope", func(n *smart.NewClient) { n.Scopes = "patient/Observation.rs" }, "scopes"},
		{"no scope", func(n *smart.NewClient) { n.Scopes = "" }, "scopes"},
		{"an unknown purpose", func(n *smart.NewClient) { n.Purpose = "MARKETING" }, "purpose"},
		{"a start that is no date", func(n *smart.NewClient) { n.AgreementStart = "01/01/2026" }, "agreementStart"},
		{"an end that is no date", func(n *smart.NewClient) { n.AgreementEnd = "2026-02-30" }, "agreementEnd"},
		{"an end before the start", func(n *smart.NewClient) { n.AgreementEnd = "2025-12-31" }, "agreementEnd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, storetest.Open(t, store.SQLite), nil)
			n := good
			tc.edit(&n)
			c, err := h.svc.Register(context.Background(), h.admin(), n, origin())
			if tc.field == "" {
				if err != nil || c.ID == "" {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			fe := fault.As(err)
			if fe == nil || fe.Kind != fault.Invalid || fe.Field != tc.field {
				t.Fatalf("err = %v, want invalid %s", err, tc.field)
			}
		})
	}
}

// TestRegistryIsAdministrators: only an administrator with a fresh second factor registers,
// lists or disables a connected system; each act is recorded.
func TestRegistryIsAdministrators(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db, nil)
		ctx := context.Background()
		id := h.register("system/Observation.rs", newES384(t))
		if e := h.lastEntry(); e[0] != "integration.manage" || e[1] != audit.Allow {
			t.Errorf("registration recorded as %v", e)
		}
		stale := h.admin()
		h.clock.Advance(10 * time.Minute)
		if _, err := h.svc.Clients(ctx, stale, origin()); !fault.Is(err, fault.StepUpRequired) {
			t.Errorf("list without a fresh factor: %v, want step-up", err)
		}
		clin := principal.Subject{AccountID: "acct-clin", Role: principal.Clinician, FactorAt: h.clock.Now()}
		if _, err := h.svc.SetDisabled(ctx, clin, id, true, origin()); !fault.Is(err, fault.Forbidden) {
			t.Errorf("a clinician disabled a system: %v", err)
		}
		list, err := h.svc.Clients(ctx, h.admin(), origin())
		if err != nil || len(list) != 1 || list[0].ID != id || list[0].Name != "Acme Labs" || list[0].JWKS == nil || list[0].Disabled {
			t.Fatalf("list = %+v, %v", list, err)
		}
		c, err := h.svc.SetDisabled(ctx, h.admin(), id, true, origin())
		if err != nil || !c.Disabled {
			t.Fatalf("disable = %+v, %v", c, err)
		}
		if _, err := h.svc.SetDisabled(ctx, h.admin(), "nosuchclient", true, origin()); !fault.Is(err, fault.NotFound) {
			t.Errorf("disable an unknown client: %v", err)
		}
		n := smart.NewClient{Name: "Acme Labs renewed", JWKSURL: "https://keys.acme.test/jwks", Scopes: "system/Observation.read",
			Purpose: "hpaymt", AgreementStart: "2026-01-01", AgreementEnd: "2028-12-31"}
		c, err = h.svc.Update(ctx, h.admin(), id, n, origin())
		if err != nil || c.Name != "Acme Labs renewed" || c.Scopes != "system/Observation.rs" || c.Purpose != "HPAYMT" || c.JWKS != nil || !c.Disabled {
			t.Fatalf("update = %+v, %v", c, err)
		}
		if name, ok, err := h.svc.ClientName(ctx, id); err != nil || !ok || name != "Acme Labs renewed" {
			t.Errorf("ClientName = %q %v %v", name, ok, err)
		}
		if _, ok, err := h.svc.ClientName(ctx, "acct-admin"); err != nil || ok {
			t.Errorf("ClientName of an account = %v %v", ok, err)
		}
		if dir, err := h.svc.Directory(ctx); err != nil || len(dir) != 1 || dir[0] != (smart.Named{ID: id, Name: "Acme Labs renewed"}) {
			t.Errorf("Directory = %v, %v", dir, err)
		}
	})
}

// TestTokenAndAuthenticate: a registered system signing with RS384 or ES384 gets a bearer
// token for its registered scopes (or fewer), which stands for it until it expires.
func TestTokenAndAuthenticate(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		for _, s := range []signer{newES384(t), newRS384(t)} {
			t.Run(string(s.alg), func(t *testing.T) {
				h := newHarness(t, db, nil)
				ctx := context.Background()
				id := h.register("system/Observation.rs system/Patient.read", s)
				tok, err := h.svc.Token(ctx, request(h.assertion(s, id, claims{}), ""), origin())
				if err != nil {
					t.Fatal(err)
				}
				if tok.TokenType != "bearer" || tok.ExpiresIn != 300 || tok.Scope != "system/Observation.rs system/Patient.rs" || len(tok.AccessToken) < 40 {
					t.Fatalf("token = %+v", tok)
				}
				if e := h.lastEntry(); e != [4]string{smart.ActionToken, audit.Success, id, smart.ReasonIssued} {
					t.Errorf("issued recorded as %v", e)
				}
				var stored int
				db.QueryRowContext(ctx, `SELECT COUNT(*) FROM smart_tokens WHERE token_hash = $1`, tok.AccessToken).Scan(&stored)
				if stored != 0 {
					t.Error("the token is stored in the clear")
				}
				sub, err := h.svc.Authenticate(ctx, tok.AccessToken, origin())
				if err != nil || sub.AccountID != id || sub.Role != principal.Integration || sub.Purpose != "TREAT" ||
					!sub.Scopes.Allow("Observation", principal.Search) || sub.Scopes.Allow("Observation", principal.Create) {
					t.Fatalf("Authenticate = %+v, %v", sub, err)
				}
				// A narrower request gets the narrower scopes.
				narrow, err := h.svc.Token(ctx, request(h.assertion(s, id, claims{}), "system/Observation.r"), origin())
				if err != nil || narrow.Scope != "system/Observation.r" {
					t.Fatalf("narrow token = %+v, %v", narrow, err)
				}
				sub, _ = h.svc.Authenticate(ctx, narrow.AccessToken, origin())
				if sub.Scopes.Allow("Observation", principal.Search) || sub.Scopes.Allow("Patient", principal.Read) {
					t.Errorf("a narrowed token allows %v", sub.Scopes)
				}
				h.clock.Advance(5*time.Minute + time.Second)
				if _, err := h.svc.Authenticate(ctx, tok.AccessToken, origin()); !fault.Is(err, fault.Unauthenticated) {
					t.Errorf("an expired token: %v, want unauthenticated", err)
				}
				for _, bad := range []string{"", "not-a-token", strings.Repeat("x", 4096)} {
					if _, err := h.svc.Authenticate(ctx, bad, origin()); !fault.Is(err, fault.Unauthenticated) {
						t.Errorf("token %.10q: %v, want unauthenticated", bad, err)
					}
				}
			})
		}
	})
}

// TestTokenRefusals names each attack on the token endpoint and checks that it is refused with
// the right OAuth error and recorded with its reason and the client (or "unknown") as actor.
func TestTokenRefusals(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db, nil)
		ctx := context.Background()
		s, other := newES384(t), newES384(t)
		rs := newRS384(t)
		id := h.register("system/Observation.rs", s, rs)
		hs := signer{alg: jose.HS256, kid: s.kid, priv: []byte("a shared secret of thirty-two by")}
		rs256 := rs
		rs256.alg = jose.RS256
		for _, tc := range []struct {
			name   string
			req    func() smart.TokenRequest
			code   string
			reason string
			actor  string
		}{
			{"wrong grant type", func() smart.TokenRequest {
				r := request(h.assertion(s, id, claims{}), "")
				r.GrantType = "password"
				return r
			}, "unsupported_grant_type", smart.ReasonBadRequest, "unknown"},
			{"no assertion type", func() smart.TokenRequest {
				r := request(h.assertion(s, id, claims{}), "")
				r.ClientAssertionType = ""
				return r
			}, "invalid_request", smart.ReasonBadRequest, "unknown"},
			{"HS256 with a guessed secret", func() smart.TokenRequest { return request(h.assertion(hs, id, claims{}), "") }, "invalid_client", smart.ReasonAlgorithm, "unknown"},
			{"RS256", func() smart.TokenRequest { return request(h.assertion(rs256, id, claims{}), "") }, "invalid_client", smart.ReasonAlgorithm, "unknown"},
			{"alg none", func() smart.TokenRequest { return request(unsigned(id), "") }, "invalid_client", smart.ReasonMalformedAssertion, "unknown"},
			{"garbage", func() smart.TokenRequest { return request("a.b.c", "") }, "invalid_client", smart.ReasonMalformedAssertion, "unknown"},
			{"unknown client", func() smart.TokenRequest { return request(h.assertion(s, "nosuchclient", claims{}), "") }, "invalid_client", smart.ReasonUnknownClient, "unknown"},
			{"iss is not sub", func() smart.TokenRequest { return request(h.assertion(s, id, claims{sub: "someone-else"}), "") }, "invalid_client", smart.ReasonUnknownClient, "unknown"},
			{"signed by another key", func() smart.TokenRequest {
				o := other
				o.kid = s.kid
				return request(h.assertion(o, id, claims{}), "")
			}, "invalid_client", smart.ReasonBadSignature, id},
			{"wrong audience", func() smart.TokenRequest {
				return request(h.assertion(s, id, claims{aud: []string{"https://elsewhere.test/token"}}), "")
			}, "invalid_client", smart.ReasonWrongAudience, id},
			{"expired", func() smart.TokenRequest { return request(h.assertion(s, id, claims{exp: -time.Second}), "") }, "invalid_client", smart.ReasonAssertionExpired, id},
			{"no exp", func() smart.TokenRequest { return request(h.assertion(s, id, claims{noExp: true}), "") }, "invalid_client", smart.ReasonAssertionExpired, id},
			{"exp an hour ahead", func() smart.TokenRequest { return request(h.assertion(s, id, claims{exp: time.Hour}), "") }, "invalid_client", smart.ReasonAssertionTooLong, id},
			{"scope outside the registration", func() smart.TokenRequest {
				return request(h.assertion(s, id, claims{}), "system/Patient.rs")
			}, "invalid_scope", smart.ReasonScopeNotRegistered, id},
			{"write where it may read", func() smart.TokenRequest {
				return request(h.assertion(s, id, claims{}), "system/Observation.c")
			}, "invalid_scope", smart.ReasonScopeNotRegistered, id},
			{"a user scope", func() smart.TokenRequest {
				return request(h.assertion(s, id, claims{}), "user/Observation.rs")
			}, "invalid_scope", smart.ReasonScopeMalformed, id},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := h.svc.Token(ctx, tc.req(), origin())
				var oe *smart.OAuthError
				if !errors.As(err, &oe) || oe.Code != tc.code {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
				if want := [4]string{smart.ActionToken, audit.Failure, tc.actor, tc.reason}; h.lastEntry() != want {
					t.Errorf("recorded %v, want %v", h.lastEntry(), want)
				}
			})
		}
	})
}

// TestReplayedAssertion: an assertion's jti is spent by its first use; the same assertion
// again, or a new one reusing the jti, is refused and recorded.
func TestReplayedAssertion(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db, nil)
		ctx := context.Background()
		s := newES384(t)
		id := h.register("system/Observation.rs", s)
		a := h.assertion(s, id, claims{jti: "once"})
		if _, err := h.svc.Token(ctx, request(a, ""), origin()); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Second)
		for _, again := range []string{a, h.assertion(s, id, claims{jti: "once"})} {
			_, err := h.svc.Token(ctx, request(again, ""), origin())
			var oe *smart.OAuthError
			if !errors.As(err, &oe) || oe.Code != "invalid_client" {
				t.Fatalf("replay: %v", err)
			}
			if e := h.lastEntry(); e != [4]string{smart.ActionToken, audit.Failure, id, smart.ReasonReplayed} {
				t.Errorf("replay recorded as %v", e)
			}
		}
		// Another client may use the same jti: ids are the client's own.
		s2 := newES384(t)
		id2 := h.register("system/Observation.rs", s2)
		if _, err := h.svc.Token(ctx, request(h.assertion(s2, id2, claims{jti: "once"}), ""), origin()); err != nil {
			t.Errorf("another client's jti: %v", err)
		}
	})
}

// TestLapsedAgreementAndDisabledClient: a client outside its agreement's dates, or disabled,
// gets no token, and a token it already holds stops working (403, recorded).
func TestLapsedAgreementAndDisabledClient(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db, nil)
		ctx := context.Background()
		s := newES384(t)
		id := h.register("system/Observation.rs", s)
		tok, err := h.svc.Token(ctx, request(h.assertion(s, id, claims{}), ""), origin())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.SetDisabled(ctx, h.admin(), id, true, origin()); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Authenticate(ctx, tok.AccessToken, origin()); !errors.Is(err, smart.ErrClientDisabled) {
			t.Errorf("a disabled client's token: %v", err)
		}
		if e := h.lastEntry(); e != [4]string{smart.ActionAccess, audit.Failure, id, smart.ReasonDisabled} {
			t.Errorf("recorded %v", e)
		}
		_, err = h.svc.Token(ctx, request(h.assertion(s, id, claims{}), ""), origin())
		if oe := new(smart.OAuthError); !errors.As(err, &oe) || oe.Code != "invalid_client" || h.lastEntry()[3] != smart.ReasonDisabled {
			t.Errorf("a disabled client got a token: %v", err)
		}
		if _, err := h.svc.SetDisabled(ctx, h.admin(), id, false, origin()); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Authenticate(ctx, tok.AccessToken, origin()); err != nil {
			t.Errorf("enabled again: %v", err)
		}
		// The agreement ends on 2027-12-31: the next day, the token it holds and any new one are refused.
		n := smart.NewClient{Name: "Acme Labs", JWKS: jwks(t, s), Scopes: "system/Observation.rs", Purpose: "TREAT",
			AgreementStart: "2025-01-01", AgreementEnd: "2026-11-24"}
		if _, err := h.svc.Update(ctx, h.admin(), id, n, origin()); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Authenticate(ctx, tok.AccessToken, origin()); err != nil {
			t.Errorf("on the agreement's last day: %v", err)
		}
		h.clock.Advance(14*time.Hour + 58*time.Minute) // 23:58 UTC on the last day
		tok, err = h.svc.Token(ctx, request(h.assertion(s, id, claims{}), ""), origin())
		if err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(3 * time.Minute) // 2026-11-25 00:01 UTC: the token has not expired
		if _, err := h.svc.Authenticate(ctx, tok.AccessToken, origin()); !errors.Is(err, smart.ErrAgreementLapsed) {
			t.Errorf("after the agreement's last day: %v", err)
		}
		if e := h.lastEntry(); e != [4]string{smart.ActionAccess, audit.Failure, id, smart.ReasonLapsed} {
			t.Errorf("recorded %v", e)
		}
		_, err = h.svc.Token(ctx, request(h.assertion(s, id, claims{}), ""), origin())
		var oe *smart.OAuthError
		if !errors.As(err, &oe) || oe.Code != "invalid_client" || !strings.Contains(oe.Description, "agreement") || !strings.Contains(oe.Description, "lapsed") {
			t.Errorf("token after the agreement: %v", err)
		}
		if e := h.lastEntry(); e != [4]string{smart.ActionToken, audit.Failure, id, smart.ReasonLapsed} {
			t.Errorf("recorded %v", e)
		}
	})
}

// TestKeysFromURL: a client that publishes its key set gets tokens signed by the published
// keys, which Haven fetches over https; a key set it cannot fetch refuses, recorded.
func TestKeysFromURL(t *testing.T) {
	s := newRS384(t)
	set := jwks(t, s)
	var down atomic.Bool
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(set))
	}))
	defer ts.Close()
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newHarness(t, db, ts.Client())
		ctx := context.Background()
		c, err := h.svc.Register(ctx, h.admin(), smart.NewClient{Name: "Acme Labs", JWKSURL: ts.URL + "/jwks.json",
			Scopes: "system/*.rs", Purpose: "HOPERAT", AgreementStart: "2026-01-01", AgreementEnd: "2027-12-31"}, origin())
		if err != nil {
			t.Fatal(err)
		}
		down.Store(false)
		if _, err := h.svc.Token(ctx, request(h.assertion(s, c.ID, claims{}), ""), origin()); err != nil {
			t.Fatalf("token with fetched keys: %v", err)
		}
		down.Store(true)
		if _, err := h.svc.Token(ctx, request(h.assertion(s, c.ID, claims{}), ""), origin()); err == nil || h.lastEntry()[3] != smart.ReasonKeysUnavailable {
			t.Errorf("keys unavailable: %v, %v", err, h.lastEntry())
		}
	})
}

// unsigned is an "alg":"none" assertion for clientID.
func unsigned(clientID string) string {
	enc := base64.RawURLEncoding.EncodeToString
	exp := time.Date(2026, 11, 24, 9, 4, 0, 0, time.UTC).Unix()
	payload := fmt.Sprintf(`{"iss":%q,"sub":%q,"aud":%q,"jti":"x","exp":%d}`, clientID, clientID, tokenURL, exp)
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc([]byte(payload)) + "."
}

// rsaKey is an RSA key of the given size (a weak one, for the refusal).
func rsaKey(t testing.TB, bits int) (*rsa.PrivateKey, error) {
	t.Helper()
	return rsa.GenerateKey(rand.Reader, bits)
}

// TestTokenFloodIsThrottled: past TokenRequestsPerAddr requests in a minute from one address,
// the token endpoint refuses before reading the assertion, and says so in the log; other
// addresses are served, and the address is served again a minute later.
func TestTokenFloodIsThrottled(t *testing.T) {
	h := newHarness(t, storetest.Open(t, store.SQLite), nil)
	ctx := context.Background()
	s := newES384(t)
	id := h.register("system/Observation.rs", s)
	for i := 0; i < smart.TokenRequestsPerAddr; i++ {
		if _, err := h.svc.Token(ctx, request("a.b.c", ""), origin()); !errors.As(err, new(*smart.OAuthError)) {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if _, err := h.svc.Token(ctx, request(h.assertion(s, id, claims{}), ""), origin()); !fault.Is(err, fault.Throttled) {
		t.Fatalf("past the limit: %v, want throttled", err)
	}
	if e := h.lastEntry(); e != [4]string{smart.ActionToken, audit.Failure, "unknown", smart.ReasonThrottled} {
		t.Errorf("recorded %v", e)
	}
	other := principal.Origin{Addr: "203.0.113.9", RequestID: "test"}
	if _, err := h.svc.Token(ctx, request(h.assertion(s, id, claims{}), ""), other); err != nil {
		t.Errorf("another address: %v", err)
	}
	h.clock.Advance(time.Minute + time.Second)
	if _, err := h.svc.Token(ctx, request(h.assertion(s, id, claims{}), ""), origin()); err != nil {
		t.Errorf("a minute later: %v", err)
	}
}
