package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"haven/internal/server/servertest"
)

// TestClinicianFindsPeople: the clinician's one search box finds a patient by part of the name,
// a formatted phone number, or a name part and a date of birth, and shows name and birth date
// to tell people apart; a date typed another way is answered with what to type.
func TestClinicianFindsPeople(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "dr@haven.test")
	dr.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "María José López-García", "birthDate": "1980-02-29", "phone": "+34 612 345 678", "email": "mjlg@example.test"})
	dr.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "Mario Lopez", "birthDate": "1975-05-05", "phone": "+34 600 111 222", "email": "ml@example.test"})
	for q, want := range map[string][]string{
		"lopez":          {"María José López-García</a> · born 1980-02-29", "Mario Lopez</a> · born 1975-05-05"},
		"612 345 678":    {"María José López-García</a> · born 1980-02-29"},
		"lop 1975-05-05": {"Mario Lopez</a> · born 1975-05-05"},
	} {
		code, _, body := page(t, e, dr, "POST", "/clinician/search", url.Values{"q": {q}})
		if code != http.StatusOK || strings.Count(body, "· born") != len(want) {
			t.Fatalf("search %q = %d:\n%s", q, code, body)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Fatalf("search %q does not show %q:\n%s", q, w, body)
			}
		}
	}
	code, _, body := page(t, e, dr, "POST", "/clinician/search", url.Values{"q": {"29/02/1980"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "Enter a date of birth as YYYY-MM-DD") {
		t.Fatalf("a date in another form = %d:\n%s", code, body)
	}
}

// TestRegisteringTwiceAsksFirst: registering a name and birth date already on a record shows a
// confirmation step: a link to the record for its clinician, only "in another clinician's
// care" for anyone else; "Register anyway" registers.
func TestRegisteringTwiceAsksFirst(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, _ := e.Clinician(admin, "dr@haven.test")
	other, _ := e.Clinician(admin, "other@haven.test")
	pid := dr.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "María José López-García", "birthDate": "1980-02-29", "phone": "+34 612 345 678", "email": "mjlg@example.test"})["patientId"].(string)
	form := url.Values{"name": {"maria jose lopez garcia"}, "birthDate": {"1980-02-29"}, "phone": {"+34 699 000 111"}, "email": {"again@example.test"}}

	code, _, body := page(t, e, dr, "POST", "/clinician/patients/new", form)
	if code != http.StatusConflict || !strings.Contains(body, "A patient named <strong>maria jose lopez garcia</strong> born <strong>1980-02-29</strong> is already registered.") ||
		!strings.Contains(body, `href="/clinician/patients/`+pid+`">Open their record`) || !strings.Contains(body, `name="confirmDuplicate" value="true"`) {
		t.Fatalf("registering again = %d:\n%s", code, body)
	}
	code, _, body = page(t, e, other, "POST", "/clinician/patients/new", form)
	if code != http.StatusConflict || !strings.Contains(body, "is already registered, in another clinician's care.") || strings.Contains(body, pid) {
		t.Fatalf("registering again outside the care team = %d:\n%s", code, body)
	}
	form.Set("confirmDuplicate", "true")
	if code, _, body := page(t, e, other, "POST", "/clinician/patients/new", form); code != http.StatusCreated || !strings.Contains(body, "Patient registered") {
		t.Fatalf("register anyway = %d:\n%s", code, body)
	}
}
