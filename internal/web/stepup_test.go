package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// TestStepUpNextIsNeverAnotherOrigin: the finding was /step-up?next=/%09/evil.example, answered
// with "Location: /\t/evil.example", which a browser follows to //evil.example. The step-up page
// and its form both fall back to "/" for anything that is not a path on this site.
func TestStepUpNextIsNeverAnotherOrigin(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	for _, tc := range []struct{ next, want string }{
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/%2f/evil.example", "/"},
		{"/\\/evil.example", "/"},
		{"//evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/account?done=passkey-added", "/account?done=passkey-added"},
	} {
		// The form carries next in a hidden field and in the passkey button.
		resp, err := admin.HTTP.Get(e.TS.URL + "/step-up?next=" + url.QueryEscape(tc.next))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		field := `name="next" value="` + strings.ReplaceAll(tc.want, "&", "&amp;") + `"`
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), field) {
			t.Errorf("GET /step-up?next=%q = %d, want the form with %s", tc.next, resp.StatusCode, field)
		}

		e.Clock.Advance(31 * time.Second)
		resp, err = admin.HTTP.PostForm(e.TS.URL+"/step-up", url.Values{"code": {admin.Code()}, "next": {tc.next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != tc.want {
			t.Errorf("POST /step-up with next=%q = %d → %q, want 303 → %q", tc.next, resp.StatusCode, loc, tc.want)
		}
	}
}

// TestEnrolmentQRFollowsStepUp: a signed-in staff member without a recent step-up is sent from
// the enrolment page to step up, and its QR image is refused (403, not 500: an <img> cannot
// follow the redirect, and must not get a new secret's QR code without the step-up). After the
// step-up both answer.
func TestEnrolmentQRFollowsStepUp(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := admin.HTTP.Get(e.TS.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Content-Type")
	}

	e.Clock.Advance(6 * time.Minute)
	if code, loc, _ := get("/totp/enrol"); code != http.StatusSeeOther || loc != "/step-up?next=%2Ftotp%2Fenrol" {
		t.Fatalf("enrolment page without a recent step-up = %d → %q, want 303 → step-up", code, loc)
	}
	if code, _, ctype := get("/totp/enrol/qr.png"); code != http.StatusForbidden || strings.HasPrefix(ctype, "image/") {
		t.Fatalf("QR image without a recent step-up = %d %s, want 403 and no image", code, ctype)
	}

	e.Clock.Advance(31 * time.Second)
	admin.Must(http.StatusOK, "POST", "/api/v1/auth/step-up", map[string]string{"code": admin.Code()})
	if code, _, _ := get("/totp/enrol"); code != http.StatusOK {
		t.Fatalf("enrolment page after step-up = %d, want 200", code)
	}
	if code, _, ctype := get("/totp/enrol/qr.png"); code != http.StatusOK || ctype != "image/png" {
		t.Fatalf("QR image after step-up = %d %s, want 200 image/png", code, ctype)
	}
}
