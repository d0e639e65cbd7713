// Package smart connects other systems to Haven by SMART Backend Services (the HL7 SMART App
// Launch "backend services" profile): an administrator registers a client with its public
// keys, the scopes it may ask for and its business associate agreement's dates; the client
// proves itself with a JWT assertion it signs (private_key_jwt, RS384 or ES384) and receives a
// short-lived bearer token for the FHIR API. A token names the client and its scopes, which
// the policy (package access) checks on every act; a client whose agreement has lapsed is
// refused at the token endpoint and on every request.
//
// The registry and tokens are administrative data (no PHI). Registration, changes and every
// token issued or refused are audited through the one door.
package smart

import (
	"net/http"
	"time"

	"haven/internal/guard"
	"haven/internal/identity"
	"haven/internal/store"
)

// Config is how the service is set up.
type Config struct {
	// TokenURL is the token endpoint's absolute URL: every assertion's audience (aud).
	TokenURL string
	// TokenLifetime is how long a bearer token lives (default 5 minutes, the SMART maximum).
	TokenLifetime time.Duration
	// HTTP fetches a client's JWK set from its URL; nil means a client with a short timeout.
	HTTP *http.Client
}

// TokenRequestsPerAddr bounds token requests from one address in a minute. A connected system
// asks once per token (every few minutes); a flood of assertions is refused before any is
// verified or its key set fetched, each refusal still recorded.
const TokenRequestsPerAddr = 60

// Service is the client registry, the token endpoint and bearer-token authentication.
type Service struct {
	db      *store.DB
	door    *guard.Door
	cfg     Config
	now     func() time.Time
	perAddr *identity.Limiter
}

// New returns the service.
func New(db *store.DB, door *guard.Door, cfg Config, now func() time.Time) *Service {
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = 5 * time.Minute
	}
	if cfg.HTTP == nil {
		// A client's key server is outside Haven: a slow one must not hold a token request.
		cfg.HTTP = &http.Client{Timeout: 5 * time.Second}
	}
	return &Service{db: db, door: door, cfg: cfg, now: now, perAddr: identity.NewLimiter(TokenRequestsPerAddr, time.Minute)}
}

// Client is a registered connected system.
type Client struct {
	ID   string `json:"clientId"`
	Name string `json:"name"`
	// JWKS is the client's public JSON Web Key Set, or JWKSURL where Haven fetches it.
	JWKS    map[string]any `json:"jwks,omitempty"`
	JWKSURL string         `json:"jwksUrl,omitempty"`
	// Scopes are the SMART system scopes it may ask for.
	Scopes string `json:"scopes"`
	// Purpose is the HL7 purpose of use its accesses are recorded with (TREAT, HPAYMT, HOPERAT).
	Purpose string `json:"purpose"`
	// AgreementStart and AgreementEnd bound its business associate agreement (dates, inclusive).
	AgreementStart string `json:"agreementStart"`
	AgreementEnd   string `json:"agreementEnd"`
	// AgreementInForce says whether today (UTC, at the server) is within the agreement's dates.
	AgreementInForce bool      `json:"agreementInForce"`
	Disabled         bool      `json:"disabled"`
	CreatedAt        time.Time `json:"createdAt"`
}

// TokenRequest is the token endpoint's form (RFC 6749 client_credentials with an RFC 7523
// client assertion).
type TokenRequest struct {
	GrantType           string
	Scope               string
	ClientAssertionType string
	ClientAssertion     string
}

// Token is the token endpoint's answer.
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// OAuthError is a refusal at the token endpoint, answered as RFC 6749 section 5.2 says:
// {"error": Code, "error_description": Description} with Status.
type OAuthError struct {
	Status      int
	Code        string // invalid_request, invalid_client, invalid_grant, invalid_scope, unsupported_grant_type
	Description string
	Err         error // the cause, for the log
}

func (e *OAuthError) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Description + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Description
}

func (e *OAuthError) Unwrap() error { return e.Err }
