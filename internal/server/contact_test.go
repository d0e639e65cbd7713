package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"haven/internal/mail/mailtest"
	"haven/internal/server/servertest"
)

// phonePatient registers a patient without an e-mail address, who activates the account from
// the link the clinician was shown with a passphrase long enough to stand alone; it returns the
// patient's client (signed in, Email holding the phone number they sign in with) and record id.
func phonePatient(t *testing.T, e *servertest.Env, clin *servertest.Client, name, phone string) (*servertest.Client, string) {
	t.Helper()
	m := clin.Must(201, "POST", "/api/v1/patients", map[string]string{"name": name, "birthDate": "1990-01-02", "phone": phone, "email": ""})
	if m["emailed"] != false || m["url"] == nil {
		t.Fatalf("a patient without an address: %v, want the link shown to the clinician", m)
	}
	p := e.Client()
	p.Email, p.PW = phone, "quiet orchard bicycle river"
	if a := p.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, m["url"].(string)), "password": p.PW}); a["stage"] != "full" {
		t.Fatalf("activation with a long passphrase: %v", a)
	}
	return p, m["patientId"].(string)
}

// TestPatientContactUpdate: a patient changes the phone number and e-mail address on their
// record through PUT /api/v1/me/contact; without e-mail both apply at once, the clinician sees
// them, and the patient signs in with the new address only. An address in use, no address,
// and staff are refused; each act is in the patient's access log.
func TestPatientContactUpdate(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "dr@haven.test")
		pat, pid := e.Patient(dr, ada)
		e.Patient(dr, servertest.PatientIn{Name: "Bea Other", BirthDate: "1970-01-01", Phone: "+1 555 0100 222", Email: "bea@example.test"})

		m := pat.Must(200, "PUT", "/api/v1/me/contact", map[string]string{"phone": "+1 555 0100 999", "email": ada.Email})
		if m["phone"] != "+1 555 0100 999" || m["email"] != ada.Email || m["emailChange"] != "unchanged" {
			t.Fatalf("phone change = %v", m)
		}
		if last := e.LastAudit(); last[0] != "record.contact-update" || last[1] != "allow" || last[3] != pid {
			t.Fatalf("phone change not audited: %v", last)
		}
		if rec := dr.Must(200, "GET", "/api/v1/patients/"+pid, nil); rec["patient"].(map[string]any)["phone"] != "+1 555 0100 999" {
			t.Fatalf("the clinician sees %v", rec["patient"])
		}
		for _, tc := range []struct {
			name string
			by   *servertest.Client
			body map[string]string
			want int
		}{
			{"another account's address", pat, map[string]string{"phone": "+1 555 0100 999", "email": "bea@example.test"}, http.StatusConflict},
			{"a staff member's address", pat, map[string]string{"phone": "+1 555 0100 999", "email": dr.Email}, http.StatusConflict},
			{"no address", pat, map[string]string{"phone": "+1 555 0100 999", "email": ""}, http.StatusUnprocessableEntity},
			{"no phone number", pat, map[string]string{"phone": "", "email": ada.Email}, http.StatusUnprocessableEntity},
			{"a clinician", dr, map[string]string{"phone": "+1 555 0100 999", "email": "dr.contact@haven.test"}, http.StatusForbidden},
			{"an administrator", admin, map[string]string{"phone": "+1 555 0100 999", "email": "admin.contact@haven.test"}, http.StatusForbidden},
		} {
			if code, _, raw := tc.by.Do("PUT", "/api/v1/me/contact", tc.body); code != tc.want {
				t.Errorf("%s: %d %s, want %d", tc.name, code, raw, tc.want)
			}
		}
		if last := e.LastAudit(); last[0] != "record.contact-update" || last[1] != "deny" {
			t.Fatalf("a staff member's attempt is not recorded as refused: %v", last)
		}

		m = pat.Must(200, "PUT", "/api/v1/me/contact", map[string]string{"phone": "+1 555 0100 999", "email": "ada.moved@example.test"})
		if m["email"] != "ada.moved@example.test" || m["emailChange"] != "changed" {
			t.Fatalf("without e-mail a new address applies at once: %v", m)
		}
		e.Client().Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": ada.Email, "password": pat.PW})
		pat.Email = "ada.moved@example.test"
		pat.Login()
		if rec := pat.Must(200, "GET", "/api/v1/me/record", nil); rec["patient"].(map[string]any)["email"] != "ada.moved@example.test" {
			t.Fatalf("the record after the change: %v", rec["patient"])
		}
		// The patient's own log reads the change in words.
		log := pat.List(200, "GET", "/api/v1/me/access-log", nil)
		var worded bool
		for _, ev := range log {
			worded = worded || strings.Contains(ev.(map[string]any)["what"].(string), "changed your phone number or e-mail address")
		}
		if !worded {
			t.Errorf("the access log does not show the change in words: %v", log)
		}
	})
}

// TestPatientContactEmailByMail: with e-mail on, a patient's new address waits for the link
// sent to it, as a staff member's does: the old address is told of the request and of the
// change, the link works once, and until it is opened the old address signs in.
func TestPatientContactEmailByMail(t *testing.T) {
	forEachStoreWithMail(t, func(t *testing.T, e *servertest.Env, inbox *mailtest.Inbox) {
		admin := e.Admin()
		admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "dr@haven.test", "name": "Dr Mail", "role": "clinician"})
		dr := e.Client()
		dr.Email, dr.PW = "dr@haven.test", "staff passphrase"
		dr.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, servertest.LinkIn(t, servertest.MailTo(t, inbox, dr.Email, 1))), "password": dr.PW})
		dr.Enrol()
		reg := dr.Must(201, "POST", "/api/v1/patients", map[string]string{"name": ada.Name, "birthDate": ada.BirthDate, "phone": ada.Phone, "email": ada.Email})
		pat := e.Client()
		pat.Email, pat.PW = ada.Email, "quiet orchard bicycle river"
		pat.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, servertest.LinkIn(t, servertest.MailTo(t, inbox, ada.Email, 1))), "password": pat.PW})
		pid := reg["patientId"].(string)

		m := pat.Must(200, "PUT", "/api/v1/me/contact", map[string]string{"phone": ada.Phone, "email": "ada.new@example.test"})
		if m["emailChange"] != "confirmation-sent" || m["email"] != ada.Email {
			t.Fatalf("with e-mail the address waits for its link: %v", m)
		}
		asked := servertest.MailAbout(t, inbox, ada.Email, "A change of your Haven e-mail address was requested")
		if strings.Contains(asked.Data, "http") || strings.Contains(asked.Data, "ada.new@") {
			t.Fatalf("the notice to the old address carries a link or the new address:\n%s", asked.Data)
		}
		link := servertest.LinkIn(t, servertest.MailAbout(t, inbox, "ada.new@example.test", "Confirm your new Haven e-mail address"))
		e.Client().Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": ada.Email, "password": pat.PW})
		if code, _, _ := e.Client().Do("GET", strings.TrimPrefix(link, e.BaseURL), nil); code != 200 {
			t.Fatalf("confirmation page: %d", code)
		}
		token := servertest.TokenOf(t, link)
		e.Client().Must(200, "POST", "/api/v1/email/confirm", map[string]string{"token": token})
		e.Client().Must(http.StatusGone, "POST", "/api/v1/email/confirm", map[string]string{"token": token})
		servertest.MailAbout(t, inbox, ada.Email, "Your Haven e-mail address was changed")
		if rec := dr.Must(200, "GET", "/api/v1/patients/"+pid, nil); rec["patient"].(map[string]any)["email"] != "ada.new@example.test" {
			t.Fatalf("the record after the link: %v", rec["patient"])
		}
		e.Client().Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": ada.Email, "password": pat.PW})
		e.Client().Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": "ada.new@example.test", "password": pat.PW})
		found := false
		for _, r := range e.AuditRows() {
			found = found || (r[0] == "record.contact-update" && r[1] == "allow" && r[3] == pid)
		}
		if !found {
			t.Error("the confirmed change is not in the patient's log")
		}
	})
}

// TestPhoneOnlyPatient: a patient registered without an e-mail address gets the invitation link
// through the clinician, even with e-mail on, and signs in with their phone number typed with its
// country code; the self-service reset by e-mail does not apply, and the clinician's sign-in
// link is shown to hand over. Adding an address makes it the sign-in name.
func TestPhoneOnlyPatient(t *testing.T) {
	forEachStoreWithMail(t, func(t *testing.T, e *servertest.Env, inbox *mailtest.Inbox) {
		admin := e.Admin()
		admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "dr@haven.test", "name": "Dr Mail", "role": "clinician"})
		dr := e.Client()
		dr.Email, dr.PW = "dr@haven.test", "staff passphrase"
		dr.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, servertest.LinkIn(t, servertest.MailTo(t, inbox, dr.Email, 1))), "password": dr.PW})
		dr.Enrol()

		dr.Must(http.StatusUnprocessableEntity, "POST", "/api/v1/patients", map[string]string{"name": "Pau Phone", "birthDate": "1990-01-02", "phone": "612 345 678", "email": ""})
		pat, pid := phonePatient(t, e, dr, "Pau Phone", "+34 612 345 678")
		dr.Must(http.StatusConflict, "POST", "/api/v1/patients", map[string]string{"name": "Pia Phone", "birthDate": "1992-01-02", "phone": "0034612345678", "email": ""})

		for _, tc := range []struct {
			body map[string]string
			want int
		}{
			{map[string]string{"phone": "+34 612 345 678", "password": pat.PW}, 200},
			{map[string]string{"phone": "34 612-345-678", "password": pat.PW}, 200},
			{map[string]string{"email": "0034612345678", "password": pat.PW}, 200}, // the sign-in page's one field
			{map[string]string{"phone": "612 345 678", "password": pat.PW}, http.StatusUnauthorized},
			{map[string]string{"phone": "+34 612 345 678", "password": "not the passphrase"}, http.StatusUnauthorized},
		} {
			if code, m, raw := e.Client().Do("POST", "/api/v1/auth/login", tc.body); code != tc.want || (code == 200 && m["stage"] != "full") {
				t.Errorf("sign in with %v = %d %s, want %d", tc.body, code, raw, tc.want)
			}
		}
		// Reset by e-mail needs an address; the clinician's sign-in link is shown to hand over.
		e.Client().Must(http.StatusUnprocessableEntity, "POST", "/api/v1/password-resets", map[string]string{"email": "+34 612 345 678"})
		e.Clock.Advance(31 * time.Second)
		dr.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": dr.Code()})
		if l := dr.Must(201, "POST", "/api/v1/patients/"+pid+"/sign-in-link", nil); l["emailed"] != false || l["url"] == nil {
			t.Fatalf("a patient without an address: sign-in link %v, want it shown", l)
		}

		pat.Must(http.StatusUnprocessableEntity, "PUT", "/api/v1/me/contact", map[string]string{"phone": "699 000 111", "email": ""})
		if m := pat.Must(200, "PUT", "/api/v1/me/contact", map[string]string{"phone": "+34 699 000 111", "email": ""}); m["emailChange"] != "unchanged" || m["email"] != "" {
			t.Fatalf("a new number = %v", m)
		}
		e.Client().Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"phone": "+34 612 345 678", "password": pat.PW})
		e.Client().Must(200, "POST", "/api/v1/auth/login", map[string]string{"phone": "+34 699 000 111", "password": pat.PW})

		if m := pat.Must(200, "PUT", "/api/v1/me/contact", map[string]string{"phone": "+34 699 000 111", "email": "pau@example.test"}); m["emailChange"] != "confirmation-sent" || m["email"] != "" {
			t.Fatalf("adding an address = %v", m)
		}
		token := servertest.TokenOf(t, servertest.LinkIn(t, servertest.MailAbout(t, inbox, "pau@example.test", "Confirm your new Haven e-mail address")))
		e.Client().Must(200, "POST", "/api/v1/email/confirm", map[string]string{"token": token})
		e.Client().Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"phone": "+34 699 000 111", "password": pat.PW})
		e.Client().Must(200, "POST", "/api/v1/auth/login", map[string]string{"email": "pau@example.test", "password": pat.PW})
	})
}

// TestContactChangeNeedsAFreshFactor: a patient who has a second factor moves their phone or
// e-mail only within five minutes of using it, so a stolen session cannot redirect the account's
// sign-in name and resets; the refusal is recorded, and a step-up lets the change through.
func TestContactChangeNeedsAFreshFactor(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "grace@haven.test")
		pat, _ := e.Patient(dr, ada) // enrolled with an authenticator app
		e.Clock.Advance(6 * time.Minute)
		body := map[string]string{"phone": "+1 555 0100 777", "email": ada.Email}
		code, _, raw := pat.Do("PUT", "/api/v1/me/contact", body)
		if code != http.StatusForbidden || !strings.Contains(string(raw), "(step-up)") {
			t.Fatalf("a stale factor: PUT /me/contact = %d %s, want 403 (step-up)", code, raw)
		}
		if last := e.LastAudit(); last[0] != "record.contact-update" || last[1] != "deny" {
			t.Fatalf("the refusal was recorded as %v", last)
		}
		pat.Must(http.StatusOK, "POST", "/api/v1/auth/step-up", map[string]string{"code": pat.Code()})
		pat.Must(http.StatusOK, "PUT", "/api/v1/me/contact", body)
	})
}
