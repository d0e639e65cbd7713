package smart_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/ids"
	"haven/internal/principal"
	"haven/internal/smart"
	"haven/internal/store"
)

const tokenURL = "https://haven.test/fhir/R4/auth/token"

// harness is the smart service as server.New wires it (the real policy and audit log on a real
// database), with a clock the test moves.
type harness struct {
	t     testing.TB
	db    *store.DB
	svc   *smart.Service
	clock *clock
}

func newHarness(t testing.TB, db *store.DB, client *http.Client) *harness {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	door := guard.New(access.New(access.Relations{}), audit.New(db, c.Now), c.Now)
	return &harness{t: t, db: db, clock: c, svc: smart.New(db, door, smart.Config{TokenURL: tokenURL, HTTP: client}, c.Now)}
}

// admin is an administrator who passed a second factor a moment ago.
func (h *harness) admin() principal.Subject {
	return principal.Subject{AccountID: "acct-admin", Role: principal.Admin, FactorAt: h.clock.Now()}
}

func origin() principal.Origin { return principal.Origin{Addr: "192.0.2.7", RequestID: "test"} }

// signer is a connected system's key pair.
type signer struct {
	alg  jose.SignatureAlgorithm
	kid  string
	priv any
}

func newES384(t testing.TB) signer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{alg: jose.ES384, kid: ids.New(), priv: k}
}

func newRS384(t testing.TB) signer {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signer{alg: jose.RS384, kid: ids.New(), priv: k}
}

func (s signer) public() jose.JSONWebKey {
	var pub any
	switch k := s.priv.(type) {
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
	case *rsa.PrivateKey:
		pub = &k.PublicKey
	}
	return jose.JSONWebKey{Key: pub, KeyID: s.kid, Algorithm: string(s.alg), Use: "sig"}
}

// jwks is the public key set of signers, as JSON text.
func jwks(t testing.TB, ss ...signer) string {
	t.Helper()
	var set jose.JSONWebKeySet
	for _, s := range ss {
		set.Keys = append(set.Keys, s.public())
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// claims are an assertion's claims; fields left zero get the good defaults in assertion.
type claims struct {
	iss, sub, jti string
	aud           []string
	exp           time.Duration // from now; 0 means 4 minutes
	noExp         bool
}

// assertion signs a client assertion for clientID with s.
func (h *harness) assertion(s signer, clientID string, c claims) string {
	h.t.Helper()
	return signAssertion(h.t, s, h.clock.Now(), clientID, c)
}

func signAssertion(t testing.TB, s signer, now time.Time, clientID string, c claims) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", s.kid)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: s.alg, Key: s.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	cl := jwt.Claims{Issuer: clientID, Subject: clientID, ID: ids.New(), Audience: jwt.Audience{tokenURL}}
	if c.iss != "" {
		cl.Issuer = c.iss
	}
	if c.sub != "" {
		cl.Subject = c.sub
	}
	if c.jti != "" {
		cl.ID = c.jti
	}
	if c.aud != nil {
		cl.Audience = c.aud
	}
	if !c.noExp {
		exp := c.exp
		if exp == 0 {
			exp = 4 * time.Minute
		}
		cl.Expiry = jwt.NewNumericDate(now.Add(exp))
	}
	out, err := jwt.Signed(sig).Claims(cl).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// request is a token request carrying assertion.
func request(assertion, scope string) smart.TokenRequest {
	return smart.TokenRequest{GrantType: smart.GrantClientCredentials, ClientAssertionType: smart.AssertionJWTBearer,
		ClientAssertion: assertion, Scope: scope}
}

// register registers a client with the keys of ss and returns its id.
func (h *harness) register(scopes string, ss ...signer) string {
	h.t.Helper()
	c, err := h.svc.Register(context.Background(), h.admin(), smart.NewClient{Name: "Acme Labs", JWKS: jwks(h.t, ss...),
		Scopes: scopes, Purpose: "TREAT", AgreementStart: "2026-01-01", AgreementEnd: "2027-12-31"}, origin())
	if err != nil {
		h.t.Fatal(err)
	}
	return c.ID
}

// lastEntry is the newest audit entry's action, outcome, actor and reason.
func (h *harness) lastEntry() [4]string {
	h.t.Helper()
	var e [4]string
	err := h.db.QueryRowContext(context.Background(),
		`SELECT action, outcome, actor_id, reason FROM audit_entries ORDER BY seq DESC LIMIT 1`).Scan(&e[0], &e[1], &e[2], &e[3])
	if err != nil {
		h.t.Fatal(err)
	}
	return e
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
