package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"haven/internal/consult/e2ee"
)

// maxAnswer bounds what the client reads of any answer: the largest the protocol allows is an
// attachment's ciphertext (10 MiB) and a little framing.
const maxAnswer = 11 << 20

// Config is what a Client needs: where Haven is and one person's signed-in HTTP client.
type Config struct {
	// BaseURL is Haven's address, for example "https://haven.example". API paths are appended.
	BaseURL string
	// HTTP is a client whose cookie jar holds the person's session (signed in beforehand, the
	// way the person signs in: the Client never handles passwords or second factors). Its
	// Transport is also used for the signalling WebSocket. It must not set Timeout: contexts
	// bound every call.
	HTTP *http.Client
	// Origin is the Origin header the signalling socket presents; Haven accepts only its own.
	// Empty means the origin of BaseURL.
	Origin string
}

// Client is one person's device speaking docs/e2ee.md to Haven: it registers its device keys,
// fetches and verifies peers' keys, seals and opens messages, fetches TURN credentials, and
// joins a visit's signalling socket. It is safe for concurrent use.
type Client struct {
	base   *url.URL
	http   *http.Client
	origin string

	mu     sync.Mutex
	pin    pin                 // the audit log's origin and verifier key, pinned on first use
	seen   map[string][]string // account id → the sorted signing keys last verified (b64)
	me     *self               // this device, once registered
	seq    map[string]uint64   // thread → the last seq this device sent in it
	inbox  e2ee.Inbox          // the last seq accepted per (sender device, thread)
	nonces e2ee.NonceSet       // description nonces accepted, so a replayed one is refused
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("client: base URL %q: want https://host", cfg.BaseURL)
	}
	if cfg.HTTP == nil || cfg.HTTP.Jar == nil {
		return nil, errors.New("client: an HTTP client with a cookie jar holding the session is required")
	}
	origin := cfg.Origin
	if origin == "" {
		origin = u.Scheme + "://" + u.Host
	}
	return &Client{base: u, http: cfg.HTTP, origin: origin, seen: map[string][]string{}, seq: map[string]uint64{}}, nil
}

// APIError is an answer other than the one expected: its status and Haven's message, which
// says what to do next.
type APIError struct {
	Status    int
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("haven answered %d", e.Status)
	}
	return fmt.Sprintf("haven answered %d: %s", e.Status, e.Message)
}

// StatusOf is the HTTP status of err if it is (or wraps) an APIError, else 0.
func StatusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// url is the absolute URL of an API path ("/api/v1/…").
func (c *Client) url(path string) string { return c.base.String() + path }

// do sends a request and decodes a JSON answer of status want into out (if not nil). body is
// JSON-encoded unless it is a []byte, sent as application/octet-stream.
func (c *Client) do(ctx context.Context, method, path string, body any, want int, out any) error {
	raw, err := c.doRaw(ctx, method, path, body, want)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("client: %s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func (c *Client) doRaw(ctx context.Context, method, path string, body any, want int) ([]byte, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/octet-stream"
	case json.RawMessage:
		rd, ctype = bytes.NewReader(b), "application/json"
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("client: encode %s %s: %w", method, path, err)
		}
		rd, ctype = bytes.NewReader(enc), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), rd)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		var m struct {
			Error     string `json:"error"`
			RequestID string `json:"requestId"`
		}
		json.Unmarshal(raw, &m)
		return nil, fmt.Errorf("client: %s %s: %w", method, path, &APIError{Status: resp.StatusCode, Message: m.Error, RequestID: m.RequestID})
	}
	return raw, nil
}
