package fhir

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"haven/internal/httpx"
	"haven/internal/smart"
)

// metadata answers GET /metadata: the CapabilityStatement, built from the registry, so it
// lists exactly the types, interactions and search parameters served.
func (f *FHIR) metadata(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, f.capabilityStatement())
}

type capabilityStatement struct {
	Head
	URL            string           `json:"url"`
	Version        string           `json:"version"`
	Name           string           `json:"name"`
	Status         string           `json:"status"`
	Date           string           `json:"date"`
	Publisher      string           `json:"publisher"`
	Kind           string           `json:"kind"`
	Software       capSoftware      `json:"software"`
	Implementation capImplementaton `json:"implementation"`
	FHIRVersion    string           `json:"fhirVersion"`
	Format         []string         `json:"format"`
	Rest           []capRest        `json:"rest"`
}

type capSoftware struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type capImplementaton struct {
	Description string `json:"description"`
	URL         string `json:"url"`
}

type capRest struct {
	Mode      string        `json:"mode"`
	Security  capSecurity   `json:"security"`
	Resource  []capResource `json:"resource"`
	Operation []capOp       `json:"operation,omitempty"`
}

type capSecurity struct {
	Extension   []capExtension     `json:"extension"`
	Service     []*CodeableConcept `json:"service"`
	Description string             `json:"description"`
}

type capExtension struct {
	URL       string         `json:"url"`
	Extension []capExtension `json:"extension,omitempty"`
	ValueURI  string         `json:"valueUri,omitempty"`
}

type capResource struct {
	Type         string     `json:"type"`
	Profile      string     `json:"profile,omitempty"`
	Interaction  []capCode  `json:"interaction"`
	Versioning   string     `json:"versioning,omitempty"`
	ReadHistory  *bool      `json:"readHistory,omitempty"`
	UpdateCreate *bool      `json:"updateCreate,omitempty"`
	SearchParam  []capParam `json:"searchParam,omitempty"`
	Operation    []capOp    `json:"operation,omitempty"`
}

type capCode struct {
	Code string `json:"code"`
}

type capParam struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

type capOp struct {
	Name       string `json:"name"`
	Definition string `json:"definition"`
}

func (f *FHIR) capabilityStatement() *capabilityStatement {
	no := false
	cs := &capabilityStatement{
		Head: Head{ResourceType: "CapabilityStatement"}, URL: f.d.BaseURL + Base + "/metadata", Version: f.d.Version,
		Name: "Haven", Status: "active", Date: "2026-11-30", Publisher: "Haven", Kind: "instance",
		Software:       capSoftware{Name: "Haven", Version: f.d.Version},
		Implementation: capImplementaton{Description: "Haven telemedicine: the record, the schedule and the audit trail", URL: f.d.BaseURL + Base},
		FHIRVersion:    Version, Format: []string{"json"},
	}
	rest := capRest{Mode: "server", Security: capSecurity{
		Extension: []capExtension{{URL: "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
			Extension: []capExtension{{URL: "token", ValueURI: f.d.BaseURL + TokenPath}}}},
		Service: []*CodeableConcept{Concept("http://terminology.hl7.org/CodeSystem/restful-security-service", "SMART-on-FHIR", "SMART-on-FHIR")},
		Description: "A signed-in person's session, or a SMART Backend Services bearer token (client_credentials with a private_key_jwt assertion, RS384 or ES384). " +
			"Every read, search and write is decided by Haven's policy and recorded in its audit log.",
	}}
	for _, name := range f.order {
		t := f.types[name]
		cr := capResource{Type: t.Name, Profile: t.Profile}
		if t.Read != nil || t.Raw != nil {
			cr.Interaction = append(cr.Interaction, capCode{"read"})
		}
		if t.Search != nil {
			cr.Interaction = append(cr.Interaction, capCode{"search-type"})
			for _, p := range append(append([]Param{}, t.Params...), commonParams...) {
				if p.Name == "_count" || (p.Name == "_lastUpdated" && t.NoLastUpdated) {
					continue // a result parameter, or one the type cannot answer
				}
				cr.SearchParam = append(cr.SearchParam, capParam{Name: p.Name, Type: p.Type, Documentation: p.Doc})
			}
		}
		if t.Create != nil {
			cr.Interaction = append(cr.Interaction, capCode{"create"})
		}
		if t.Update != nil {
			cr.Interaction = append(cr.Interaction, capCode{"update"})
			cr.Versioning, cr.ReadHistory, cr.UpdateCreate = "versioned-update", &no, &no
		}
		if t.Name == "Patient" {
			cr.Operation = []capOp{{Name: "everything", Definition: "http://hl7.org/fhir/OperationDefinition/Patient-everything"}}
		}
		rest.Resource = append(rest.Resource, cr)
	}
	cs.Rest = []capRest{rest}
	return cs
}

// smartConfiguration answers both /.well-known/smart-configuration documents.
func (f *FHIR) smartConfiguration(w http.ResponseWriter, r *http.Request) error {
	doc := map[string]any{
		"issuer":                                f.d.BaseURL,
		"token_endpoint":                        f.d.BaseURL + TokenPath,
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS384", "ES384"},
		"grant_types_supported":                            []string{"client_credentials"},
		"scopes_supported":                                 f.scopesSupported(),
		"capabilities":                                     []string{"client-confidential-asymmetric", "permission-v1", "permission-v2"},
	}
	return httpx.WriteJSON(w, http.StatusOK, doc)
}

// scopesSupported lists the system scopes a client may be registered for.
func (f *FHIR) scopesSupported() []string {
	out := []string{"system/*.rs", "system/*.read"}
	for _, name := range f.order {
		t := f.types[name]
		if t.Name == "Binary" {
			continue // a document's bytes are read under its DocumentReference scope
		}
		var perms strings.Builder
		for _, p := range []struct {
			ok bool
			c  byte
		}{{t.Create != nil, 'c'}, {t.Read != nil || t.Raw != nil, 'r'}, {t.Update != nil, 'u'}, {t.Search != nil, 's'}} {
			if p.ok {
				perms.WriteByte(p.c)
			}
		}
		if perms.Len() > 0 {
			out = append(out, "system/"+t.Name+"."+perms.String())
		}
	}
	return out
}

// token answers POST /auth/token: SMART Backend Services' client_credentials grant with a
// signed JWT assertion. Answers and refusals are OAuth JSON, never cached.
func (f *FHIR) token(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Pragma", "no-cache")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return oauthError(w, &smart.OAuthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "send the request as a form (application/x-www-form-urlencoded)", Err: err})
	}
	tok, err := f.d.SMART.Token(r.Context(), smart.TokenRequest{
		GrantType: r.PostForm.Get("grant_type"), Scope: r.PostForm.Get("scope"),
		ClientAssertionType: r.PostForm.Get("client_assertion_type"), ClientAssertion: r.PostForm.Get("client_assertion"),
	}, httpx.Origin(r))
	if err != nil {
		var oe *smart.OAuthError
		if errors.As(err, &oe) {
			return oauthError(w, oe)
		}
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, tok)
}

// oauthError writes an RFC 6749 error answer and logs its cause with the request.
func oauthError(w http.ResponseWriter, e *smart.OAuthError) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="haven-fhir"`)
	}
	w.WriteHeader(e.Status)
	return json.NewEncoder(w).Encode(map[string]string{"error": e.Code, "error_description": e.Description})
}
