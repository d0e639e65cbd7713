package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"haven/internal/httpx"
	"haven/internal/identity"
	"haven/internal/server/servertest"
)

// TestHTTPHygieneTable runs one row per abuse of the JSON API's HTTP layer, each subtest named
// after it, on SQLite and PostgreSQL. A row fails if the safeguard it names is removed.
func TestHTTPHygieneTable(t *testing.T) {
	for _, row := range []struct {
		attack string
		run    func(t *testing.T, e *servertest.Env)
	}{
		{"oversized-body/over-1-MiB-is-413-on-every-json-route", attackOversizedBody},
		{"smuggling/trailing-data-after-the-json-value", attackTrailingData},
		{"method/wrong-method-is-405-with-allow", attackWrongMethod},
	} {
		t.Run(row.attack, func(t *testing.T) { forEachStore(t, row.run) })
	}
}

// overLimit is a JSON object one byte over the body limit: valid JSON, only too large.
func overLimit() []byte {
	const head, tail = `{"q":"`, `"}`
	return []byte(head + strings.Repeat("x", httpx.MaxBodyBytes-len(head)-len(tail)+1) + tail)
}

// attackOversizedBody: a body over 1 MiB is refused with 413 on every route that takes one,
// public or not, whatever its handler does with input it cannot parse (sign-in answers 401 to
// malformed input); a route needing a session still answers 401 first without one.
func attackOversizedBody(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	partial := e.Client() // for the routes of a session at the second factor
	partial.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
	// The caller's right is decided before the body is read, so each route is tried by a role
	// the policy lets through: a refused caller gets 403 whatever the body.
	clin, _ := e.Clinician(admin, "hygiene-clinician@haven.test")
	auditor, _ := e.Staff(admin, "hygiene-auditor@haven.test", "auditor")
	byAct := map[string]*servertest.Client{"patient.register": clin, "patient.search": clin, "note.write": clin,
		"audit.review": auditor, "audit.export": auditor, "legalhold.set": auditor,
		"condition.write": clin, "allergy.write": clin, "medication.write": clin, "observation.write": clin, "immunization.write": clin}
	reg := clin.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "Hygiene Patient", "birthDate": "1980-01-01",
		"phone": "+1 555 0100", "email": "hygiene-patient@haven.test"})
	inCare := reg["patientId"].(string) // {id} on patient routes: a patient the clinician may write for
	big := overLimit()
	var routes int
	for _, rt := range e.Srv.APIRoutes() {
		if rt.Request == nil {
			continue
		}
		routes++
		id := "x"
		if rt.PatientParam == "id" {
			id = inCare
		}
		path := "/api/v1" + strings.NewReplacer("{id}", id, "{seq}", "1").Replace(rt.Path)
		c := admin
		if rt.Stage == identity.StageSecondFactor {
			c = partial
		} else if byAct[rt.Act] != nil {
			c = byAct[rt.Act]
		}
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			code, _, raw := c.DoRaw(rt.Method, path, bytes.NewReader(big))
			if code != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), `"error"`) {
				t.Fatalf("%d-byte body = %d %.200s, want 413 with an error", len(big), code, raw)
			}
			if !rt.Public {
				if code, _, _ := e.Client().DoRaw(rt.Method, path, bytes.NewReader(big)); code != http.StatusUnauthorized {
					t.Fatalf("without a session = %d, want 401 before the body is read", code)
				}
			}
		})
	}
	if routes < 20 {
		t.Fatalf("only %d routes take a body", routes)
	}
	// Exactly at the limit is not too large: a search for a long string is a 200.
	at := append([]byte(`{"by":"name","q":"`), bytes.Repeat([]byte("x"), httpx.MaxBodyBytes)...)
	at = append(at[:httpx.MaxBodyBytes-2], `"}`...)
	if code, _, raw := admin.DoRaw("POST", "/api/v1/patients/search", bytes.NewReader(at)); code == http.StatusRequestEntityTooLarge {
		t.Fatalf("a body of exactly %d bytes = %d %.200s", len(at), code, raw)
	}
}

// attackTrailingData: a JSON value followed by anything but white space is refused, however the
// rest begins (a closing bracket fooled the old check) and however long it is.
func attackTrailingData(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "dr@haven.test")
	value := `{"by":"name","q":"ada canary"}`
	for _, tc := range []struct {
		name  string
		trail string
		want  int
	}{
		{"white space", " \r\n\t\n", http.StatusOK},
		{"second object", `{"by":"email","q":"x"}`, http.StatusBadRequest},
		{"closing bracket then garbage", `}` + strings.Repeat("A", 4096), http.StatusBadRequest},
		{"white space then garbage", strings.Repeat(" ", 64<<10) + "garbage", http.StatusBadRequest},
		{"over 1 MiB of garbage", `]` + strings.Repeat("G", httpx.MaxBodyBytes+1), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, raw := dr.DoRaw("POST", "/api/v1/patients/search", strings.NewReader(value+tc.trail))
			if code != tc.want {
				t.Fatalf("JSON value then %s = %d %.200s, want %d", tc.name, code, raw, tc.want)
			}
		})
	}
}

// attackWrongMethod: a method a path does not serve is a 405 naming the methods it does, from
// the route table, with or without a session; an unknown path is still refused as before.
func attackWrongMethod(t *testing.T, e *servertest.Env) {
	admin := e.Admin()
	anon := e.Client()
	for _, tc := range []struct {
		method, path, allow string
	}{
		{"DELETE", "/api/v1/me", "GET, HEAD"},
		{"PUT", "/api/v1/patients", "GET, HEAD, POST"},
		{"GET", "/api/v1/auth/login", "POST"},
		{"POST", "/api/v1/patients/some-id", "GET, HEAD"},
		{"POST", "/api/v1/passkeys/some-id", "DELETE, PATCH"},
		{"DELETE", "/api/v1/patients/search", "GET, HEAD, POST"}, // GET is getPatientRecord's {id}
		{"OPTIONS", "/api/v1/openapi.json", "GET, HEAD"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			for _, c := range []*servertest.Client{admin, anon} {
				code, h, raw := c.DoRaw(tc.method, tc.path, nil)
				var body map[string]any
				json.Unmarshal(raw, &body)
				if code != http.StatusMethodNotAllowed || h.Get("Allow") != tc.allow || body["error"] == nil {
					t.Fatalf("= %d Allow %q %s, want 405 Allow %q with an error", code, h.Get("Allow"), raw, tc.allow)
				}
			}
		})
	}
	if code, _, _ := anon.DoRaw("DELETE", "/api/v1/no-such-thing", nil); code != http.StatusUnauthorized {
		t.Fatalf("unknown path without a session = %d, want 401", code)
	}
	if code, _, _ := admin.DoRaw("DELETE", "/api/v1/no-such-thing", nil); code != http.StatusNotFound {
		t.Fatalf("unknown path = %d, want 404", code)
	}
	// HEAD is served wherever GET is, and answers no body.
	code, _, raw := admin.DoRaw("HEAD", "/api/v1/me", nil)
	if code != http.StatusOK || len(raw) != 0 {
		t.Fatalf("HEAD /api/v1/me = %d %q", code, raw)
	}
}
