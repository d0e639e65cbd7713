package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"haven/internal/server/servertest"
)

// TestPhoneSignInAndContactPage: a patient registered without an e-mail address signs in on the
// sign-in page with their phone number, typed with its country code as people write it, and
// keeps their contact details on a page of their own: a number without its country code, which
// would no longer sign them in, is refused beside the form with what was typed.
func TestPhoneSignInAndContactPage(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "dr@haven.test")
	reg := dr.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "Pau Phone", "birthDate": "1990-01-02", "phone": "+34 612 345 678", "email": ""})
	const pw = "quiet orchard bicycle river"
	e.Client().Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, reg["url"].(string)), "password": pw})

	pat := e.Client()
	post := func(path string, form url.Values) (int, string, string) {
		t.Helper()
		resp, err := pat.HTTP.PostForm(e.TS.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(body)
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := pat.HTTP.Get(e.TS.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/login"); code != 200 || !strings.Contains(body, "E-mail address or phone number") {
		t.Fatalf("sign-in page = %d, without the phone number in its label", code)
	}
	if code, _, body := post("/login", url.Values{"email": {"612 345 678"}, "password": {pw}}); code != http.StatusUnprocessableEntity || !strings.Contains(body, "phone number or password is not correct") {
		t.Fatalf("a number without its country code = %d", code)
	}
	if code, loc, _ := post("/login", url.Values{"email": {"0034 612-345-678"}, "password": {pw}}); code != http.StatusSeeOther || loc != "/" {
		t.Fatalf("sign in by phone number = %d → %q, want 303 → /", code, loc)
	}
	if code, body := get("/patient"); code != 200 || !strings.Contains(body, "none: signs in with the phone number") || !strings.Contains(body, `href="/patient/contact"`) {
		t.Fatalf("the record page = %d:\n%s", code, body)
	}
	code, _, body := post("/patient/contact", url.Values{"phone": {"699 000 111"}, "email": {""}, "by-phone": {"1"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Phone: you sign in with your phone number") || !strings.Contains(body, `value="699 000 111"`) {
		t.Fatalf("a national number = %d:\n%s", code, body)
	}
	if code, loc, _ := post("/patient/contact", url.Values{"phone": {"+34 699 000 111"}, "email": {""}}); code != http.StatusSeeOther || loc != "/patient/contact?done=unchanged" {
		t.Fatalf("a new number = %d → %q", code, loc)
	}
	if code, body := get("/patient/contact?done=unchanged"); code != 200 || !strings.Contains(body, "Your contact details are saved.") || !strings.Contains(body, `34 699 000 111"`) {
		t.Fatalf("the contact page after saving = %d:\n%s", code, body)
	}
}
