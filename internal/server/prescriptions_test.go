package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"haven/internal/clinical/rx"
	"haven/internal/keys"
	"haven/internal/server/servertest"
)

// rxEnv is a clinician with a patient in their care, and the patient's client.
type rxEnv struct {
	e                 *servertest.Env
	clin, patient     *servertest.Client
	clinID, patientID string
}

func newRxEnv(t *testing.T, e *servertest.Env) rxEnv {
	t.Helper()
	admin := e.Admin()
	clin, clinID := e.Clinician(admin, "rx-dr@haven.test")
	patient, pid := e.Patient(clin, ada)
	return rxEnv{e: e, clin: clin, patient: patient, clinID: clinID, patientID: pid}
}

// seedItem stores a record item the way package clinical does (sealed JSON body), for the
// review to find: the record's own API is another part of this release.
func seedItem(t *testing.T, e *servertest.Env, patientID, kind, status string, body map[string]any) {
	t.Helper()
	ctx := context.Background()
	id := "item-" + kind + "-" + strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "")
	plain, _ := json.Marshal(body)
	ct, err := e.Srv.Keys().Seal(ctx, patientID, keys.Location{Table: "record_items", Row: id, Field: "body"}, plain)
	if err != nil {
		t.Fatal(err)
	}
	now := e.Clock.Now().UnixNano()
	if _, err := e.Srv.DB().ExecContext(ctx, `INSERT INTO record_items (id, patient_id, kind, status, body_ct, patient_reported, recorded_by, effective_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, 0, 'seed', $6, $6, $6)`, id, patientID, kind, status, ct, now); err != nil {
		t.Fatal(err)
	}
}

func (r rxEnv) draft(t *testing.T, content map[string]any) map[string]any {
	t.Helper()
	body := map[string]any{"patientId": r.patientID, "quantity": "21 capsules"}
	for k, v := range content {
		body[k] = v
	}
	return r.clin.Must(201, "POST", "/api/v1/prescriptions", body)
}

func warningKinds(p map[string]any) []string {
	var out []string
	ws, _ := p["warnings"].([]any)
	for _, w := range ws {
		out = append(out, w.(map[string]any)["kind"].(string))
	}
	return out
}

// signWithKey signs a draft with the prescriber's key after a fresh second factor and returns
// the verification code.
func (r rxEnv) signWithKey(t *testing.T, id string) string {
	t.Helper()
	r.e.Clock.Advance(31 * time.Second)
	r.clin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": r.clin.Code()})
	s := r.clin.Must(200, "POST", "/api/v1/prescriptions/"+id+"/signature", map[string]string{"method": "key"})
	code, _ := s["verificationCode"].(string)
	if len(code) != 11 {
		t.Fatalf("signed = %v, want a verification code", s)
	}
	return code
}

// signWithPasskey runs the signing ceremony with a.
func (r rxEnv) signWithPasskey(t *testing.T, a *servertest.Authenticator, id string) (int, map[string]any) {
	t.Helper()
	st := r.clin.Must(200, "POST", "/api/v1/prescriptions/"+id+"/signing", nil)
	if st["method"] != "passkey" {
		t.Fatalf("signing with a passkey = %v", st)
	}
	opts := st["options"].(map[string]any)
	cred, err := a.Get(opts["publicKey"])
	if err != nil {
		t.Fatal(err)
	}
	code, m, _ := r.clin.Do("POST", "/api/v1/prescriptions/"+id+"/signature", map[string]any{"method": "passkey", "ceremony": opts["ceremony"], "credential": cred})
	return code, m
}

func (r rxEnv) addPasskey(t *testing.T) *servertest.Authenticator {
	t.Helper()
	a := &servertest.Authenticator{Origin: r.e.BaseURL}
	r.e.Clock.Advance(31 * time.Second)
	r.clin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": r.clin.Code()})
	if code := r.clin.RegisterPasskey(a, "Laptop"); code != http.StatusCreated {
		t.Fatalf("register passkey = %d", code)
	}
	return a
}

func verification(e *servertest.Env, id, code string) (int, map[string]any, []byte) {
	return e.Client().Do("GET", "/api/v1/prescriptions/"+id+"/verification?code="+code, nil)
}

// TestAllergyWarning: a draft for a drug the patient is listed as allergic to (by normalised
// name, or by code) carries the warning; once changed to another drug it does not, and an
// inactive allergy warns of nothing.
func TestAllergyWarning(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		r := newRxEnv(t, e)
		seedItem(t, e, r.patientID, "allergy", "active", map[string]any{"text": "Penicillin", "reaction": "hives"})
		seedItem(t, e, r.patientID, "allergy", "active", map[string]any{"text": "Sulfa drugs", "code": map[string]string{"code": "10831"}})
		seedItem(t, e, r.patientID, "allergy", "inactive", map[string]any{"text": "Codeine"})
		p := r.draft(t, map[string]any{"medication": "PENICILLIN V-Potassium", "strength": "250 mg"})
		if k := warningKinds(p); len(k) != 1 || k[0] != "allergy" || !strings.Contains(p["warnings"].([]any)[0].(map[string]any)["message"].(string), "Listed allergy: Penicillin (hives)") {
			t.Fatalf("warnings = %v", p["warnings"])
		}
		id := p["id"].(string)
		if got := r.clin.Must(200, "GET", "/api/v1/prescriptions/"+id, nil); len(warningKinds(got)) != 1 {
			t.Fatalf("read again: warnings = %v", got["warnings"])
		}
		changed := r.clin.Must(200, "PUT", "/api/v1/prescriptions/"+id, map[string]any{"medication": "Azithromycin", "quantity": "6 tablets"})
		if k := warningKinds(changed); len(k) != 0 {
			t.Fatalf("after the change: warnings = %v", changed["warnings"])
		}
		coded := r.draft(t, map[string]any{"medication": "Bactrim", "code": "10831"})
		if k := warningKinds(coded); len(k) != 1 || k[0] != "allergy" {
			t.Fatalf("a match by code: warnings = %v", coded["warnings"])
		}
		if k := warningKinds(r.draft(t, map[string]any{"medication": "Codeine phosphate"})); len(k) != 0 {
			t.Fatalf("an inactive allergy warned: %v", k)
		}
	})
}

// TestDuplicateMedicationWarning: a draft of a medication the patient takes warns of a
// duplicate (case, salt and strength set aside); a stopped one does not.
func TestDuplicateMedicationWarning(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		r := newRxEnv(t, e)
		seedItem(t, e, r.patientID, "medication", "active", map[string]any{"text": "Lisinopril 10 mg tablet", "dosage": "once a day"})
		seedItem(t, e, r.patientID, "medication", "stopped", map[string]any{"text": "Metformin hydrochloride 500mg"})
		p := r.draft(t, map[string]any{"medication": "lisinopril", "strength": "20 mg"})
		if k := warningKinds(p); len(k) != 1 || k[0] != "duplicate" {
			t.Fatalf("warnings = %v", p["warnings"])
		}
		if k := warningKinds(r.draft(t, map[string]any{"medication": "Metformin"})); len(k) != 0 {
			t.Fatalf("a stopped medication warned: %v", k)
		}
	})
}

// TestControlledSubstanceNeedsPasskey: a controlled substance cannot be signed with the key,
// even after a fresh second factor; with a passkey it can.
func TestControlledSubstanceNeedsPasskey(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		r := newRxEnv(t, e)
		id := r.draft(t, map[string]any{"medication": "Oxycodone", "strength": "5 mg", "quantity": "10 tablets", "schedule": "II"})["id"].(string)
		e.Clock.Advance(31 * time.Second)
		r.clin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": r.clin.Code()})
		m := r.clin.Must(409, "POST", "/api/v1/prescriptions/"+id+"/signing", nil)
		if !strings.Contains(m["error"].(string), "passkey") {
			t.Fatalf("refusal = %v, want words about the passkey", m)
		}
		r.clin.Must(409, "POST", "/api/v1/prescriptions/"+id+"/signature", map[string]string{"method": "key"})
		a := r.addPasskey(t)
		e.Clock.Advance(10 * time.Minute) // the passkey's assertion is the step-up
		if code, s := r.signWithPasskey(t, a, id); code != 200 || s["prescription"].(map[string]any)["signedWith"] != "passkey" {
			t.Fatalf("signed with the passkey = %d %v", code, s)
		}
	})
}

// TestKeyPathNeedsFreshSecondFactor: without a second factor in the last five minutes the key
// does not sign (a step-up answer, audited); right after one it does.
func TestKeyPathNeedsFreshSecondFactor(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		r := newRxEnv(t, e)
		id := r.draft(t, map[string]any{"medication": "Amoxicillin"})["id"].(string)
		e.Clock.Advance(6 * time.Minute)
		m := r.clin.Must(http.StatusForbidden, "POST", "/api/v1/prescriptions/"+id+"/signature", map[string]string{"method": "key"})
		if !strings.Contains(m["error"].(string), "(step-up)") {
			t.Fatalf("stale factor = %v", m)
		}
		if last := e.LastAudit(); last[0] != "prescription.sign" {
			t.Fatalf("last audit = %v, want the refused signature", last)
		}
		if st := r.clin.Must(200, "POST", "/api/v1/prescriptions/"+id+"/signing", nil); st["method"] != "key" {
			t.Fatalf("signing without a passkey = %v, want the key", st)
		}
		r.signWithKey(t, id)
		if p := r.clin.Must(200, "GET", "/api/v1/prescriptions/"+id, nil); p["status"] != "signed" || p["signedWith"] != "key" {
			t.Fatalf("signed = %v", p)
		}
		r.clin.Must(409, "PUT", "/api/v1/prescriptions/"+id, map[string]any{"medication": "Amoxicillin", "quantity": "99 capsules"})
	})
}

// TestDispenseOnce: a pharmacy's check answers valid, a dispense works once (the second is a
// 409 in words), and the check then answers dispensed. A cancelled one is not dispensed; a
// renewal is a new draft.
func TestDispenseOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		r := newRxEnv(t, e)
		id := r.draft(t, map[string]any{"medication": "Amoxicillin", "strength": "500 mg", "form": "capsule"})["id"].(string)
		code := r.signWithKey(t, id)
		st, v, raw := verification(e, id, code)
		if st != 200 || v["status"] != "valid" || v["signatureVerifies"] != true || v["medication"] != "Amoxicillin 500 mg capsule" || v["patientInitials"] != "A. C." {
			t.Fatalf("verification = %d %s", st, raw)
		}
		if bytes.Contains(raw, []byte(ada.Name)) || bytes.Contains(raw, []byte(ada.BirthDate)) || bytes.Contains(raw, []byte(r.patientID)) {
			t.Fatalf("the check disclosed more than the paper: %s", raw)
		}
		pharmacy := e.Client()
		pharmacy.Must(200, "POST", "/api/v1/prescriptions/"+id+"/dispense", map[string]string{"code": strings.ToLower(code)})
		if m := pharmacy.Must(409, "POST", "/api/v1/prescriptions/"+id+"/dispense", map[string]string{"code": code}); !strings.Contains(m["error"].(string), "already dispensed") {
			t.Fatalf("second dispense = %v", m)
		}
		if _, v, _ := verification(e, id, code); v["status"] != "dispensed" {
			t.Fatalf("after dispensing = %v", v)
		}
		renewed := r.clin.Must(201, "POST", "/api/v1/prescriptions/"+id+"/renewal", nil)
		if renewed["status"] != "draft" || renewed["renewedFrom"] != id || renewed["medication"] != "Amoxicillin" {
			t.Fatalf("renewal = %v", renewed)
		}

		other := r.draft(t, map[string]any{"medication": "Ibuprofen"})["id"].(string)
		oc := r.signWithKey(t, other)
		r.clin.Must(200, "POST", "/api/v1/prescriptions/"+other+"/cancellation", nil)
		if _, v, _ := verification(e, other, oc); v["status"] != "cancelled" {
			t.Fatalf("cancelled = %v", v)
		}
		pharmacy.Must(409, "POST", "/api/v1/prescriptions/"+other+"/dispense", map[string]string{"code": oc})
	})
}

// TestVerificationWrongCodeIsNotFound: a wrong code, an unknown prescription and a draft
// answer the same 404, which names nothing.
func TestVerificationWrongCodeIsNotFound(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		r := newRxEnv(t, e)
		id := r.draft(t, map[string]any{"medication": "Amoxicillin"})["id"].(string)
		draft := r.draft(t, map[string]any{"medication": "Ibuprofen"})["id"].(string)
		r.signWithKey(t, id)
		_, _, unknown := verification(e, "no-such-prescription", "ABCDE-FGHJK")
		for _, c := range []struct{ id, code string }{{id, "ABCDE-FGHJK"}, {id, ""}, {draft, "ABCDE-FGHJK"}} {
			st, _, raw := verification(e, c.id, c.code)
			if st != http.StatusNotFound || !sameError(raw, unknown) {
				t.Fatalf("%s with %q = %d %s, want %s", c.id, c.code, st, raw, unknown)
			}
		}
		if st, _, _ := e.Client().Do("POST", "/api/v1/prescriptions/"+id+"/dispense", map[string]string{"code": "ABCDE-FGHJK"}); st != http.StatusNotFound {
			t.Fatalf("dispense with a wrong code = %d", st)
		}
	})
}

// sameError compares two error answers without their request identifiers.
func sameError(a, b []byte) bool {
	var x, y map[string]any
	json.Unmarshal(a, &x)
	json.Unmarshal(b, &y)
	return x["error"] != nil && x["error"] == y["error"]
}

// TestVerificationThrottled: wrong codes count; past the limit even the right code waits.
func TestVerificationThrottled(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		r := newRxEnv(t, e)
		id := r.draft(t, map[string]any{"medication": "Amoxicillin"})["id"].(string)
		code := r.signWithKey(t, id)
		for range 10 {
			if st, _, _ := verification(e, id, "ZZZZZ-ZZZZZ"); st != http.StatusNotFound {
				t.Fatalf("wrong code = %d", st)
			}
		}
		st, h, _ := e.Client().DoRaw("GET", "/api/v1/prescriptions/"+id+"/verification?code="+code, nil)
		if st != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
			t.Fatalf("after ten wrong codes = %d %v", st, h)
		}
		e.Clock.Advance(16 * time.Minute)
		if st, _, _ := verification(e, id, code); st != 200 {
			t.Fatalf("after the window = %d", st)
		}
	})
}

// TestPrescriberKeyInAuditLog: the first signature with a key (the key service's, then a
// passkey) records the public key as an audit leaf; a second one with the same key does not.
func TestPrescriberKeyInAuditLog(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		r := newRxEnv(t, e)
		leaves := func() []string {
			var out []string
			rows, err := e.Srv.DB().QueryContext(context.Background(), `SELECT resource_id, reason FROM audit_entries WHERE action = 'prescriber.key-add' AND actor_id = $1 ORDER BY seq`, r.clinID)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var id, reason string
				rows.Scan(&id, &reason)
				out = append(out, id+" "+reason)
			}
			return out
		}
		for range 2 {
			r.signWithKey(t, r.draft(t, map[string]any{"medication": "Amoxicillin"})["id"].(string))
		}
		if l := leaves(); len(l) != 1 || !strings.Contains(l[0], " ed25519 ") {
			t.Fatalf("leaves after two key signatures = %v", l)
		}
		a := r.addPasskey(t)
		for range 2 {
			if code, s := r.signWithPasskey(t, a, r.draft(t, map[string]any{"medication": "Ibuprofen"})["id"].(string)); code != 200 {
				t.Fatalf("passkey signature = %d %v", code, s)
			}
		}
		if l := leaves(); len(l) != 2 || !strings.Contains(l[1], " webauthn-cose ") {
			t.Fatalf("leaves after two passkey signatures = %v", l)
		}

		// A valid signature by a key with no leaf does not count: someone who can write the
		// database (and even seal under the patient's key) cannot bring their own key.
		id := r.draft(t, map[string]any{"medication": "Amoxicillin"})["id"].(string)
		code := r.signWithKey(t, id)
		ctx := context.Background()
		var ct []byte
		var issued int64
		if err := e.Srv.DB().QueryRowContext(ctx, `SELECT body_ct, issued_at FROM prescriptions WHERE id = $1`, id).Scan(&ct, &issued); err != nil {
			t.Fatal(err)
		}
		loc := keys.Location{Table: "prescriptions", Row: id, Field: "body"}
		plain, err := e.Srv.Keys().Open(ctx, r.patientID, loc, ct)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Content   rx.Content   `json:"content"`
			Signature rx.Signature `json:"signature"`
			Code      string       `json:"code"`
		}
		if err := json.Unmarshal(plain, &body); err != nil {
			t.Fatal(err)
		}
		pub, priv, _ := ed25519.GenerateKey(nil)
		canon := rx.Canonical(rx.Header{PrescriptionID: id, PatientID: r.patientID, PrescriberID: r.clinID, IssuedAt: time.Unix(0, issued)}, body.Content)
		body.Signature = rx.Signature{Method: rx.MethodKey, PublicKey: pub, Signature: ed25519.Sign(priv, rx.Digest(canon))}
		if err := rx.Verify(canon, body.Signature); err != nil {
			t.Fatalf("the forged signature should verify by itself: %v", err)
		}
		plain, _ = json.Marshal(body)
		if ct, err = e.Srv.Keys().Seal(ctx, r.patientID, loc, plain); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Srv.DB().ExecContext(ctx, `UPDATE prescriptions SET body_ct = $1 WHERE id = $2`, ct, id); err != nil {
			t.Fatal(err)
		}
		if st, v, raw := verification(e, id, code); st != 200 || v["signatureVerifies"] != false {
			t.Fatalf("a signature by a key with no audit leaf = %d %s", st, raw)
		}
	})
}

// TestPrescriptionTamperedFailsVerification alters a signed prescription's stored content by
// one byte: (i) in the ciphertext, which then does not open (the check fails and the privacy
// officer is alerted); (ii) in the plaintext, sealed again under the patient's key as the
// service would, which opens but whose signature no longer verifies.
func TestPrescriptionTamperedFailsVerification(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		r := newRxEnv(t, e)
		ctx := context.Background()
		db := e.Srv.DB()
		load := func(id string) []byte {
			var ct []byte
			if err := db.QueryRowContext(ctx, `SELECT body_ct FROM prescriptions WHERE id = $1`, id).Scan(&ct); err != nil {
				t.Fatal(err)
			}
			return ct
		}
		store := func(id string, ct []byte) {
			if _, err := db.ExecContext(ctx, `UPDATE prescriptions SET body_ct = $1 WHERE id = $2`, ct, id); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("ciphertext", func(t *testing.T) {
			id := r.draft(t, map[string]any{"medication": "Amoxicillin"})["id"].(string)
			code := r.signWithKey(t, id)
			ct := load(id)
			ct[len(ct)-5] ^= 1
			store(id, ct)
			if st, v, raw := verification(e, id, code); st == 200 || v["status"] == "valid" {
				t.Fatalf("a tampered ciphertext verified: %d %s", st, raw)
			}
		})
		t.Run("plaintext re-sealed", func(t *testing.T) {
			var a *servertest.Authenticator
			for _, method := range []string{"key", "passkey"} {
				if method == "passkey" {
					a = r.addPasskey(t)
				}
				id := r.draft(t, map[string]any{"medication": "Amoxicillin", "quantity": "21 capsules"})["id"].(string)
				var code string
				if method == "key" {
					code = r.signWithKey(t, id)
				} else {
					st, s := r.signWithPasskey(t, a, id)
					if st != 200 {
						t.Fatalf("passkey signature = %d %v", st, s)
					}
					code = s["verificationCode"].(string)
				}
				if _, v, _ := verification(e, id, code); v["signatureVerifies"] != true {
					t.Fatalf("%s: untouched = %v", method, v)
				}
				loc := keys.Location{Table: "prescriptions", Row: id, Field: "body"}
				plain, err := e.Srv.Keys().Open(ctx, r.patientID, loc, load(id))
				if err != nil {
					t.Fatal(err)
				}
				altered := bytes.Replace(plain, []byte(`"21 capsules"`), []byte(`"91 capsules"`), 1)
				if bytes.Equal(altered, plain) {
					t.Fatalf("nothing to alter in %s", plain)
				}
				ct, err := e.Srv.Keys().Seal(ctx, r.patientID, loc, altered)
				if err != nil {
					t.Fatal(err)
				}
				store(id, ct)
				st, v, raw := verification(e, id, code)
				if st != 200 || v["signatureVerifies"] != false || v["quantity"] != "91 capsules" {
					t.Fatalf("%s: an altered prescription = %d %s, want signatureVerifies false", method, st, raw)
				}
				st2, _, body := r.patient.DoRaw("GET", "/api/v1/prescriptions/"+id+"/printable", nil)
				if st2 != 200 || !bytes.Contains(body, []byte("does not verify")) {
					t.Fatalf("%s: the printable of an altered prescription = %d", method, st2)
				}
			}
		})
	})
}

// TestPrescriptionPrintable: the patient and the prescriber fetch the printable (HTML, and PDF
// as an attachment) with the code and the QR code; a nurse in the care team cannot.
func TestPrescriptionPrintable(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		r := newRxEnv(t, e)
		id := r.draft(t, map[string]any{"medication": "Amoxicillin"})["id"].(string)
		r.patient.Must(http.StatusNotFound, "GET", "/api/v1/prescriptions/"+id+"/printable", nil)
		r.clin.Must(http.StatusConflict, "GET", "/api/v1/prescriptions/"+id+"/printable", nil)
		if l := r.patient.List(200, "GET", "/api/v1/prescriptions", nil); len(l) != 0 {
			t.Fatalf("the patient sees a draft: %v", l)
		}
		r.patient.Must(http.StatusNotFound, "GET", "/api/v1/prescriptions/"+id, nil)
		code := r.signWithKey(t, id)
		for _, c := range []*servertest.Client{r.patient, r.clin} {
			st, h, body := c.DoRaw("GET", "/api/v1/prescriptions/"+id+"/printable", nil)
			if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte(code)) || !bytes.Contains(body, []byte("<svg")) {
				t.Fatalf("printable = %d %v", st, h)
			}
			st, h, body = c.DoRaw("GET", "/api/v1/prescriptions/"+id+"/pdf", nil)
			if st != 200 || h.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF")) || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
				t.Fatalf("pdf = %d %v", st, h)
			}
		}
		if l := r.patient.List(200, "GET", "/api/v1/prescriptions", nil); len(l) != 1 {
			t.Fatalf("the patient's list = %v", l)
		}
	})
}

// rxCanary is a prescription whose every text field is a canary (TestNoPlaintextPHIAtRest).
// The schedule ("II" to "V") and the refills (a number) are sealed with them but too short to
// scan for.
var rxCanary = map[string]any{"medication": "Canarymycin", "code": "CANARY-RXCODE-7731", "codeSystem": "urn:canary:codes",
	"strength": "CANARY-STRENGTH", "form": "canaryform lozenge", "dose": "CANARY-DOSE", "route": "canaryroute",
	"frequency": "CANARY-FREQUENCY", "quantity": "CANARY-QUANTITY", "notes": "CANARY-RXNOTE for the pharmacist", "refills": 2}

func rxCanaries() []string {
	return []string{"Canarymycin", "CANARY-RXCODE", "urn:canary", "CANARY-STRENGTH", "canaryform", "CANARY-DOSE", "canaryroute",
		"CANARY-FREQUENCY", "CANARY-QUANTITY", "CANARY-RXNOTE"}
}

// prescriptionWithPHI writes, signs, checks, prints and dispenses the canary prescription, and
// returns the printed verification code in its forms, which must not be at rest either.
func prescriptionWithPHI(t *testing.T, e *servertest.Env, dr *servertest.Client, pid string) []string {
	t.Helper()
	body := map[string]any{"patientId": pid}
	for k, v := range rxCanary {
		body[k] = v
	}
	id := dr.Must(201, "POST", "/api/v1/prescriptions", body)["id"].(string)
	r := rxEnv{e: e, clin: dr, patientID: pid}
	code := r.signWithKey(t, id)
	if st, v, raw := verification(e, id, code); st != 200 || v["signatureVerifies"] != true {
		t.Fatalf("canary verification = %d %s", st, raw)
	}
	if st, _, _ := dr.DoRaw("GET", "/api/v1/prescriptions/"+id+"/pdf", nil); st != 200 {
		t.Fatalf("canary pdf = %d", st)
	}
	renewed := dr.Must(201, "POST", "/api/v1/prescriptions/"+id+"/renewal", nil)["id"].(string)
	dr.Must(200, "POST", "/api/v1/prescriptions/"+renewed+"/cancellation", nil)
	e.Client().Must(200, "POST", "/api/v1/prescriptions/"+id+"/dispense", map[string]string{"code": code})
	return []string{code, strings.ReplaceAll(code, "-", "")}
}
