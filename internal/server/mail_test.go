package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"haven/internal/mail/mailtest"
	"haven/internal/server/servertest"
	"haven/internal/store/storetest"
)

// TestLinksByMail: with SMTP configured, invitation and reset links go to their owners' inboxes
// and never back to the issuer; anyone may ask for a reset of their own address, with the same
// answer whether or not an account uses it; no message carries PHI.
func TestLinksByMail(t *testing.T) {
	forEachStoreWithMail(t, func(t *testing.T, e *servertest.Env, inbox *mailtest.Inbox) {
		admin := e.Admin()
		m := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "dr@haven.test", "name": "Dr Mail", "role": "clinician"})
		if m["emailed"] != true || m["url"] != nil {
			t.Fatalf("invitation with SMTP: %v", m)
		}
		dr := e.Client()
		dr.Email, dr.PW = "dr@haven.test", "staff passphrase"
		dr.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, servertest.LinkIn(t, servertest.MailTo(t, inbox, dr.Email, 1))), "password": dr.PW})
		dr.Enrol()

		reg := dr.Must(201, "POST", "/api/v1/patients", map[string]string{"name": ada.Name, "birthDate": ada.BirthDate, "phone": ada.Phone, "email": ada.Email})
		if reg["emailed"] != true || reg["url"] != nil {
			t.Fatalf("patient registration with SMTP: %v", reg)
		}
		pat := e.Client()
		pat.Email, pat.PW = ada.Email, "patient pw 12"
		pat.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, servertest.LinkIn(t, servertest.MailTo(t, inbox, ada.Email, 1))), "password": pat.PW})
		pat.Enrol()

		// Self-service: the same answer for a known and an unknown address; one message, to the known one.
		_, known, _ := e.Client().Do("POST", "/api/v1/password-resets", map[string]string{"email": dr.Email})
		st, unknown, _ := e.Client().Do("POST", "/api/v1/password-resets", map[string]string{"email": "nobody@haven.test"})
		if st != http.StatusAccepted || known["message"] != unknown["message"] || len(known) != len(unknown) {
			t.Fatalf("known %v, unknown %d %v", known, st, unknown)
		}
		link := servertest.LinkIn(t, servertest.MailTo(t, inbox, dr.Email, 2))
		c := e.Client()
		if m := c.Must(200, "POST", "/api/v1/password-resets/complete", map[string]string{"token": servertest.TokenOf(t, link), "password": "a new staff passphrase"}); m["stage"] != "second-factor" {
			t.Fatalf("self-service reset left the session at %v", m["stage"])
		}

		// The reset ended dr's other sessions; the new one finishes at the second factor, which
		// also counts as a fresh step-up.
		dr.Must(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		c.Secret = dr.Secret
		e.Clock.Advance(time.Minute)
		c.Must(200, "POST", "/api/v1/auth/totp", map[string]string{"code": c.Code()})

		// A clinician sends a patient in their care a sign-in link, to the address on the record.
		r := c.Must(201, "POST", "/api/v1/patients/"+reg["patientId"].(string)+"/sign-in-link", nil)
		if r["emailed"] != true || r["url"] != nil {
			t.Fatalf("patient sign-in link with SMTP: %v", r)
		}
		servertest.MailTo(t, inbox, ada.Email, 2)

		e.Srv.WaitBackground()
		for _, msg := range inbox.Messages() {
			for _, phi := range []string{ada.Name, ada.BirthDate, ada.Phone, "Dr Mail"} {
				if strings.Contains(msg.Data, phi) {
					t.Fatalf("a message carries %q:\n%s", phi, msg.Data)
				}
			}
			if strings.EqualFold(msg.To[0], "nobody@haven.test") {
				t.Fatal("a message went to an address no account uses")
			}
		}
	})
}

// forEachStoreWithMail runs fn on each store, against a fresh SMTP server each time.
func forEachStoreWithMail(t *testing.T, fn func(t *testing.T, e *servertest.Env, inbox *mailtest.Inbox)) {
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			withMail, inbox := servertest.WithMail(t)
			fn(t, servertest.New(t, dsnFor(t, d), withMail), inbox)
		})
	}
}

// TestNewDeviceNotice: a full sign-in from a browser an account has not used before e-mails its
// owner a notice without PHI or links; the browser it was activated on, and one seen before,
// send nothing. A patient's notice goes to the address on their record.
func TestNewDeviceNotice(t *testing.T) {
	forEachStoreWithMail(t, func(t *testing.T, e *servertest.Env, inbox *mailtest.Inbox) {
		admin := e.Admin()
		admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "dr@haven.test", "name": "Dr Mail", "role": "clinician"})
		dr := e.Client()
		dr.Email, dr.PW = "dr@haven.test", "staff passphrase"
		dr.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, servertest.LinkIn(t, servertest.MailTo(t, inbox, dr.Email, 1))), "password": dr.PW})
		dr.Enrol()
		dr.Login() // the same browser again

		laptop := e.Client()
		laptop.Email, laptop.PW, laptop.Secret = dr.Email, dr.PW, dr.Secret
		laptop.Login()
		notice := servertest.MailTo(t, inbox, dr.Email, 2)
		if !strings.Contains(notice.Data, "new device") || strings.Contains(notice.Data, "http") {
			t.Fatalf("notice:\n%s", notice.Data)
		}
		laptop.Login() // known now
		dr.Login()

		dr.Must(201, "POST", "/api/v1/patients", map[string]string{"name": ada.Name, "birthDate": ada.BirthDate, "phone": ada.Phone, "email": ada.Email})
		pat := e.Client()
		pat.Email, pat.PW = ada.Email, "patient pw 12"
		pat.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, servertest.LinkIn(t, servertest.MailTo(t, inbox, ada.Email, 1))), "password": pat.PW})
		pat.Enrol()
		phone := e.Client()
		phone.Email, phone.PW, phone.Secret = pat.Email, pat.PW, pat.Secret
		phone.Login()
		servertest.MailTo(t, inbox, ada.Email, 2)

		e.Srv.WaitBackground()
		counts := map[string]int{}
		for _, m := range inbox.Messages() {
			counts[m.To[0]]++
			for _, phi := range []string{ada.Name, ada.BirthDate, ada.Phone, "Dr Mail"} {
				if strings.Contains(m.Data, phi) {
					t.Fatalf("a message carries %q:\n%s", phi, m.Data)
				}
			}
		}
		if counts[dr.Email] != 2 || counts[ada.Email] != 2 || counts[admin.Email] != 0 {
			t.Fatalf("messages per address: %v (want an invitation and one notice each, none for the admin)", counts)
		}
	})
}
