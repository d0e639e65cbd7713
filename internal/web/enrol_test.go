package web_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"haven/internal/identity/totp"
	"haven/internal/server"
	"haven/internal/server/servertest"
)

// invitedPatient registers a patient with clinician clin and returns a browser-like client that
// has opened the invitation, with the page it read.
func invitedPatient(t *testing.T, e *servertest.Env, clin *servertest.Client, email string) (*servertest.Client, string, string) {
	t.Helper()
	m := clin.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "Ada Canary", "birthDate": "1980-02-29", "phone": "+1 555 0100 123", "email": email})
	c := e.Client()
	token := servertest.TokenOf(t, m["url"].(string))
	code, _, body := page(t, e, c, http.MethodGet, "/invite?token="+url.QueryEscape(token), nil)
	if code != http.StatusOK {
		t.Fatalf("invitation page = %d", code)
	}
	return c, token, body
}

var (
	secretInFours = regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]{4} )+[A-Z2-7]{1,4}</code>`)
	otpauthLink   = regexp.MustCompile(`<a [^>]*id="otpauth-link" href="(otpauth://totp/[^"]+)"`)
	codeItem      = regexp.MustCompile(`<li><code>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})</code></li>`)
)

// TestPatientEnrolmentInTheirWords: a patient is told before choosing a password that a long
// passphrase can stand alone (where the deployment allows it, and only then), and on the
// enrolment page gets a link that opens the authenticator app on the phone they hold and the
// key in groups of four, not only a QR code. Confirming the app answers with the recovery codes
// page (not cached), whose Continue is guarded by "I saved them" and goes on signed in.
func TestPatientEnrolmentInTheirWords(t *testing.T) {
	for _, tc := range []struct {
		name       string
		requireMFA bool
	}{{"passphrase may stand alone", false}, {"second factor required", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := servertest.New(t, "", func(c *server.Config) { c.Identity.RequirePatientMFA = tc.requireMFA })
			admin := e.Admin()
			clin, _ := e.Clinician(admin, "dr@haven.test")
			c, token, invite := invitedPatient(t, e, clin, "ada@example.test")
			if said := strings.Contains(invite, "15 or more characters"); said == tc.requireMFA {
				t.Errorf("invitation page says a passphrase can stand alone: %v, want %v", said, !tc.requireMFA)
			}
			if strings.Contains(invite, "Next you will set up an authenticator app") {
				t.Error("invitation page still promises only an authenticator app")
			}

			code, loc, _ := page(t, e, c, http.MethodPost, "/invite", url.Values{"token": {token}, "password": {"patient pw 12"}, "confirm": {"patient pw 12"}})
			if code != http.StatusSeeOther || loc != "/" {
				t.Fatalf("activation = %d → %q", code, loc)
			}
			code, _, enrol := page(t, e, c, http.MethodGet, "/totp/enrol", nil)
			if code != http.StatusOK {
				t.Fatalf("enrolment page = %d", code)
			}
			link := otpauthLink.FindStringSubmatch(enrol)
			if link == nil || !secretInFours.MatchString(enrol) {
				t.Fatalf("enrolment page lacks the otpauth link or the key in fours:\n%s", enrol)
			}
			if said := strings.Contains(enrol, "A passphrase of 15 or more characters"); said == tc.requireMFA {
				t.Errorf("enrolment page says a passphrase can stand alone: %v, want %v", said, !tc.requireMFA)
			}
			if !strings.Contains(enrol, `data-passkey-platform`) {
				t.Error("the passkey is not offered where the device has a platform authenticator")
			}
			u, err := url.Parse(html.UnescapeString(link[1]))
			if err != nil {
				t.Fatal(err)
			}
			secret := u.Query().Get("secret")
			e.Clock.Advance(31 * time.Second)
			now, err := totp.Code(secret, e.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.HTTP.PostForm(e.TS.URL+"/totp/enrol", url.Values{"code": {now}})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			codes := codeItem.FindAllStringSubmatch(string(body), -1)
			if resp.StatusCode != http.StatusOK || len(codes) != 10 || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("confirming the first factor = %d, %d codes, Cache-Control %q:\n%s", resp.StatusCode, len(codes), resp.Header.Get("Cache-Control"), body)
			}
			for _, want := range []string{`<form method="get" action="/" id="recovery-done"`, `<input type="checkbox" id="recovery-saved" required>`,
				`<script type="module" src="/static/recovery.js">`} {
				if !strings.Contains(string(body), want) {
					t.Errorf("recovery codes page lacks %s", want)
				}
			}
			if code, loc, _ := page(t, e, c, http.MethodGet, "/", nil); code != http.StatusSeeOther || loc != "/patient" {
				t.Fatalf("after the codes page: %d → %q, want the patient's page", code, loc)
			}
		})
	}
}

// TestSecondFactorPagesTakeRecoveryCodes: the sign-in and step-up fields take a recovery code
// (no six-character limit, a keyboard with letters, a pattern that allows both) and say so;
// the form accepts one typed in lower case, and a signed-in person adding an app later gets no
// codes page.
func TestSecondFactorPagesTakeRecoveryCodes(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	c := e.Client()
	if code, loc, _ := page(t, e, c, http.MethodPost, "/login", url.Values{"email": {admin.Email}, "password": {admin.PW}}); code != http.StatusSeeOther || loc != "/" {
		t.Fatalf("sign-in = %d → %q", code, loc)
	}
	pattern := regexp.MustCompile(`pattern="([^"]+)"`)
	for _, path := range []string{"/login/totp", "/step-up"} {
		who := c
		if path == "/step-up" {
			who = admin
		}
		code, _, body := page(t, e, who, http.MethodGet, path, nil)
		input := regexp.MustCompile(`<input id="code"[^>]*>`).FindString(body)
		if code != http.StatusOK || input == "" {
			t.Fatalf("GET %s = %d without the code field", path, code)
		}
		for _, want := range []string{`autocomplete="one-time-code"`, `inputmode="text"`, `aria-describedby="code-hint"`} {
			if !strings.Contains(input, want) {
				t.Errorf("%s: the code field lacks %s: %s", path, want, input)
			}
		}
		if strings.Contains(input, `maxlength="6"`) || !strings.Contains(body, "recovery code") {
			t.Errorf("%s: the field is cut at six characters, or the page does not mention recovery codes", path)
		}
		// The pattern, as the browser anchors it (Go's syntax is close enough for these).
		p := pattern.FindStringSubmatch(input)
		if p == nil {
			t.Fatalf("%s: no pattern", path)
		}
		re := regexp.MustCompile(`^(?:` + strings.ReplaceAll(p[1], `\p{Pd}`, `\pPd`) + `)$`)
		for _, typed := range []string{"123456", "ABCD-EFGH-IJKL-MNOP", "abcd-efgh-ijkl-mnop", "ABCDEFGHIJKLMNOP", "abcd efgh ijkl mnop"} {
			if !re.MatchString(typed) {
				t.Errorf("%s: the pattern refuses %q", path, typed)
			}
		}
	}
	code, loc, _ := page(t, e, c, http.MethodPost, "/login/totp", url.Values{"code": {strings.ToLower(admin.RecoveryCodes[0])}})
	if code != http.StatusSeeOther || loc != "/" {
		t.Fatalf("a recovery code in lower case at sign-in = %d → %q", code, loc)
	}
}
