package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"haven/internal/server/servertest"
)

// TestBrowserPasswordReset: a clinician who forgot their password finds out how to get a link
// from the sign-in page, sets a new password from the link an administrator issued, and still
// has to give their authenticator code. Every page is checked with axe-core.
func TestBrowserPasswordReset(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	e := servertest.New(t, "")
	admin := e.Admin()
	dr, drID := e.Clinician(admin, "dr@haven.test")
	link := admin.Must(201, "POST", "/api/v1/admin/staff/"+drID+"/password-reset", nil)["url"].(string)

	b := newBrowser(t, e)
	b.visit("/login", "Sign in")
	b.follow(chromedp.Click(chromedp.CSS(`a[href="/forgot"]`)), "Forgot your password?")
	b.visit(pathOf(t, link), "Choose a new password")
	b.fill("#password", "new clinician passphrase", "#confirm", "new clinician passphrase")
	b.submit(`form[action="/reset"]`, "Enter your code")
	b.fill("#code", b.code(dr.Secret))
	b.submit(`form[action="/login/totp"]`, "My patients")

	// The link worked once.
	b.visit(pathOf(t, link), "This link no longer works")
}
