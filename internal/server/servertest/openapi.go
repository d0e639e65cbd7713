package servertest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"haven/internal/api"
)

// Contract checks every answer under /api/v1 against the OpenAPI document the server serves:
// its status must be one the operation lists, its media type and body must match the schema
// (closed objects, required fields), its headers the declared ones (Retry-After on a 429). An
// answer outside any operation (an unknown path, a method the path does not serve) must be an
// Error object, and a 405 must say what is allowed. Pages, /metrics and the like are not API
// and are skipped.
//
// The document is fetched, checked and compiled into a router once per server, at the first
// API answer.
type Contract struct {
	base string // the server's URL
	rt   http.RoundTripper

	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func newContract(base string) *Contract {
	return &Contract{base: base, rt: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // test server's own certificate
}

// load fetches and compiles the served document.
func (c *Contract) load() {
	c.once.Do(func() {
		c.err = func() error {
			req, err := http.NewRequest(http.MethodGet, c.base+api.Prefix+"/openapi.json", nil)
			if err != nil {
				return err
			}
			resp, err := c.rt.RoundTrip(req)
			if err != nil {
				return fmt.Errorf("servertest: fetch the OpenAPI document: %w", err)
			}
			defer resp.Body.Close()
			raw, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				return fmt.Errorf("servertest: fetch the OpenAPI document: %d %v", resp.StatusCode, err)
			}
			doc, err := openapi3.NewLoader().LoadFromData(raw)
			if err != nil {
				return fmt.Errorf("servertest: load the OpenAPI document: %w", err)
			}
			if err := doc.Validate(context.Background()); err != nil {
				return fmt.Errorf("servertest: the OpenAPI document is not valid: %w", err)
			}
			router, err := gorillamux.NewRouter(doc)
			if err != nil {
				return fmt.Errorf("servertest: route the OpenAPI document: %w", err)
			}
			c.doc, c.router = doc, router
			return nil
		}()
	})
}

// Check returns why an answer to req does not conform to the document, or nil. Answers outside
// /api/v1 conform by definition.
func (c *Contract) Check(req *http.Request, status int, header http.Header, body []byte) error {
	if !strings.HasPrefix(req.URL.Path, api.Prefix+"/") {
		return nil
	}
	c.load()
	if c.err != nil {
		return c.err
	}
	if req.Method == http.MethodHead {
		// Served wherever GET is, as GET without the body: the status must be one GET lists.
		get := req.Clone(req.Context())
		get.Method = http.MethodGet
		if route, _, err := c.router.FindRoute(get); err == nil {
			if route.Operation.Responses.Status(status) == nil {
				return fmt.Errorf("HEAD answered %d, a status %s does not list", status, route.Operation.OperationID)
			}
			return nil
		}
	}
	route, params, err := c.router.FindRoute(req)
	switch {
	case err == nil:
		return openapi3filter.ValidateResponse(req.Context(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 status,
			Header:                 header,
			Body:                   io.NopCloser(bytes.NewReader(body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		})
	case errors.Is(err, routers.ErrPathNotFound), errors.Is(err, routers.ErrMethodNotAllowed):
		return c.checkError(req, status, header, body)
	default:
		return fmt.Errorf("servertest: find the operation: %w", err)
	}
}

// checkError checks an answer that no operation describes: it must be a JSON Error, and a 405
// must carry Allow.
func (c *Contract) checkError(req *http.Request, status int, header http.Header, body []byte) error {
	if status < 400 {
		return fmt.Errorf("%d from a path and method the document does not list", status)
	}
	if status == http.StatusMethodNotAllowed && header.Get("Allow") == "" {
		return errors.New("405 without an Allow header")
	}
	if req.Method == http.MethodHead {
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(header.Get("Content-Type")); mt != "application/json" {
		return fmt.Errorf("error answer of type %q, want application/json", header.Get("Content-Type"))
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("error answer is not JSON: %w", err)
	}
	return c.doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
}

// contractTransport checks every answer that passes through it against the document.
type contractTransport struct {
	t        testing.TB
	contract *Contract
	next     http.RoundTripper
}

func (ct *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := ct.next.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, api.Prefix+"/") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := ct.contract.Check(req, resp.StatusCode, resp.Header, body); err != nil {
		// Errorf, not Fatalf: a round trip may run off the test's goroutine.
		ct.t.Errorf("%s %s = %d %s: the answer breaks the OpenAPI document: %v", req.Method, req.URL.Path, resp.StatusCode, truncate(body), err)
	}
	return resp, nil
}

func truncate(b []byte) []byte {
	if len(b) > 300 {
		return append(b[:300:300], "…"...)
	}
	return b
}
