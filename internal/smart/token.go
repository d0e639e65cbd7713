package smart

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/principal"
	"haven/internal/store"
)

// The token request's fixed values (RFC 6749 section 4.4, RFC 7523 section 2.2).
const (
	GrantClientCredentials = "client_credentials"
	AssertionJWTBearer     = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// MaxAssertionLifetime is how far ahead an assertion's exp may be: SMART asks for at most five
// minutes, which also bounds how long its jti must be remembered.
const MaxAssertionLifetime = 5 * time.Minute

// The audit actions this package records (guard.Event): a token asked for at the token
// endpoint, and a bearer token refused at use because its client was disabled or its
// agreement lapsed after the token was issued.
const (
	ActionToken  = "integration.token"
	ActionAccess = "integration.access"
)

// The reasons recorded with them. Each says which check refused, never what the request held.
const (
	ReasonIssued             = "token-issued"
	ReasonBadRequest         = "bad-token-request"
	ReasonMalformedAssertion = "malformed-assertion"
	ReasonAlgorithm          = "algorithm-not-allowed"
	ReasonUnknownClient      = "unknown-client"
	ReasonKeysUnavailable    = "keys-unavailable"
	ReasonBadSignature       = "bad-signature"
	ReasonWrongAudience      = "wrong-audience"
	ReasonAssertionExpired   = "assertion-expired"
	ReasonAssertionTooLong   = "assertion-too-long"
	ReasonNoJTI              = "no-jti"
	ReasonReplayed           = "jti-replayed"
	ReasonDisabled           = "client-disabled"
	ReasonLapsed             = "agreement-lapsed"
	ReasonScopeMalformed     = "scope-malformed"
	ReasonScopeNotRegistered = "scope-not-registered"
	ReasonThrottled          = "throttled" // too many requests from one address (words in privacy already)
)

// allowedAlgs are the assertion signatures SMART Backend Services names; go-jose refuses any
// other (HS256, RS256, none) before a key is looked at.
var allowedAlgs = []jose.SignatureAlgorithm{jose.RS384, jose.ES384}

// otherAlgs are algorithms go-jose knows but Haven refuses: used only to tell a refused
// algorithm from a malformed assertion in the audit entry.
var otherAlgs = []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512, jose.RS256, jose.RS512,
	jose.ES256, jose.ES512, jose.PS256, jose.PS384, jose.PS512, jose.EdDSA}

// unknownActor is the actor of a refusal whose assertion names no registered client.
const unknownActor = "unknown"

// refusal is a token request refused: what the client is told and what the log records; or,
// when err is set, a failure of Haven's own (a database error), answered as one and not
// recorded as the client's doing.
type refusal struct {
	oauth  *OAuthError
	reason string
	err    error
}

func internalError(err error) *refusal { return &refusal{err: err} }

func refuse(status int, code, reason, description string, cause error) *refusal {
	return &refusal{oauth: &OAuthError{Status: status, Code: code, Description: description, Err: cause}, reason: reason}
}

// invalidClient is the refusal for an assertion that does not prove the client (RFC 6749: 401).
func invalidClient(reason, description string, cause error) *refusal {
	return refuse(http.StatusUnauthorized, "invalid_client", reason, description, cause)
}

const (
	tokenSQL     = `INSERT INTO smart_tokens (token_hash, client_id, scopes, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`
	purgeTokens  = `DELETE FROM smart_tokens WHERE expires_at < $1`
	deleteToken  = `DELETE FROM smart_tokens WHERE token_hash = $1`
	insertJTI    = `INSERT INTO smart_assertions (client_id, jti, expires_at) VALUES ($1, $2, $3)`
	purgeJTIs    = `DELETE FROM smart_assertions WHERE expires_at < $1`
	selectBearer = `SELECT t.client_id, t.scopes, t.expires_at, c.purpose, c.disabled, c.agreement_start, c.agreement_end
FROM smart_tokens t JOIN smart_clients c ON c.id = t.client_id WHERE t.token_hash = $1`
)

// Token checks a client_credentials request with its signed assertion and issues a bearer
// token, or refuses with an *OAuthError (or a fault.Throttled error past TokenRequestsPerAddr).
// Every answer, issued or refused, is recorded; if it cannot be, no token is issued.
func (s *Service) Token(ctx context.Context, req TokenRequest, o principal.Origin) (Token, error) {
	unknown := principal.Subject{AccountID: unknownActor, Role: principal.Integration}
	if err := s.perAddr.Take(o.Addr, s.now()); err != nil {
		if rerr := s.record(ctx, unknown, ActionToken, audit.Failure, ReasonThrottled, o); rerr != nil {
			return Token{}, rerr
		}
		return Token{}, err
	}
	c, scopes, ref := s.admit(ctx, req)
	by := unknown
	if c != nil {
		by = principal.Subject{AccountID: c.ID, Role: principal.Integration, Purpose: c.Purpose}
	}
	switch {
	case ref != nil && ref.err != nil:
		return Token{}, ref.err
	case ref != nil:
		if err := s.record(ctx, by, ActionToken, audit.Failure, ref.reason, o); err != nil {
			return Token{}, err
		}
		return Token{}, ref.oauth
	}
	tok, err := s.issue(ctx, c.ID, scopes)
	if err != nil {
		return Token{}, err
	}
	if err := s.record(ctx, by, ActionToken, audit.Success, ReasonIssued, o); err != nil {
		// Unrecorded, so not issued: the token is withdrawn before anyone sees it.
		_, _ = s.db.ExecContext(context.WithoutCancel(ctx), deleteToken, hashToken(tok.AccessToken))
		return Token{}, err
	}
	return tok, nil
}

// record appends a token endpoint or bearer-token event, by the client (or "unknown") on the
// client as its resource.
func (s *Service) record(ctx context.Context, by principal.Subject, action, outcome, reason string, o principal.Origin) error {
	return s.door.Record(ctx, guard.Event{By: by, Action: action, Resource: access.Resource{Type: "Integration", ID: by.AccountID},
		Outcome: outcome, Reason: reason, Origin: o})
}

// admit runs every check of a token request in order and returns the client it proves and
// the scopes to grant, or the refusal. c is set as soon as the assertion names a registered
// client, so that a refusal is recorded against it.
func (s *Service) admit(ctx context.Context, req TokenRequest) (c *Client, scopes principal.Scopes, ref *refusal) {
	if req.GrantType != GrantClientCredentials {
		return nil, nil, refuse(http.StatusBadRequest, "unsupported_grant_type", ReasonBadRequest, "use grant_type=client_credentials", nil)
	}
	if req.ClientAssertionType != AssertionJWTBearer || req.ClientAssertion == "" {
		return nil, nil, refuse(http.StatusBadRequest, "invalid_request", ReasonBadRequest,
			"send a signed JWT as client_assertion with client_assertion_type="+AssertionJWTBearer, nil)
	}
	tok, err := jwt.ParseSigned(req.ClientAssertion, allowedAlgs)
	if err != nil {
		if _, other := jwt.ParseSigned(req.ClientAssertion, otherAlgs); other == nil {
			return nil, nil, invalidClient(ReasonAlgorithm, "sign the assertion with RS384 or ES384", err)
		}
		return nil, nil, invalidClient(ReasonMalformedAssertion, "the client assertion is not a signed JWT", err)
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, nil, invalidClient(ReasonMalformedAssertion, "the client assertion's claims cannot be read", err)
	}
	if unverified.Issuer == "" || unverified.Issuer != unverified.Subject {
		return nil, nil, invalidClient(ReasonUnknownClient, "put the client id in both iss and sub", nil)
	}
	st, err := s.stored(ctx, unverified.Issuer)
	if errors.Is(err, ErrNoClient) {
		return nil, nil, invalidClient(ReasonUnknownClient, "no connected system is registered with this client id", nil)
	}
	if err != nil {
		return nil, nil, internalError(err)
	}
	c = &st.Client
	claims, ref := s.verify(ctx, st, tok)
	if ref != nil {
		return c, nil, ref
	}
	now := s.now()
	switch {
	case !claims.Audience.Contains(s.cfg.TokenURL):
		return c, nil, invalidClient(ReasonWrongAudience, "set aud to the token endpoint's URL, "+s.cfg.TokenURL, nil)
	case claims.Expiry == nil || !claims.Expiry.Time().After(now):
		return c, nil, invalidClient(ReasonAssertionExpired, "the assertion has expired (or has no exp): sign a new one", nil)
	case claims.Expiry.Time().After(now.Add(MaxAssertionLifetime)):
		return c, nil, invalidClient(ReasonAssertionTooLong, "set exp no more than five minutes ahead", nil)
	case claims.ID == "" || len(claims.ID) > 255:
		return c, nil, invalidClient(ReasonNoJTI, "give each assertion a unique jti", nil)
	}
	if ref := s.spend(ctx, c.ID, claims.ID, claims.Expiry.Time()); ref != nil {
		return c, nil, ref
	}
	if c.Disabled {
		return c, nil, invalidClient(ReasonDisabled, "this connected system has been disabled; ask the clinic's administrator", nil)
	}
	if !inForce(*c, now) {
		return c, nil, invalidClient(ReasonLapsed, "the business associate agreement for this connected system has lapsed (or has not begun); ask the clinic to renew it", nil)
	}
	registered, err := principal.ParseScopes(c.Scopes)
	if err != nil {
		return c, nil, internalError(fmt.Errorf("smart: stored scopes: %w", err))
	}
	if req.Scope == "" {
		return c, registered, nil
	}
	asked, err := principal.ParseScopes(req.Scope)
	if err != nil {
		return c, nil, refuse(http.StatusBadRequest, "invalid_scope", ReasonScopeMalformed, "ask for system scopes such as system/Observation.rs", err)
	}
	if !asked.Within(registered) {
		return c, nil, refuse(http.StatusBadRequest, "invalid_scope", ReasonScopeNotRegistered, "ask only for scopes this system was registered for: "+registered.String(), nil)
	}
	return c, asked, nil
}

// verify checks the assertion's signature with the client's keys (the one its kid names, if
// it names one) and returns its claims.
func (s *Service) verify(ctx context.Context, st stored, tok *jwt.JSONWebToken) (jwt.Claims, *refusal) {
	var claims jwt.Claims
	set, err := s.keysOf(ctx, st)
	if err != nil {
		return claims, invalidClient(ReasonKeysUnavailable, "Haven could not read this system's public key set; check its address and try again", err)
	}
	keys := set.Keys
	if kid := tok.Headers[0].KeyID; kid != "" {
		keys = set.Key(kid)
	}
	for _, k := range keys {
		if err := tok.Claims(k.Key, &claims); err == nil {
			return claims, nil
		}
	}
	return claims, invalidClient(ReasonBadSignature, "the assertion's signature does not match a registered key", nil)
}

// keysOf is the client's key set: registered with it, or fetched from its URL at each request
// (a rotated key works at once; the request is rare, one per token).
func (s *Service) keysOf(ctx context.Context, st stored) (jose.JSONWebKeySet, error) {
	if st.JWKSURL != "" {
		return s.fetchJWKS(ctx, st.JWKSURL)
	}
	return parseJWKS([]byte(st.jwks))
}

// spend records an assertion's jti until it expires; a second use is a replay.
func (s *Service) spend(ctx context.Context, clientID, jti string, exp time.Time) *refusal {
	now := s.now()
	if _, err := s.db.ExecContext(ctx, purgeJTIs, now.UnixNano()); err != nil {
		return internalError(fmt.Errorf("smart: purge assertions: %w", err))
	}
	if _, err := s.db.ExecContext(ctx, insertJTI, clientID, jti, exp.UnixNano()); err != nil {
		if store.IsUniqueViolation(err) {
			return invalidClient(ReasonReplayed, "this assertion (its jti) was already used: sign a new one for each request", nil)
		}
		return internalError(fmt.Errorf("smart: record assertion: %w", err))
	}
	return nil
}

// issue stores a new bearer token's hash and returns the token.
func (s *Service) issue(ctx context.Context, clientID string, scopes principal.Scopes) (Token, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Token{}, fmt.Errorf("smart: token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.now()
	if _, err := s.db.ExecContext(ctx, purgeTokens, now.UnixNano()); err != nil {
		return Token{}, fmt.Errorf("smart: purge tokens: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, tokenSQL, hashToken(token), clientID, scopes.String(),
		now.Add(s.cfg.TokenLifetime).UnixNano(), now.UnixNano()); err != nil {
		return Token{}, fmt.Errorf("smart: store token: %w", err)
	}
	return Token{AccessToken: token, TokenType: "bearer", ExpiresIn: int(s.cfg.TokenLifetime / time.Second), Scope: scopes.String()}, nil
}

// hashToken is how a bearer token is stored: a database read never yields a usable token.
func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}
