package web_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"haven/internal/server/servertest"
)

// page fetches path as c (GET, or POST with form) without following a redirect.
func page(t *testing.T, e *servertest.Env, c *servertest.Client, method, path string, form url.Values) (int, string, string) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = c.HTTP.PostForm(e.TS.URL+path, form)
	} else {
		resp, err = c.HTTP.Get(e.TS.URL + path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// staffStatus reads an account's status from the API's staff list.
func staffStatus(t *testing.T, admin *servertest.Client, id string) string {
	t.Helper()
	for _, s := range admin.List(200, "GET", "/api/v1/admin/staff", nil) {
		if m := s.(map[string]any); m["id"] == id {
			return m["status"].(string)
		}
	}
	t.Fatalf("no staff account %s", id)
	return ""
}

// TestAdminDisableAsksThenCanBeUndone: disabling asks first (a form sent without the
// confirmation's answer only shows the confirmation), says what happened, and offers to enable
// the account again.
func TestAdminDisableAsksThenCanBeUndone(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	_, drID := e.Clinician(admin, "grace@haven.test")

	code, _, body := page(t, e, admin, "GET", "/admin", nil)
	if code != 200 || !strings.Contains(body, `href="/admin/staff/`+drID+`/disable"`) {
		t.Fatalf("the staff table has no way to disable: %d", code)
	}
	if strings.Contains(body, "<code>"+drID+"</code>") {
		t.Error("the staff table shows account identifiers")
	}
	if !strings.Contains(body, ">Privacy officer<") || !strings.Contains(body, ">Administrator<") {
		t.Error("roles are not in words")
	}
	for _, tc := range []struct {
		name, method string
		form         url.Values
	}{
		{"the confirmation page", "GET", nil},
		{"a form without the answer", "POST", url.Values{}},
	} {
		code, _, body := page(t, e, admin, tc.method, "/admin/staff/"+drID+"/disable", tc.form)
		if code != 200 || !strings.Contains(body, "<h1>Disable Dr grace?</h1>") || !strings.Contains(body, `name="confirm" value="yes"`) ||
			!strings.Contains(body, `href="/admin"`) {
			t.Fatalf("%s = %d, want the confirmation:\n%s", tc.name, code, body)
		}
		if got := staffStatus(t, admin, drID); got != "active" {
			t.Fatalf("after %s the account is %s", tc.name, got)
		}
	}

	code, loc, _ := page(t, e, admin, "POST", "/admin/staff/"+drID+"/disable", url.Values{"confirm": {"yes"}})
	if code != http.StatusSeeOther || loc != "/admin?done=disabled&who="+drID {
		t.Fatalf("confirmed disable = %d → %q", code, loc)
	}
	if got := staffStatus(t, admin, drID); got != "disabled" {
		t.Fatalf("after the confirmation the account is %s", got)
	}
	_, _, body = page(t, e, admin, "GET", loc, nil)
	undo := `action="/admin/staff/` + drID + `/enable"`
	if !strings.Contains(body, "Dr grace is disabled") || !strings.Contains(body, undo) {
		t.Fatalf("the page does not say what happened or offer to undo it:\n%s", body)
	}

	code, loc, _ = page(t, e, admin, "POST", "/admin/staff/"+drID+"/enable", url.Values{})
	if code != http.StatusSeeOther || loc != "/admin?done=enabled&who="+drID {
		t.Fatalf("enable = %d → %q", code, loc)
	}
	if got := staffStatus(t, admin, drID); got != "active" {
		t.Fatalf("after enabling the account is %s", got)
	}
	if _, _, body = page(t, e, admin, "GET", loc, nil); !strings.Contains(body, "Dr grace is enabled again") {
		t.Fatalf("the page does not say the account is enabled:\n%s", body)
	}
}

// TestAdminResendsALostInvitation: an account still invited offers "Send the invitation
// again", not a password reset; the new link works and the old one is gone.
func TestAdminResendsALostInvitation(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	m := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "new@haven.test", "name": "Dr New", "role": "clinician"})
	id, old := m["accountId"].(string), servertest.TokenOf(t, m["url"].(string))

	_, _, body := page(t, e, admin, "GET", "/admin", nil)
	row := regexp.MustCompile(`(?s)<tr id="staff-` + regexp.QuoteMeta(id) + `">.*?</tr>`).FindString(body)
	if !strings.Contains(row, "Send the invitation again") || strings.Contains(row, "Reset password") {
		t.Fatalf("the invited account's row:\n%s", row)
	}
	code, _, body := page(t, e, admin, "POST", "/admin/staff/"+id+"/invitation", url.Values{})
	link := regexp.MustCompile(`<code id="one-time-link">([^<]+)</code>`).FindStringSubmatch(body)
	if code != 200 || link == nil || !strings.Contains(body, "New invitation for Dr New") || !strings.Contains(body, "earlier invitation link no longer works") {
		t.Fatalf("re-send = %d:\n%s", code, body)
	}
	anon := e.Client()
	if code, _, _ := page(t, e, anon, "GET", "/invite?token="+url.QueryEscape(old), nil); code != http.StatusGone {
		t.Errorf("the earlier link = %d, want 410", code)
	}
	if code, _, _ := page(t, e, anon, "GET", "/invite?token="+url.QueryEscape(servertest.TokenOf(t, link[1])), nil); code != http.StatusOK {
		t.Errorf("the new link = %d, want the activation form", code)
	}
	// Once activated, the page offers a reset, and a re-send is refused in words.
	anon.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, link[1]), "password": "staff passphrase"})
	code, _, body = page(t, e, admin, "POST", "/admin/staff/"+id+"/invitation", url.Values{})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "already activated their account: reset their password instead.") {
		t.Fatalf("re-send after activation = %d:\n%s", code, body)
	}
}
