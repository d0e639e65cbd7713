package fhir_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"haven/internal/fhir"
	"haven/internal/server/servertest"
	"haven/internal/smart"
	"haven/internal/store/storetest"
)

// world is a running server on one store with an administrator, a clinician and one patient.
type world struct {
	e       *servertest.Env
	admin   *servertest.Client
	clin    *servertest.Client
	patient *servertest.Client
	pid     string
}

func newWorld(t *testing.T, dsn string) world {
	t.Helper()
	e := servertest.New(t, dsn)
	admin := e.Admin()
	clin, _ := e.Clinician(admin, "smart-clinician@haven.test")
	patient, pid := e.Patient(clin, servertest.PatientIn{Name: "Ada Lovelace", BirthDate: "1985-12-10", Phone: "+1 555 0100 201", Email: "ada.smart@example.test"})
	return world{e: e, admin: admin, clin: clin, patient: patient, pid: pid}
}

// forEachStore runs fn once per store, each with a fresh world.
func forEachStore(t *testing.T, fn func(t *testing.T, w world)) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, newWorld(t, storetest.DSN(t, d))) })
	}
}

// entry is one audit entry, as a security test checks it.
type entry struct{ action, outcome, actor, role, reason, patient string }

// entriesBy lists the audit entries whose actor is actor, oldest first.
func entriesBy(t *testing.T, e *servertest.Env, actor string) []entry {
	t.Helper()
	rows, err := e.Srv.DB().QueryContext(context.Background(),
		`SELECT action, outcome, actor_id, actor_role, reason, patient_id FROM audit_entries WHERE actor_id = $1 ORDER BY seq`, actor)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []entry
	for rows.Next() {
		var en entry
		if err := rows.Scan(&en.action, &en.outcome, &en.actor, &en.role, &en.reason, &en.patient); err != nil {
			t.Fatal(err)
		}
		out = append(out, en)
	}
	return out
}

// TestNoTokenOrABadTokenIs401 names the ways a request without a valid bearer token reaches
// the FHIR API: none, another scheme, an empty, forged or made-up token, and a token that has
// expired. Each is a 401 OperationOutcome with a WWW-Authenticate challenge.
func TestNoTokenOrABadTokenIs401(t *testing.T) {
	forEachStore(t, func(t *testing.T, w world) {
		in := w.e.RegisterIntegration(t, w.admin, "system/Patient.rs system/Observation.rs")
		expired := in.Token(t)
		w.e.Clock.Advance(5*time.Minute + time.Second)
		path := "/fhir/R4/Patient/" + w.pid
		for _, tc := range []struct{ name, auth string }{
			{"no token", ""},
			{"basic credentials", "Basic YWRtaW46YWRtaW4="},
			{"an empty bearer token", "Bearer "},
			{"a malformed token", "Bearer not a token at all"},
			{"a made-up token", "Bearer " + strings.Repeat("A", 43)},
			{"a session cookie's worth of junk", "Bearer " + strings.Repeat("x", 2000)},
			{"an expired token", "Bearer " + expired},
		} {
			code, h, body := w.e.DoBearer(t, tc.auth, "GET", path, nil)
			if code != http.StatusUnauthorized || !servertest.IsOutcome(body) || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: %d %s (WWW-Authenticate %q), want 401 OperationOutcome", tc.name, code, body, h.Get("WWW-Authenticate"))
			}
		}
		in.Bearer = ""
		if code, _, body := in.Do(t, "GET", path, nil); code == http.StatusUnauthorized {
			t.Errorf("a fresh token: %d %s", code, body)
		}
	})
}

// TestReplayedAssertionIsRefused: a signed assertion is good for one token; sent again (an
// attacker who captured it in transit or from a log), it is refused and the replay is recorded
// against the client.
func TestReplayedAssertionIsRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, w world) {
		in := w.e.RegisterIntegration(t, w.admin, "system/Observation.rs")
		a := in.Assertion(t)
		if code, m := in.RequestToken(t, a, ""); code != http.StatusOK || m["token_type"] != "bearer" || m["expires_in"] != float64(300) {
			t.Fatalf("first use = %d %v", code, m)
		}
		w.e.Clock.Advance(time.Second)
		code, m := in.RequestToken(t, a, "")
		if code != http.StatusUnauthorized || m["error"] != "invalid_client" || m["access_token"] != nil {
			t.Fatalf("replay = %d %v, want 401 invalid_client", code, m)
		}
		es := entriesBy(t, w.e, in.ID)
		last := es[len(es)-1]
		if last.action != "integration.token" || last.outcome != "failure" || last.reason != "jti-replayed" || last.role != "integration" {
			t.Errorf("the replay was recorded as %+v", last)
		}
	})
}

// TestLapsedAgreementIsRefused: when a connected system's business associate agreement is no
// longer in force, it gets no new token and the token it holds stops working at once.
func TestLapsedAgreementIsRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, w world) {
		in := w.e.RegisterIntegration(t, w.admin, "system/Observation.rs")
		held := in.Token(t)
		in.Register["agreementEnd"] = "2026-11-23" // the day before the test clock's today
		w.e.StepUp(t, w.admin)
		w.admin.Must(http.StatusOK, "PUT", "/api/v1/admin/integrations/"+in.ID, in.Register)

		code, _, body := w.e.DoBearer(t, "Bearer "+held, "GET", "/fhir/R4/Observation?patient="+w.pid, nil)
		if code != http.StatusForbidden || !servertest.IsOutcome(body) || !strings.Contains(string(body), "lapsed") {
			t.Errorf("a held token after the agreement lapsed: %d %s, want 403 OperationOutcome", code, body)
		}
		code, m := in.RequestToken(t, in.Assertion(t), "")
		if code != http.StatusUnauthorized || m["error"] != "invalid_client" || !strings.Contains(m["error_description"].(string), "lapsed") {
			t.Errorf("token after the agreement lapsed = %d %v", code, m)
		}
		var reasons []string
		for _, en := range entriesBy(t, w.e, in.ID) {
			if en.outcome == "failure" {
				reasons = append(reasons, en.action+" "+en.reason)
			}
		}
		if strings.Join(reasons, ", ") != "integration.access agreement-lapsed, integration.token agreement-lapsed" {
			t.Errorf("refusals recorded: %v", reasons)
		}
	})
}

// TestTokenOutsideItsScopeIs403: a token used for a resource type its scopes do not grant is
// refused with a 403 OperationOutcome, and the refusal is in the audit log with the client as
// the actor and the reason outside-scope.
//
// It reads Patient and searches Observation, whose types are built in parallel with this
// test: until they are merged these requests answer 404.
func TestTokenOutsideItsScopeIs403(t *testing.T) {
	forEachStore(t, func(t *testing.T, w world) {
		labs := w.e.RegisterIntegration(t, w.admin, "system/Observation.rs")
		demographics := w.e.RegisterIntegration(t, w.admin, "system/Patient.r")
		for _, tc := range []struct {
			name string
			in   *servertest.Integration
			path string
		}{
			{"a lab system reads a patient", labs, "/fhir/R4/Patient/" + w.pid},
			{"a demographics system searches observations", demographics, "/fhir/R4/Observation?patient=" + w.pid},
		} {
			code, _, body := tc.in.Do(t, "GET", tc.path, nil)
			if code != http.StatusForbidden || !servertest.IsOutcome(body) {
				t.Errorf("%s: %d %s, want 403 OperationOutcome", tc.name, code, body)
				continue
			}
			found := false
			for _, en := range entriesBy(t, w.e, tc.in.ID) {
				if en.outcome == "deny" && strings.HasPrefix(en.reason, "outside-scope") && en.role == "integration" {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: no outside-scope refusal recorded against the client: %+v", tc.name, entriesBy(t, w.e, tc.in.ID))
			}
		}
	})
}

// TestTrailNamesTheConnectedSystem: the privacy officer reads a connected system's acts under
// the name it was registered with, never its client id.
func TestTrailNamesTheConnectedSystem(t *testing.T) {
	w := newWorld(t, "")
	auditor, _ := w.e.Staff(w.admin, "smart-auditor@haven.test", "auditor")
	in := w.e.RegisterIntegration(t, w.admin, "system/Observation.rs")
	in.Token(t)
	resp, err := auditor.HTTP.PostForm(w.e.TS.URL+"/auditor/search", url.Values{"person": {in.ID}, "action": {"integration.token"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Walk Lab (connected system)") {
		t.Fatalf("the trail does not name the system: %d\n%s", resp.StatusCode, page)
	}
	if !strings.Contains(page, "asked for an access token for the FHIR API") {
		t.Errorf("the trail does not say what the system did")
	}
	if !strings.Contains(page, `<option value="`+in.ID+`" selected>Walk Lab (connected system)</option>`) {
		t.Errorf("the filter by person does not offer the system by name")
	}
}

// TestAccessLogNamesTheConnectedSystem: a patient reads a connected system's read of their
// record under the name it was registered with, as a connected system, never its client id.
//
// It reads Patient, whose type is built in parallel with this test: until it is merged the
// read answers 404.
func TestAccessLogNamesTheConnectedSystem(t *testing.T) {
	w := newWorld(t, "")
	in := w.e.RegisterIntegration(t, w.admin, "system/Patient.rs")
	if code, _, body := in.Do(t, "GET", "/fhir/R4/Patient/"+w.pid, nil); code != http.StatusOK {
		t.Fatalf("read = %d %s", code, body)
	}
	for _, ev := range w.patient.List(http.StatusOK, "GET", "/api/v1/me/access-log", nil) {
		m := ev.(map[string]any)
		if m["role"] != "integration" {
			continue
		}
		if m["who"] != "Walk Lab (connected system)" || strings.Contains(fmt.Sprint(m), in.ID) {
			t.Errorf("the access log shows the system as %v", m)
		}
		return
	}
	t.Error("the system's read is not in the patient's access log")
}

// TestTokenFloodIs429: an address that floods the token endpoint with assertions is told to
// wait (429 with Retry-After) before any more are read.
func TestTokenFloodIs429(t *testing.T) {
	w := newWorld(t, "")
	in := w.e.RegisterIntegration(t, w.admin, "system/Observation.rs")
	for i := 0; i < smart.TokenRequestsPerAddr; i++ {
		if code, m := in.RequestToken(t, "not.a.jwt", ""); code != http.StatusUnauthorized {
			t.Fatalf("request %d = %d %v", i, code, m)
		}
	}
	resp, err := w.e.TS.Client().PostForm(w.e.TS.URL+fhir.TokenPath, url.Values{"grant_type": {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {in.Assertion(t)}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("past the limit = %d (Retry-After %q), want 429", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
