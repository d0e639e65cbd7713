// Package fhir serves Haven's record, schedule and trail as FHIR R4 (4.0.1) JSON under
// /fhir/R4, for EHRs, devices, booking and billing systems, and the privacy officer's tools.
//
// It is a transport like api and web: it receives the domain services only, and every read,
// search and write goes through the same guarded call (decide → step-up → audit → release) as
// the JSON API, so an integration is audited as a person is. A caller is a browser or API
// session (a patient reads their own record as FHIR) or a connected system's SMART Backend
// Services bearer token (package smart), whose scopes the policy checks per resource type and
// interaction (principal.Scopes).
//
// Resource types are a registry (Type): the router, the CapabilityStatement and
// Patient/$everything are built from it, so a type cannot be served without being declared.
// Ids are Haven's own identifiers (package ids): a Patient.id is the JSON API's patientId.
package fhir

import (
	"log/slog"
	"net/http"
	"strings"

	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/principal"
	"haven/internal/services"
)

// Base is where the FHIR API is mounted; MediaType is what it answers with.
const (
	Base      = "/fhir/R4"
	MediaType = "application/fhir+json"
	// Version is the FHIR version served.
	Version = "4.0.1"
)

// Caller is who asks and from where. By.Interaction is set for each interaction before a
// domain service is called, so the policy can check a connected system's scopes.
type Caller struct {
	By     principal.Subject
	Origin principal.Origin
}

// As returns c performing interaction i.
func (c Caller) As(i principal.Interaction) Caller {
	c.By.Interaction = i
	return c
}

// Integration reports whether the caller is a connected system (a bearer token), not a person.
func (c Caller) Integration() bool { return c.By.Role == principal.Integration }

// FHIR serves /fhir/R4.
type FHIR struct {
	d     services.Services
	log   *slog.Logger
	types map[string]*Type
	order []string // type names in registry order: the CapabilityStatement lists them so
}

// New builds the FHIR API over the domain services.
func New(d services.Services) *FHIR {
	f := &FHIR{d: d, log: d.Log, types: map[string]*Type{}}
	for _, t := range f.registry() {
		if _, dup := f.types[t.Name]; dup {
			panic("fhir: two types named " + t.Name)
		}
		f.types[t.Name] = t
		f.order = append(f.order, t.Name)
	}
	return f
}

// Mount registers the FHIR routes on mux. metadata and both SMART configuration documents,
// and the token endpoint, are public; everything else needs a session or a bearer token,
// checked before any input is looked at.
func (f *FHIR) Mount(mux *http.ServeMux) {
	public := func(h httpx.HandlerFunc) http.Handler { return httpx.Adapt(f.log, writeError, h) }
	authed := func(h func(http.ResponseWriter, *http.Request, Caller) error) http.Handler {
		return public(func(w http.ResponseWriter, r *http.Request) error {
			c, err := f.caller(r)
			if err != nil {
				return err
			}
			return h(w, r, c)
		})
	}
	mux.Handle("GET "+Base+"/metadata", public(f.metadata))
	mux.Handle("GET "+Base+"/.well-known/smart-configuration", public(f.smartConfiguration))
	mux.Handle("GET /.well-known/smart-configuration", public(f.smartConfiguration))
	mux.Handle("POST "+TokenPath, public(f.token))

	mux.Handle("GET "+Base+"/{type}", authed(f.searchType))
	mux.Handle("POST "+Base+"/{type}/_search", authed(f.searchType))
	mux.Handle("GET "+Base+"/{type}/{id}", authed(f.read))
	mux.Handle("GET "+Base+"/{type}/{id}/{op}", authed(f.operation))
	mux.Handle("POST "+Base+"/{type}", authed(f.create))
	mux.Handle("PUT "+Base+"/{type}/{id}", authed(f.update))
	// Anything else under the base is an OperationOutcome, after the same authentication rule.
	mux.Handle(Base+"/", authed(func(w http.ResponseWriter, r *http.Request, _ Caller) error {
		return errNotSupported("this interaction is not supported; the CapabilityStatement at " + Base + "/metadata lists what is")
	}))
}

// TokenPath is the SMART Backend Services token endpoint.
const TokenPath = Base + "/auth/token"

// caller authenticates r: a bearer token (a connected system) if there is an Authorization
// header, otherwise the session cookie of a signed-in person. A visit guest reaches only their
// visit's page, never FHIR.
func (f *FHIR) caller(r *http.Request) (Caller, error) {
	o := httpx.Origin(r)
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return Caller{}, errBadToken
		}
		by, err := f.d.SMART.Authenticate(r.Context(), strings.TrimSpace(token), o)
		if err != nil {
			return Caller{}, bearerError(err)
		}
		return Caller{By: by, Origin: o}, nil
	}
	s, err := httpx.RequireSession(r, identity.StageFull)
	if err != nil {
		return Caller{}, errNoCredentials
	}
	if s.Subject.Role == principal.Guest {
		return Caller{}, httpx.ErrGuestOnlyVisit
	}
	return Caller{By: s.Subject, Origin: o}, nil
}

// typeOf returns the registered type the request's path names, or a 404 OperationOutcome.
func (f *FHIR) typeOf(r *http.Request) (*Type, error) {
	t, ok := f.types[r.PathValue("type")]
	if !ok {
		return nil, errUnknownType(r.PathValue("type"))
	}
	return t, nil
}
