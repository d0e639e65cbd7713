// Package oidc is Haven's OpenID Connect relying party: staff sign in through the organisation's
// identity provider. It discovers the provider, builds the authorization request (code flow with
// PKCE S256, state and nonce), exchanges the code, and has go-oidc verify the ID token: its
// signature against the provider's published keys, issuer, audience and expiry. It then checks
// the nonce and the authorized party, and returns the few claims Haven reads.
//
// It knows nothing of accounts, sessions or policy: which account a verified e-mail address
// names, and what an MFA assertion is worth, are decided by identity. It never parses or verifies
// a JWT itself.
package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Errors. Neither says anything about the person signing in.
var (
	// ErrUnavailable means the provider could not be reached or answered nonsense: discovery,
	// its keys or its token endpoint failed.
	ErrUnavailable = errors.New("oidc: the identity provider is unavailable")
	// ErrRejected means the provider's answer was refused: the code was not exchanged, or the
	// ID token failed verification (signature, issuer, audience, expiry, nonce, authorized party).
	ErrRejected = errors.New("oidc: the identity provider's answer was refused")
)

// Scopes are what Haven asks for: the ID token and the e-mail address with its verified flag.
// profile is requested because some providers put the e-mail claims under it.
var Scopes = []string{gooidc.ScopeOpenID, "email", "profile"}

// Config names the provider and Haven's registration with it.
type Config struct {
	Issuer       string // the provider's issuer URL; discovery reads Issuer/.well-known/openid-configuration
	ClientID     string
	ClientSecret string
	RedirectURL  string   // Haven's callback, registered with the provider
	Name         string   // how people know the provider, shown on the sign-in button
	MFAACR       []string // acr values that assert multi-factor authentication (exact match)
	// HTTPClient talks to the provider; nil uses one with a 10-second timeout and the system's
	// trusted roots.
	HTTPClient *http.Client
}

// Validate checks the configuration without contacting the provider. The issuer must be https,
// except on a loopback address, for development and tests.
func (c Config) Validate() error {
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("oidc: issuer %q is not a URL", c.Issuer)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname())) {
		return fmt.Errorf("oidc: issuer %q must be an https:// URL", c.Issuer)
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		return errors.New("oidc: a client ID and a client secret are required")
	}
	if r, err := url.Parse(c.RedirectURL); err != nil || r.Scheme != "https" {
		return fmt.Errorf("oidc: redirect URL %q must be an https:// URL", c.RedirectURL)
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Claims are what Haven reads from a verified ID token.
type Claims struct {
	Subject       string
	Email         string
	EmailVerified bool     // true only if the token says so as a JSON boolean
	AMR           []string // authentication methods references (RFC 8176)
	ACR           string   // authentication context class reference
}

// Client is a relying party for one provider. The provider is discovered on first use and the
// result kept, so Haven starts while the provider is down and recovers when it returns.
type Client struct {
	cfg  Config
	now  func() time.Time
	http *http.Client

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

// New returns a client for cfg, which must be valid. now is the clock ID tokens' expiry is
// checked against.
func New(cfg Config, now func() time.Time) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{cfg: cfg, now: now, http: hc}, nil
}

// Name is the provider's name as people know it.
func (c *Client) Name() string { return c.cfg.Name }

// discover fetches the provider's metadata once it succeeds; a failure is retried on next use.
func (c *Client) discover(ctx context.Context) (*oauth2.Config, *gooidc.IDTokenVerifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.oauth != nil {
		return c.oauth, c.verifier, nil
	}
	p, err := gooidc.NewProvider(gooidc.ClientContext(ctx, c.http), c.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: discovery: %v", ErrUnavailable, err)
	}
	c.oauth = &oauth2.Config{
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, RedirectURL: c.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: Scopes,
	}
	c.verifier = p.Verifier(&gooidc.Config{ClientID: c.cfg.ClientID, Now: c.now})
	return c.oauth, c.verifier, nil
}

// AuthCodeURL is where to send the browser: the provider's authorization endpoint with state,
// nonce and the S256 challenge of verifier.
func (c *Client) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	oc, _, err := c.discover(ctx)
	if err != nil {
		return "", err
	}
	return oc.AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Exchange redeems code with verifier, verifies the ID token that comes back, checks that it
// carries nonce and, when it names several audiences, that Haven is the authorized party; then
// it returns the token's claims.
func (c *Client) Exchange(ctx context.Context, code, verifier, nonce string) (Claims, error) {
	oc, v, err := c.discover(ctx)
	if err != nil {
		return Claims{}, err
	}
	ctx = gooidc.ClientContext(ctx, c.http)
	tok, err := oc.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return Claims{}, fmt.Errorf("%w: token endpoint: %s", ErrRejected, re.ErrorCode)
		}
		return Claims{}, fmt.Errorf("%w: token endpoint: %v", ErrUnavailable, err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Claims{}, fmt.Errorf("%w: no ID token in the token response", ErrRejected)
	}
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return Claims{}, fmt.Errorf("%w: nonce does not match", ErrRejected)
	}
	var extra struct {
		Email         string   `json:"email"`
		EmailVerified any      `json:"email_verified"`
		AMR           []string `json:"amr"`
		ACR           string   `json:"acr"`
		AZP           string   `json:"azp"`
	}
	if err := idt.Claims(&extra); err != nil {
		return Claims{}, fmt.Errorf("%w: malformed claims: %v", ErrRejected, err)
	}
	// OpenID Connect Core §3.1.3.7: with several audiences, the token must name Haven as the
	// party it was issued to.
	if len(idt.Audience) > 1 || extra.AZP != "" {
		if extra.AZP != c.cfg.ClientID {
			return Claims{}, fmt.Errorf("%w: authorized party %q is not this client", ErrRejected, extra.AZP)
		}
	}
	verified, _ := extra.EmailVerified.(bool)
	return Claims{
		Subject: idt.Subject, Email: strings.TrimSpace(extra.Email), EmailVerified: verified,
		AMR: extra.AMR, ACR: extra.ACR,
	}, nil
}

// AssertsMFA reports whether the token says the person passed multi-factor authentication at the
// provider: amr holds "mfa" (RFC 8176), or acr is one of the values the organisation configured.
// A single method, even a hardware key ("hwk"), is not multi-factor on its own.
func (c *Client) AssertsMFA(cl Claims) bool {
	return slices.Contains(cl.AMR, "mfa") || (cl.ACR != "" && slices.Contains(c.cfg.MFAACR, cl.ACR))
}
