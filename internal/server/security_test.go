package server_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"haven/internal/audit"
	"haven/internal/server"
	"haven/internal/server/servertest"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// dsnFor gives each dialect's server its database: SQLite in the data dir, or a fresh schema.
func dsnFor(t *testing.T, d store.Dialect) string {
	if d == store.SQLite {
		return ""
	}
	return storetest.DSN(t, d)
}

func forEachStore(t *testing.T, fn func(t *testing.T, e *servertest.Env), options ...func(*server.Config)) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, servertest.New(t, dsnFor(t, d), options...)) })
	}
}

var ada = servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+1 555 0100 123", Email: "ada.canary@example.test"}

// TestUnauthenticatedRouteWalk walks the route table: every operation not declared public
// answers 401 without a session, before any validation or lookup. A new route that forgets its
// guard fails here.
func TestUnauthenticatedRouteWalk(t *testing.T) {
	e := servertest.New(t, "")
	anon := e.Client()
	partial := e.Client() // a session stopped at the second factor is not signed in either
	admin := e.Admin()
	partial.Email, partial.PW = admin.Email, admin.PW
	partial.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})

	routes := e.Srv.APIRoutes()
	if len(routes) < 15 {
		t.Fatalf("route table has %d routes; expected the whole API", len(routes))
	}
	for _, rt := range routes {
		path := "/api/v1" + strings.ReplaceAll(rt.Path, "{id}", "some-id")
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			code, body, raw := anon.Do(rt.Method, path, map[string]any{"garbage": true})
			if rt.Public {
				if code == http.StatusUnauthorized && rt.Path != "/auth/login" {
					t.Fatalf("public route answered 401: %s", raw)
				}
				return
			}
			if code != http.StatusUnauthorized || body["error"] == nil {
				t.Fatalf("without a session: %d %s, want 401 with an error body", code, raw)
			}
			if rt.Stage == "" { // full-session routes refuse a half-signed-in session too
				if code, _, raw := partial.Do(rt.Method, path, map[string]any{"garbage": true}); code != http.StatusForbidden {
					t.Fatalf("with a session at the second factor: %d %s, want 403", code, raw)
				}
			}
		})
	}
	// Unknown paths under the API are refused the same way.
	if code, _, _ := anon.Do("GET", "/api/v1/no-such-thing", nil); code != http.StatusUnauthorized {
		t.Fatalf("unknown API path without a session = %d, want 401", code)
	}
}

func TestClinicianReadingUnassignedPatientIsDeniedAndAudited(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		drA, _ := e.Clinician(admin, "a@haven.test")
		drB, drBID := e.Clinician(admin, "b@haven.test")
		_, pid := e.Patient(drA, ada)

		drA.Must(200, "GET", "/api/v1/patients/"+pid, nil)
		code, _, raw := drB.Do("GET", "/api/v1/patients/"+pid, nil)
		if code != http.StatusForbidden || bytes.Contains(raw, []byte("Canary")) {
			t.Fatalf("unassigned clinician read = %d %s, want 403 without PHI", code, raw)
		}
		if got, want := e.LastAudit(), [4]string{"record.read", audit.Deny, drBID, pid}; got != want {
			t.Fatalf("last audit entry = %v, want %v", got, want)
		}
		if code, _, _ := drB.Do("POST", "/api/v1/patients/"+pid+"/notes", map[string]string{"body": "sneaky"}); code != http.StatusForbidden {
			t.Fatalf("unassigned clinician note = %d, want 403", code)
		}
		if got, want := e.LastAudit(), [4]string{"note.write", audit.Deny, drBID, pid}; got != want {
			t.Fatalf("last audit entry = %v, want %v", got, want)
		}
		// A name search does not reveal a patient outside the caller's care.
		if l := drB.List(200, "POST", "/api/v1/patients/search", map[string]string{"by": "name", "q": "ada canary"}); len(l) != 0 {
			t.Fatalf("search disclosed %v", l)
		}
		if l := drA.List(200, "POST", "/api/v1/patients/search", map[string]string{"by": "name", "q": "ADA  canary"}); len(l) != 1 {
			t.Fatalf("search by the care team found %v, want the patient", l)
		}

		// Once the administrator assigns Dr B, the read is allowed.
		admin.Must(200, "POST", "/api/v1/admin/care-team", map[string]string{"patientId": pid, "clinicianId": drBID})
		drB.Must(200, "GET", "/api/v1/patients/"+pid, nil)
	})
}

func TestPatientReadingAnotherPatientIsDeniedAndAudited(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "dr@haven.test")
		p1, p1ID := e.Patient(dr, ada)
		_, p2ID := e.Patient(dr, servertest.PatientIn{Name: "Bo Other", BirthDate: "1990-01-01", Phone: "+1 555 0100 999", Email: "bo@example.test"})

		mine := p1.Must(200, "GET", "/api/v1/me/record", nil)
		if mine["patient"].(map[string]any)["name"] != "Ada Canary" {
			t.Fatalf("own record = %v", mine)
		}
		code, _, raw := p1.Do("GET", "/api/v1/patients/"+p2ID, nil)
		if code != http.StatusForbidden || bytes.Contains(raw, []byte("Bo Other")) {
			t.Fatalf("reading another patient = %d %s, want 403 without PHI", code, raw)
		}
		last := e.LastAudit()
		if last[0] != "record.read" || last[1] != audit.Deny || last[3] != p2ID {
			t.Fatalf("last audit entry = %v, want a denied record.read of %s", last, p2ID)
		}
		_ = p1ID
		// Administrators see no PHI, whatever route they try.
		if code, _, _ := admin.Do("GET", "/api/v1/patients/"+p1ID, nil); code != http.StatusForbidden {
			t.Fatalf("admin read = %d, want 403", code)
		}
		if code, _, _ := admin.Do("POST", "/api/v1/patients", map[string]string{"name": "X Y", "birthDate": "1970-01-01", "phone": "5550000", "email": "x@example.test"}); code != http.StatusForbidden {
			t.Fatalf("admin registration = %d, want 403", code)
		}
	})
}

func TestFailingAuditAppendWithholdsPHI(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "dr@haven.test")
		_, pid := e.Patient(dr, ada)
		dr.Must(200, "GET", "/api/v1/patients/"+pid, nil)

		if _, err := e.Srv.DB().Exec(`DROP TABLE audit_head`); err != nil {
			t.Fatal(err)
		}
		code, _, raw := dr.Do("GET", "/api/v1/patients/"+pid, nil)
		if code != http.StatusServiceUnavailable {
			t.Fatalf("read with a broken audit log = %d %s, want 503", code, raw)
		}
		for _, phi := range []string{"Ada", "Canary", "1980-02-29", "ada.canary"} {
			if bytes.Contains(raw, []byte(phi)) {
				t.Fatalf("response leaked %q while the audit log was down: %s", phi, raw)
			}
		}
	})
}

func TestSignInAttemptsAreAudited(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		anon := e.Client()
		// Before setup, a sign-in attempt is refused and audited.
		anon.Must(401, "POST", "/api/v1/auth/login", map[string]string{"email": "x@haven.test", "password": "whatever pw"})
		if r := e.LastAudit(); r[0] != "auth.login" || r[1] != audit.Failure {
			t.Fatalf("pre-setup attempt not audited: %v", r)
		}
		admin := e.Admin()
		cases := []struct {
			name string
			body any
		}{
			{"wrong password", map[string]string{"email": admin.Email, "password": "not the password"}},
			{"unknown account", map[string]string{"email": "nobody@haven.test", "password": "not the password"}},
			{"malformed input", map[string]string{"email": "not-an-email", "password": ""}},
			{"malformed JSON", "{"},
		}
		var bodies []string
		for _, tc := range cases {
			before := len(e.AuditRows())
			code, _, raw := anon.Do("POST", "/api/v1/auth/login", tc.body)
			if code != http.StatusUnauthorized {
				t.Fatalf("%s: %d %s", tc.name, code, raw)
			}
			rows := e.AuditRows()
			if len(rows) != before+1 || rows[len(rows)-1][0] != "auth.login" || rows[len(rows)-1][1] != audit.Failure {
				t.Fatalf("%s: audit rows %d -> %d, last %v", tc.name, before, len(rows), rows[len(rows)-1])
			}
			bodies = append(bodies, string(bytes.TrimSpace(raw[:bytes.Index(raw, []byte(`"requestId"`))])))
		}
		// Enumeration: a wrong password and an unknown account answer identically.
		if bodies[0] != bodies[1] {
			t.Fatalf("known and unknown accounts answer differently: %q vs %q", bodies[0], bodies[1])
		}
	})
}

func TestThrottledSignInIsRefusedAndAudited(t *testing.T) {
	e := servertest.New(t, "", func(c *server.Config) { c.Identity.AttemptsPerMinute = 3 })
	admin := e.Admin()
	c := e.Client()
	for range 3 {
		c.Must(401, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": "wrong passphrase"})
	}
	// Even the right password is refused once the address is over its limit, until its
	// one-minute window ends: Retry-After and the message say so.
	code, h, body, raw := c.DoHeader("POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
	if code != 429 || h.Get("Retry-After") != "60" || body["error"] != "Too many attempts. Wait 1 minute and try again." {
		t.Fatalf("over the limit = %d, Retry-After %q, %s; want 429, 60 and a one-minute wait", code, h.Get("Retry-After"), raw)
	}
	var action, outcome, reason string
	if err := e.Srv.DB().QueryRow(`SELECT action, outcome, reason FROM audit_entries ORDER BY seq DESC LIMIT 1`).Scan(&action, &outcome, &reason); err != nil {
		t.Fatal(err)
	}
	if action != "auth.login" || outcome != audit.Failure || reason != "throttled" {
		t.Fatalf("last entry = %s %s %s, want a throttled auth.login failure", action, outcome, reason)
	}
	// A minute later the address may try again.
	e.Clock.Advance(time.Minute)
	c.Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
}

func TestSecurityHeadersAndCrossSiteRefusal(t *testing.T) {
	e := servertest.New(t, "")
	c := e.Client()
	req, _ := http.NewRequest("GET", e.TS.URL+"/api/v1/openapi.json", nil)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for h, want := range map[string]string{
		"Strict-Transport-Security": "max-age=",
		"Content-Security-Policy":   "frame-ancestors 'none'",
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "no-referrer",
	} {
		if got := resp.Header.Get(h); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want it to contain %q", h, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows unsafe sources: %s", csp)
	}
	// csrf: a browser's cross-site POST is refused before it reaches a handler.
	req, _ = http.NewRequest("POST", e.TS.URL+"/api/v1/auth/login", strings.NewReader(`{"email":"a@b.c","password":"x"}`))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST = %d, want 403", resp.StatusCode)
	}
}

// TestNoPlaintextPHIAtRest writes canary PHI through the API, then scans every byte Haven
// wrote: the SQLite files (db, -wal, -shm) and everything else in the data directory, the
// server log, and a text dump of every PostgreSQL table (patient_search_tokens among them). No
// canary may appear, in clear or hex.
// The canaries include a patient's changed phone number and e-mail address, a patient without
// an address who signs in with their phone number, and (with e-mail on) a new address waiting
// for its confirmation.
func TestNoPlaintextPHIAtRest(t *testing.T) {
	canary := servertest.PatientIn{Name: "Zephyrine Quillfeather", BirthDate: "1961-07-04", Phone: "+1 555 0199 4242", Email: "zephyrine.quill@canary.example"}
	moved := map[string]string{"phone": "+1 555 0177 3131", "email": "zephyrine.moved@canary.example"}
	byPhone := servertest.PatientIn{Name: "Ignatius Phonebright", BirthDate: "1958-03-09", Phone: "+44 7700 900 417"}
	const pending = "zephyrine.pending@canary.example"
	note := "CANARY-NOTE suspected xerophthalmia, review in 2 weeks"
	// A visit's PHI: the intake answers, a guest's name, the summary note.
	intake := map[string]string{"reason": "CANARY-INTAKE cluster headaches", "symptoms": "photophobia since Tuesday", "medications": "sumatriptan 50 mg", "questions": "is it safe to fly?"}
	const guestName, summary = "Philomena Guestworthy", "CANARY-SUMMARY trial of verapamil"
	// A charge's PHI: its codes and note, sealed together. The diagnosis canary is a well-shaped
	// ICD-10-CM code that nothing else here writes and random bytes would not spell by chance (8
	// characters); the procedure code shares its ciphertext.
	const chargeDiagnosis, chargeNote = "V97.33XD", "CANARY-CHARGE-NOTE billed after the ambulance ride"
	// The structured record: a canary in every field of every kind of item.
	items := []struct {
		kind string
		body map[string]any
	}{
		{"conditions", map[string]any{"text": "CANARY-CONDITION porphyria", "code": map[string]string{"system": "http://snomed.info/sct", "code": "CANARYCODE-77", "display": "canarydisplay"}, "note": "CANARY-CONDNOTE flares in summer"}},
		{"allergies", map[string]any{"text": "CANARY-ALLERGY quinine", "reaction": "CANARY-REACTION angioedema", "severity": "severe", "category": "medication", "note": "CANARY-ALLERGYNOTE"}},
		{"medications", map[string]any{"text": "CANARY-MED hydroxychloroquine", "dosage": "CANARY-DOSAGE 200 mg twice daily", "note": "CANARY-MEDNOTE"}},
		{"immunizations", map[string]any{"text": "CANARY-VACCINE yellow fever", "lot": "CANARYLOT-4411", "note": "CANARY-IMMNOTE"}},
		{"observations", map[string]any{"code": map[string]string{"code": "85354-9"}, "systolic": 187.25, "diastolic": 113.75, "note": "CANARY-OBSNOTE taken after stairs"}},
		{"observations", map[string]any{"code": map[string]string{"code": "29463-7"}, "value": 61.375}},
	}
	canaries := []string{canary.Name, "Zephyrine", "Quillfeather", canary.BirthDate, "0199 4242", "15550199", canary.Email, "zephyrine.quill", "xerophthalmia", "CANARY-NOTE",
		"0177 3131", "15550177", "zephyrine.moved", "Phonebright", "Ignatius", byPhone.BirthDate, "900 417", "7700900417", "zephyrine.pending",
		"CANARY-INTAKE", "cluster headaches", "photophobia", "sumatriptan", "safe to fly", "Guestworthy", "Philomena", "CANARY-SUMMARY", "verapamil",
		"CANARY-CONDITION", "porphyria", "CANARYCODE-77", "canarydisplay", "CANARY-CONDNOTE", "CANARY-ALLERGY", "quinine", "CANARY-REACTION", "angioedema",
		"CANARY-ALLERGYNOTE", "CANARY-MED", "hydroxychloroquine", "CANARY-DOSAGE", "CANARY-MEDNOTE", "CANARY-VACCINE", "yellow fever", "CANARYLOT-4411",
		"CANARY-IMMNOTE", "CANARY-OBSNOTE", "after stairs", "187.25", "113.75", "61.375",
		chargeDiagnosis, "CANARY-CHARGE-NOTE", "ambulance ride"}
	canaries = append(canaries, docNoteCanaries...)
	canaries = append(canaries, rxCanaries()...)
	canaries = append(canaries, "CANARY-FHIRCOND", "amyloidosis", "CANARY-FHIRNOTE", "from the lab's analyser")
	scan := func(t *testing.T, where string, data []byte) {
		lower := bytes.ToLower(data)
		for _, c := range canaries {
			for _, form := range [][]byte{[]byte(strings.ToLower(c)), []byte(hex.EncodeToString([]byte(c)))} {
				if bytes.Contains(lower, form) {
					t.Errorf("%s contains canary %q", where, c)
				}
			}
		}
	}
	// scanEnv scans everything e's server wrote.
	scanEnv := func(t *testing.T, e *servertest.Env, d store.Dialect) {
		// A backup of the installation (as haven backup writes it) holds no plaintext PHI either.
		scan(t, "backup archive", backupArchive(t, e))
		if d == store.SQLite {
			// Checkpoint nothing: scan the WAL as it is, and the main file.
			filepath.Walk(e.DataDir, func(path string, info os.FileInfo, err error) error {
				if err != nil || info.IsDir() {
					return err
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				scan(t, "data file "+filepath.Base(path), b)
				if info.Mode().Perm() != 0o600 {
					t.Errorf("%s has mode %o, want 600", filepath.Base(path), info.Mode().Perm())
				}
				return nil
			})
			for _, f := range []string{"haven.db", "haven.db-wal", "haven.db-shm"} {
				if _, err := os.Stat(filepath.Join(e.DataDir, f)); err != nil {
					t.Errorf("expected SQLite file %s to be scanned: %v", f, err)
				}
			}
		} else {
			scan(t, "PostgreSQL dump", dumpTables(t, e.Srv.DB()))
		}
		scan(t, "server log", e.Log.Bytes())
	}
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			e := servertest.New(t, dsnFor(t, d))
			admin := e.Admin()
			dr, drID := e.Clinician(admin, "dr@haven.test")
			p, pid := e.Patient(dr, canary)
			dr.Must(201, "POST", "/api/v1/patients/"+pid+"/notes", map[string]string{"body": note})
			visitWithPHI(t, e, dr, drID, p, intake, guestName, summary)
			charged := endedVisit(t, e, drID, pid, e.Clock.Now().Add(-5*time.Hour))
			ch := dr.Must(201, "POST", "/api/v1/charges", map[string]any{"visitId": charged, "procedureCodes": []string{"99213"},
				"diagnosisCodes": []string{chargeDiagnosis}, "amount": 12500, "note": chargeNote})
			if got := dr.Must(200, "GET", "/api/v1/charges/"+ch["id"].(string), nil); got["note"] != chargeNote || servertest.Strings(got["diagnosisCodes"])[0] != chargeDiagnosis {
				t.Fatalf("the charge reads back as %v", got)
			}
			for _, it := range items {
				dr.Must(201, "POST", "/api/v1/patients/"+pid+"/"+it.kind, it.body)
			}
			if sum := dr.Must(200, "GET", "/api/v1/patients/"+pid+"/summary", nil); !strings.Contains(string(mustJSON(t, sum)), "angioedema") {
				t.Fatalf("the summary does not show the allergy: %v", sum)
			}
			documentAndNotePHI(t, e, dr, drID, p, pid)
			canaries = append(canaries, prescriptionWithPHI(t, e, dr, pid)...)
			fhirWritesPHI(t, e, admin, pid)
			for by, q := range map[string]string{"name": "zephyrine QUILLFEATHER", "email": " Zephyrine.Quill@canary.example", "phone": "15550199 4242", "birthDate": canary.BirthDate} {
				if l := dr.List(200, "POST", "/api/v1/patients/search", map[string]string{"by": by, "q": q}); len(l) != 1 || l[0].(map[string]any)["id"] != pid {
					t.Fatalf("blind-index search by %s found %v", by, l)
				}
			}
			// Free text goes through the search tokens, which the scan below covers too.
			for _, q := range []string{"quill ZEPHYRINE", "+1 555 0199 4242", "zeph 1961-07-04"} {
				if l := dr.List(200, "POST", "/api/v1/patients/search", map[string]string{"q": q}); len(l) != 1 || l[0].(map[string]any)["patientId"] != pid {
					t.Fatalf("search token search %q found %v", q, l)
				}
			}
			rec := p.Must(200, "GET", "/api/v1/me/record", nil)
			if !strings.Contains(string(mustJSON(t, rec["notes"])), "xerophthalmia") {
				t.Fatalf("patient cannot read the note: %v", rec)
			}
			// Failed sign-ins with PHI-like input must not reach the log either.
			e.Client().Do("POST", "/api/v1/auth/login", map[string]string{"email": canary.Email, "password": "Quillfeather"})
			// The patient's new contact details, and a patient who signs in with a phone number.
			p.Must(200, "PUT", "/api/v1/me/contact", moved)
			phonePatient(t, e, dr, byPhone.Name, byPhone.Phone)
			e.Client().Must(200, "POST", "/api/v1/auth/login", map[string]string{"phone": byPhone.Phone, "password": "quiet orchard bicycle river"})
			e.Client().Do("POST", "/api/v1/auth/login", map[string]string{"phone": "+44 7700 900 4170", "password": "Phonebright"})
			scanEnv(t, e, d)

			// With e-mail on, a new address waits, sealed, for its confirmation.
			withMail, inbox := servertest.WithMail(t)
			em := servertest.New(t, dsnFor(t, d), withMail)
			emAdmin := em.Admin()
			emAdmin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "dr@haven.test", "name": "Dr Mail", "role": "clinician"})
			emDr := em.Client()
			emDr.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, servertest.LinkIn(t, servertest.MailTo(t, inbox, "dr@haven.test", 1))), "password": "staff passphrase"})
			emDr.Enrol()
			emDr.Must(201, "POST", "/api/v1/patients", map[string]string{"name": canary.Name, "birthDate": canary.BirthDate, "phone": canary.Phone, "email": canary.Email})
			emPat := em.Client()
			emPat.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, servertest.LinkIn(t, servertest.MailTo(t, inbox, canary.Email, 1))), "password": "quiet orchard bicycle river"})
			if m := emPat.Must(200, "PUT", "/api/v1/me/contact", map[string]string{"phone": canary.Phone, "email": pending}); m["emailChange"] != "confirmation-sent" {
				t.Fatalf("with e-mail the new address should wait: %v", m)
			}
			servertest.MailTo(t, inbox, pending, 1)
			em.Srv.Identity().Wait()
			scanEnv(t, em, d)
		})
	}
}

// visitWithPHI runs a whole visit through the API, leaving its PHI at rest: the patient books
// their clinician, accepts the consent, checks in, answers the intake and agrees to a guest; the
// clinician admits, invites the guest by name and ends the visit with a summary.
func visitWithPHI(t *testing.T, e *servertest.Env, dr *servertest.Client, drID string, p *servertest.Client, intake map[string]string, guest, summary string) {
	t.Helper()
	var week []map[string]string
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		week = append(week, map[string]string{"day": d, "start": "00:00", "end": "24:00"})
	}
	dr.Must(200, "PUT", "/api/v1/clinicians/"+drID+"/availability", map[string]any{"timeZone": "UTC", "slotMinutes": 10, "weekly": week})
	now := e.Clock.Now()
	slots := dr.Must(200, "GET", "/api/v1/clinicians/"+drID+"/slots?from="+now.Format(time.RFC3339)+"&to="+now.Add(time.Hour).Format(time.RFC3339), nil)["slots"].([]any)
	start := slots[1].(map[string]any)["start"]
	id := p.Must(201, "POST", "/api/v1/appointments", map[string]any{"clinicianId": drID, "start": start})["appointmentId"].(string)
	consent := e.Client().Must(200, "GET", "/api/v1/consent/telehealth", nil)
	p.Must(200, "POST", "/api/v1/me/consent/telehealth", map[string]any{"version": consent["version"]})
	visit := "/api/v1/visits/" + id
	p.Must(200, "POST", visit+"/check-in", nil)
	p.Must(200, "PUT", visit+"/intake", intake)
	p.Must(200, "POST", visit+"/guests-allowed", nil)
	dr.Must(200, "POST", visit+"/admit", nil)
	dr.Must(201, "POST", visit+"/guests", map[string]string{"name": guest, "relation": "interpreter"})
	dr.Must(200, "POST", visit+"/end", map[string]string{"summary": summary})
	if v := p.Must(200, "GET", visit, nil); v["summary"] != summary {
		t.Fatalf("the patient's ended visit = %v", v)
	}
}

// dumpTables renders every row of every table in the current schema as text.
func dumpTables(t *testing.T, db *store.DB) []byte {
	t.Helper()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) < 8 {
		t.Fatalf("dump found only %d tables", len(tables))
	}
	var out bytes.Buffer
	for _, tbl := range tables {
		r, err := db.QueryContext(ctx, `SELECT t::text FROM "`+tbl+`" t`)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var s string
			r.Scan(&s)
			out.WriteString(s)
			out.WriteByte('\n')
		}
		r.Close()
	}
	return out.Bytes()
}
