package fhir_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"haven/internal/fhir"
	"haven/internal/server/servertest"
	"haven/internal/store/storetest"
)

// The node script (testdata/node/clients.mjs) and what it prints.
type nodeOut struct {
	Smart struct {
		TokenEndpoint string   `json:"token_endpoint"`
		AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
		SigningAlgs   []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	} `json:"smart"`
	Assertion string `json:"assertion"`
	Token     struct {
		Status    int    `json:"status"`
		Scope     string `json:"scope"`
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
		Error     string `json:"error"`
	} `json:"token"`
	Kit struct {
		Metadata   json.RawMessage   `json:"metadata"`
		Pages      []json.RawMessage `json:"pages"`
		Read       json.RawMessage   `json:"read"`
		Everything json.RawMessage   `json:"everything"`
	} `json:"kit"`
	FHIRClient struct {
		Metadata json.RawMessage   `json:"metadata"`
		Read     json.RawMessage   `json:"read"`
		Pages    []json.RawMessage `json:"pages"`
	} `json:"fhirclient"`
}

// nodeModules returns node and the modules holding the FHIR clients, or skips the test where
// they are not installed; in CI (.ci/run installs both) their absence fails it.
func nodeModules(t *testing.T) (node, modules string) {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI (.ci/run installs it)", what)
		}
		t.Skipf("%s not found: run .ci/run, or set HAVEN_FHIR_NODE_MODULES", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node")
	}
	modules = servertest.FHIRNodeModules()
	for _, pkg := range []string{"fhir-kit-client", "fhirclient"} {
		if _, err := os.Stat(filepath.Join(modules, pkg, "package.json")); modules == "" || err != nil {
			missing("the npm package " + pkg)
		}
	}
	return node, modules
}

// clientKey is a connected system's ES384 key pair: the private JWK the node script signs
// with, the public JWK set Haven is given.
type clientKey struct {
	pub     *ecdsa.PublicKey
	private string // JWK JSON
	jwks    string // JWK Set JSON
}

func newClientKey(t *testing.T) clientKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := key.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	point := ek.PublicKey().Bytes() // 0x04 || X || Y
	b64 := base64.RawURLEncoding.EncodeToString
	pub := map[string]string{"kty": "EC", "crv": "P-384", "kid": "node-test-1", "alg": "ES384", "use": "sig",
		"x": b64(point[1:49]), "y": b64(point[49:])}
	jwks, _ := json.Marshal(map[string]any{"keys": []any{pub}})
	priv := map[string]string{"d": b64(ek.Bytes())}
	for k, v := range pub {
		priv[k] = v
	}
	private, _ := json.Marshal(priv)
	return clientKey{pub: &key.PublicKey, private: string(private), jwks: string(jwks)}
}

// registerNodeClient registers a connected system through the administrators' JSON API
// (POST /api/v1/admin/integrations, its public key set as a JWK Set object) and returns its
// client id.
func registerNodeClient(t *testing.T, admin *servertest.Client, key clientKey, scopes string) string {
	t.Helper()
	m := admin.Must(201, "POST", "/api/v1/admin/integrations", map[string]any{
		"name": "Node FHIR clients", "jwks": json.RawMessage(key.jwks), "scopes": scopes, "purpose": "TREAT",
		"agreementStart": "2026-01-01", "agreementEnd": "2027-12-31",
	})
	id, _ := m["clientId"].(string)
	if id == "" {
		t.Fatalf("registration answered no clientId: %v", m)
	}
	return id
}

// runNode runs clients.mjs against e and decodes what it printed.
func runNode(t *testing.T, e *servertest.Env, mode, clientID string, key clientKey, scope, family string) nodeOut {
	t.Helper()
	node, modules := nodeModules(t)
	ca := filepath.Join(t.TempDir(), "server.pem")
	if err := os.WriteFile(ca, e.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "node", "clients.mjs"))
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "NODE_TLS_REJECT_UNAUTHORIZED=") }),
		"NODE_EXTRA_CA_CERTS="+ca, // the test server's certificate, verified as any CA's would be
		"HAVEN_FHIR_NODE_MODULES="+modules,
		"HAVEN_FHIR_BASE="+e.BaseURL+fhir.Base,
		"HAVEN_CLIENT_ID="+clientID,
		"HAVEN_CLIENT_JWK="+key.private,
		"HAVEN_SCOPE="+scope,
		"HAVEN_NOW="+strconv.FormatInt(e.Clock.Now().Unix(), 10),
		"HAVEN_FAMILY="+family,
		"HAVEN_MODE="+mode,
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("node clients.mjs (%s): %v\n%s", mode, err, stderr.String())
	}
	var out nodeOut
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("node printed something other than its JSON result: %v\n%s", err, raw)
	}
	return out
}

// checkAssertion verifies the assertion node signed the way Haven's token endpoint must: an
// ES384 JWS over the RFC 7523 claims, iss = sub = the client id, aud = the token endpoint, a
// jti, and exp at most five minutes ahead.
func checkAssertion(t *testing.T, jws string, pub *ecdsa.PublicKey, clientID, aud string) {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion is not a compact JWS: %q", jws)
	}
	dec := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("assertion part is not base64url: %v", err)
		}
		return b
	}
	var header struct{ Alg, Kid string }
	var claims struct {
		Iss, Sub, Aud, Jti string
		Iat, Exp           int64
	}
	if json.Unmarshal(dec(parts[0]), &header) != nil || json.Unmarshal(dec(parts[1]), &claims) != nil {
		t.Fatalf("assertion header or claims are not JSON")
	}
	sig := dec(parts[2])
	digest := sha512.Sum384([]byte(parts[0] + "." + parts[1]))
	if header.Alg != "ES384" || len(sig) != 96 ||
		!ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:48]), new(big.Int).SetBytes(sig[48:])) {
		t.Fatalf("assertion signature (alg %s) does not verify with the registered key", header.Alg)
	}
	if claims.Iss != clientID || claims.Sub != clientID || claims.Aud != aud || claims.Jti == "" ||
		claims.Exp <= claims.Iat || claims.Exp-claims.Iat > 300 {
		t.Errorf("assertion claims %+v, want iss = sub = %s, aud %s, a jti, exp within 5 minutes", claims, clientID, aud)
	}
}

// TestNodeClientsMetadataAndAssertion: fhir-kit-client and fhirclient read the
// CapabilityStatement through the server's own certificate; the
// assertion node signs with node:crypto verifies as ES384 with the client's key and carries the
// claims SMART asks for, with the token endpoint the SMART configuration names as audience; the
// token endpoint refuses it for a client nobody registered.
func TestNodeClientsMetadataAndAssertion(t *testing.T) {
	nodeModules(t)
	e := servertest.New(t, "")
	key := newClientKey(t)
	out := runNode(t, e, "metadata", "nobody-registered-this", key, "system/Patient.rs", "")
	if want := e.BaseURL + fhir.TokenPath; out.Smart.TokenEndpoint != want {
		t.Errorf("token_endpoint = %q, want %q", out.Smart.TokenEndpoint, want)
	}
	if !slices.Contains(out.Smart.AuthMethods, "private_key_jwt") || !slices.Contains(out.Smart.SigningAlgs, "ES384") {
		t.Errorf("the SMART configuration does not offer private_key_jwt with ES384: %+v", out.Smart)
	}
	checkAssertion(t, out.Assertion, key.pub, "nobody-registered-this", out.Smart.TokenEndpoint)
	if out.Token.Status != 400 && out.Token.Status != 401 || out.Token.Error != "invalid_client" {
		t.Errorf("token for an unregistered client = %d %q, want 400 or 401 invalid_client", out.Token.Status, out.Token.Error)
	}
	for client, raw := range map[string]json.RawMessage{"fhir-kit-client": out.Kit.Metadata, "fhirclient": out.FHIRClient.Metadata} {
		var cs struct{ ResourceType, FhirVersion string }
		json.Unmarshal(raw, &cs)
		if cs.ResourceType != "CapabilityStatement" || cs.FhirVersion != "4.0.1" {
			t.Errorf("%s read metadata %s, want a 4.0.1 CapabilityStatement", client, truncateJSON(raw))
		}
		servertest.CheckFHIR(t, raw)
	}
}

// TestNodeClients: a connected system registered by an administrator gets a backend-services
// token with an assertion signed in node, then fhir-kit-client searches patients by name,
// pages through every next link, reads one and asks for its $everything, and fhirclient reads
// the same patient and follows the same search's pages. Every resource they received is valid
// FHIR R4, the searches found exactly the patients of that family, and the reads were audited
// under the client's identity.
func TestNodeClients(t *testing.T) {
	nodeModules(t)
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := servertest.New(t, storetest.DSN(t, d))
			admin := e.Admin()
			clin, _ := e.Clinician(admin, "doctor@haven.test")
			const family = "Quennell"
			want := map[string]bool{}
			for i := range 25 {
				m := clin.Must(201, "POST", "/api/v1/patients", map[string]string{
					"name": fmt.Sprintf("Patient%c%c %s", 'A'+i/5, 'a'+i%5, family), "birthDate": fmt.Sprintf("19%02d-03-%02d", 50+i, 1+i),
					"phone": fmt.Sprintf("+44207946%04d", i), "email": fmt.Sprintf("q%02d@haven.test", i),
				})
				want[m["patientId"].(string)] = true
			}
			clin.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "Other Family", "birthDate": "1990-01-01", "phone": "+442079469999", "email": "other@haven.test"})
			key := newClientKey(t)
			const scope = "system/*.rs"
			clientID := registerNodeClient(t, admin, key, scope)
			out := runNode(t, e, "full", clientID, key, scope, family)

			checkAssertion(t, out.Assertion, key.pub, clientID, out.Smart.TokenEndpoint)
			if out.Token.Status != 200 || !strings.EqualFold(out.Token.TokenType, "bearer") || out.Token.ExpiresIn <= 0 || out.Token.ExpiresIn > 300 {
				t.Fatalf("token = %+v, want 200, a bearer token of at most 5 minutes", out.Token)
			}
			all := slices.Concat([]json.RawMessage{out.Kit.Metadata, out.Kit.Read, out.Kit.Everything, out.FHIRClient.Read}, out.Kit.Pages, out.FHIRClient.Pages)
			for _, body := range all {
				servertest.CheckFHIR(t, body)
			}
			for name, pages := range map[string][]json.RawMessage{"fhir-kit-client": out.Kit.Pages, "fhirclient": out.FHIRClient.Pages} {
				got := patientsIn(t, name, pages, 10)
				if len(pages) < 3 || !mapsEqual(got, want) {
					t.Errorf("%s: %d pages with %d patients, want 3 pages at _count=10 with the 25 patients named %s", name, len(pages), len(got), family)
				}
			}
			var read, read2 struct {
				ResourceType, ID string
				Name             []struct{ Family string }
			}
			json.Unmarshal(out.Kit.Read, &read)
			json.Unmarshal(out.FHIRClient.Read, &read2)
			if read.ResourceType != "Patient" || !want[read.ID] || len(read.Name) == 0 || !strings.Contains(read.Name[0].Family, family) {
				t.Errorf("fhir-kit-client read %s, want one of the patients named %s", out.Kit.Read, family)
			}
			if read2.ID != read.ID || read2.ResourceType != "Patient" {
				t.Errorf("fhirclient read %s, want Patient/%s", out.FHIRClient.Read, read.ID)
			}
			var everything struct {
				ResourceType, Type string
				Entry              []struct {
					Resource struct{ ResourceType, ID string }
				}
			}
			json.Unmarshal(out.Kit.Everything, &everything)
			if everything.ResourceType != "Bundle" || !slices.ContainsFunc(everything.Entry, func(en struct {
				Resource struct{ ResourceType, ID string }
			}) bool {
				return en.Resource.ResourceType == "Patient" && en.Resource.ID == read.ID
			}) {
				t.Errorf("$everything = %s, want a Bundle holding Patient/%s", truncateJSON(out.Kit.Everything), read.ID)
			}
			audited := false
			for _, r := range e.AuditRows() {
				audited = audited || strings.Contains(r[2], clientID) && r[3] == read.ID
			}
			if !audited {
				t.Errorf("no audit entry names the client %s and the patient it read", clientID)
			}
		})
	}
}

// patientsIn collects the Patient ids of searchset pages, checking each page's size.
func patientsIn(t *testing.T, client string, pages []json.RawMessage, count int) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for i, raw := range pages {
		var b struct {
			ResourceType, Type string
			Entry              []struct {
				Resource struct{ ResourceType, ID string }
			}
		}
		json.Unmarshal(raw, &b)
		if b.ResourceType != "Bundle" || b.Type != "searchset" || len(b.Entry) > count {
			t.Errorf("%s page %d: %s, want a searchset of at most %d entries", client, i, truncateJSON(raw), count)
		}
		for _, en := range b.Entry {
			if en.Resource.ResourceType == "Patient" {
				if ids[en.Resource.ID] {
					t.Errorf("%s: Patient/%s on two pages", client, en.Resource.ID)
				}
				ids[en.Resource.ID] = true
			}
		}
	}
	return ids
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func truncateJSON(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}
