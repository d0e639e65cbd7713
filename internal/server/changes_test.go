package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"haven/internal/mail/mailtest"
	"haven/internal/server/servertest"
)

// TestEmailChangeWithoutMail: a staff member moves their account to another address after a
// step-up; it applies at once, the old address no longer signs in, and the change is audited.
// An address in use, a patient, and a stale second factor are refused.
func TestEmailChangeWithoutMail(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "dr@haven.test")
		pat, _ := e.Patient(dr, ada)

		e.Clock.Advance(6 * time.Minute)
		dr.Must(200, "GET", "/api/v1/me", nil)
		dr.Must(http.StatusForbidden, "PUT", "/api/v1/email", map[string]string{"email": "dr.new@haven.test"})
		dr.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": dr.Code()})
		dr.Must(http.StatusConflict, "PUT", "/api/v1/email", map[string]string{"email": admin.Email})
		if last := e.LastAudit(); last[0] != "account.email-change" || last[1] != "failure" {
			t.Fatalf("a refused change is not audited: %v", last)
		}
		dr.Must(http.StatusConflict, "PUT", "/api/v1/email", map[string]string{"email": ada.Email}) // a patient's
		dr.Must(http.StatusUnprocessableEntity, "PUT", "/api/v1/email", map[string]string{"email": "not an address"})
		if m := dr.Must(200, "PUT", "/api/v1/email", map[string]string{"email": "dr.new@haven.test"}); m["status"] != "changed" {
			t.Fatalf("without e-mail the change should apply at once: %v", m)
		}
		if last := e.LastAudit(); last[0] != "account.email-change" || last[1] != "success" {
			t.Fatalf("e-mail change not audited: %v", last)
		}
		if me := dr.Must(200, "GET", "/api/v1/me", nil); me["email"] != "dr.new@haven.test" {
			t.Fatalf("me after change: %v", me)
		}
		e.Client().Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": "dr@haven.test", "password": dr.PW})
		dr.Email = "dr.new@haven.test"
		dr.Login()

		// A patient's address is on the record, which the clinic keeps.
		pat.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": pat.Code()})
		pat.Must(http.StatusUnprocessableEntity, "PUT", "/api/v1/email", map[string]string{"email": "ada.new@example.test"})
	})
}

// TestEmailChangeByMail: with e-mail, the change waits until the link sent to the new address
// is opened; the old address is told of the request and of the change; the link works once.
func TestEmailChangeByMail(t *testing.T) {
	forEachStoreWithMail(t, func(t *testing.T, e *servertest.Env, inbox *mailtest.Inbox) {
		admin := e.Admin()
		e.Clock.Advance(31 * time.Second)
		admin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": admin.Code()})
		if m := admin.Must(200, "PUT", "/api/v1/email", map[string]string{"email": "ada.admin@haven.test"}); m["status"] != "confirmation-sent" {
			t.Fatalf("with e-mail the change should wait for the link: %v", m)
		}
		asked := servertest.MailAbout(t, inbox, admin.Email, "A change of your Haven e-mail address was requested")
		if strings.Contains(asked.Data, "http") || strings.Contains(asked.Data, "ada.admin@") {
			t.Fatalf("the notice to the old address carries a link or the new address:\n%s", asked.Data)
		}
		link := servertest.LinkIn(t, servertest.MailAbout(t, inbox, "ada.admin@haven.test", "Confirm your new Haven e-mail address"))
		// Until then, the old address still signs in.
		e.Clock.Advance(31 * time.Second)
		admin.Login()

		// Opening the link (a GET, as a mail scanner would) changes nothing; the button does.
		code, _, _ := e.Client().Do("GET", strings.TrimPrefix(link, e.BaseURL), nil)
		if code != 200 {
			t.Fatalf("confirmation page: %d", code)
		}
		if me := admin.Must(200, "GET", "/api/v1/me", nil); me["email"] != admin.Email {
			t.Fatalf("a GET of the link changed the address: %v", me)
		}
		token := servertest.TokenOf(t, link)
		e.Client().Must(200, "POST", "/api/v1/email/confirm", map[string]string{"token": token})
		e.Client().Must(http.StatusGone, "POST", "/api/v1/email/confirm", map[string]string{"token": token})
		servertest.MailAbout(t, inbox, admin.Email, "Your Haven e-mail address was changed")
		e.Client().Must(http.StatusUnauthorized, "POST", "/api/v1/auth/login", map[string]string{"email": admin.Email, "password": admin.PW})
		admin.Email = "ada.admin@haven.test"
		admin.Login()

		// An address another account uses gets the same answer as a free one, so the request
		// tells the requester nothing; opening the link, only that mailbox's owner learns it
		// cannot be used, and the refusal is audited.
		admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "dr@haven.test", "name": "Dr Taken", "role": "clinician"})
		if m := admin.Must(200, "PUT", "/api/v1/email", map[string]string{"email": "dr@haven.test"}); m["status"] != "confirmation-sent" {
			t.Fatalf("a taken address answered differently: %v", m)
		}
		taken := servertest.TokenOf(t, servertest.LinkIn(t, servertest.MailAbout(t, inbox, "dr@haven.test", "Confirm your new Haven e-mail address")))
		e.Client().Must(http.StatusConflict, "POST", "/api/v1/email/confirm", map[string]string{"token": taken})
		if last := e.LastAudit(); last[0] != "account.email-change" || last[1] != "failure" {
			t.Fatalf("refused confirmation not audited: %v", last)
		}
		if me := admin.Must(200, "GET", "/api/v1/me", nil); me["email"] != admin.Email {
			t.Fatalf("address after a refused confirmation: %v", me)
		}
	})
}

// TestStaffRoleChange: an administrator gives a clinician another role after a step-up; the
// clinician's sessions end, the new role applies from the next sign-in, the change is audited
// and the owner told. No one changes their own role, and a patient cannot be given one.
func TestStaffRoleChange(t *testing.T) {
	forEachStoreWithMail(t, func(t *testing.T, e *servertest.Env, inbox *mailtest.Inbox) {
		admin := e.Admin()
		drID := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "dr@haven.test", "name": "Dr Role", "role": "clinician"})["accountId"].(string)
		dr := e.Client()
		dr.Email, dr.PW = "dr@haven.test", "staff passphrase"
		e.Clock.Advance(31 * time.Second)
		m := servertest.MailTo(t, inbox, dr.Email, 1)
		dr.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, servertest.LinkIn(t, m)), "password": dr.PW})
		dr.Enrol()
		pid := dr.Must(201, "POST", "/api/v1/patients", map[string]string{"name": ada.Name, "birthDate": ada.BirthDate, "phone": ada.Phone, "email": ada.Email})["patientId"].(string)

		dr.Must(http.StatusForbidden, "PUT", "/api/v1/admin/staff/"+drID+"/role", map[string]string{"role": "admin"})
		admin.Must(http.StatusUnprocessableEntity, "PUT", "/api/v1/admin/staff/"+adminID(t, admin)+"/role", map[string]string{"role": "auditor"})
		admin.Must(http.StatusUnprocessableEntity, "PUT", "/api/v1/admin/staff/"+drID+"/role", map[string]string{"role": "patient"})
		admin.Must(http.StatusUnprocessableEntity, "PUT", "/api/v1/admin/staff/no-such-account/role", map[string]string{"role": "auditor"})

		admin.Must(200, "PUT", "/api/v1/admin/staff/"+drID+"/role", map[string]string{"role": "auditor"})
		if last := e.LastAudit(); last[0] != "account.role-change" || last[1] != "allow" {
			t.Fatalf("role change not audited: %v", last)
		}
		dr.Must(http.StatusUnauthorized, "GET", "/api/v1/me", nil)
		notice := servertest.MailAbout(t, inbox, dr.Email, "Your Haven role was changed")
		if strings.Contains(notice.Data, "http") || strings.Contains(notice.Data, ada.Name) {
			t.Fatalf("role notice carries a link or PHI:\n%s", notice.Data)
		}
		dr.Login()
		if me := dr.Must(200, "GET", "/api/v1/me", nil); me["role"] != "auditor" {
			t.Fatalf("after sign-in the role is %v", me["role"])
		}
		// The care team stays, but an auditor reads no clinical content.
		dr.Must(http.StatusForbidden, "GET", "/api/v1/patients/"+pid, nil)
	})
}

func adminID(t *testing.T, admin *servertest.Client) string {
	t.Helper()
	return admin.Must(200, "GET", "/api/v1/me", nil)["id"].(string)
}

// TestSecurityNotices: each change to how an account signs in e-mails its owner a notice, with
// no link and no PHI.
func TestSecurityNotices(t *testing.T) {
	forEachStoreWithMail(t, func(t *testing.T, e *servertest.Env, inbox *mailtest.Inbox) {
		admin := e.Admin()
		auth := &servertest.Authenticator{Origin: e.BaseURL}
		// After the authenticator app is removed, the passkey is the factor that steps up.
		stepUp := func() {
			if admin.Secret == "" {
				if code := admin.PasskeyVerify(auth); code != 200 {
					t.Fatalf("step-up with a passkey: %d", code)
				}
				return
			}
			admin.Must(200, "POST", "/api/v1/auth/step-up", map[string]string{"code": admin.Code()})
		}
		acts := []struct {
			subject string
			act     func()
		}{
			{"New recovery codes for your Haven account", func() { admin.Must(201, "POST", "/api/v1/recovery-codes", nil) }},
			{"A passkey was added to your Haven account", func() {
				if code := admin.RegisterPasskey(auth, "Laptop"); code != 201 {
					t.Fatalf("register passkey: %d", code)
				}
			}},
			{"An authenticator app was removed from your Haven account", func() {
				admin.Must(200, "DELETE", "/api/v1/totp", nil)
				admin.Secret = ""
			}},
			{"An authenticator app was added to your Haven account", func() { admin.Enrol() }},
			{"A passkey was removed from your Haven account", func() {
				keys := admin.List(200, "GET", "/api/v1/passkeys", nil)
				admin.Must(200, "DELETE", "/api/v1/passkeys/"+keys[0].(map[string]any)["id"].(string), nil)
			}},
			{"Your Haven password was changed", func() {
				admin.Must(200, "POST", "/api/v1/password", map[string]string{"current": admin.PW, "new": "another long passphrase"})
				admin.PW = "another long passphrase"
			}},
		}
		for _, a := range acts {
			e.Clock.Advance(31 * time.Second)
			stepUp()
			a.act()
			m := servertest.MailAbout(t, inbox, admin.Email, a.subject)
			if strings.Contains(m.Data, "http") || !strings.Contains(m.Data, "(UTC)") {
				t.Errorf("notice %q:\n%s", a.subject, m.Data)
			}
		}
	})
}
