package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"haven/internal/server/servertest"
)

// TestBrowserOIDC signs a clinician in through an OpenID provider (mockoidc, on another site:
// http://127.0.0.1 while Haven is https://localhost) in Chromium, so the cookies meet a real
// browser's SameSite rules: the binding cookie must survive the provider's cross-site redirect
// back (Lax), and the Strict session cookie must reach the next page (the callback moves on with
// a same-site navigation, not a redirect). Without an MFA assertion the clinician lands at the
// code page; with one, at their patients. A refusal shows the error page. Pages are checked with
// axe-core.
func TestBrowserOIDC(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	idp := servertest.StartIdP(t)
	idp.ShowLoginPage()
	e := servertest.New(t, "", idp.Option("Clinic SSO"))
	admin := e.Admin()
	clin, _ := e.Clinician(admin, "grace@haven.test")
	b := newBrowser(t, e)
	b.do(chromedp.EmulateViewport(1280, 900))

	b.visit("/login", "Sign in")
	if got := b.text("#oidc-sign-in"); got != "Sign in with Clinic SSO" {
		t.Fatalf("button reads %q", got)
	}
	idp.QueueUser(&servertest.IdPUser{Subject: "g", Email: "grace@haven.test", EmailVerified: true, AMR: []string{"pwd"}})
	b.follow(chromedp.Click(chromedp.CSS("#oidc-sign-in")), "Test IdP")
	b.follow(chromedp.Click(chromedp.CSS("#idp-continue")), "Enter your code")
	b.fill("#code", b.code(clin.Secret))
	b.submit(`form[action="/login/totp"]`, "My patients")
	b.submit(`header form[action="/logout"]`, "Sign in")

	idp.QueueUser(&servertest.IdPUser{Subject: "g", Email: "grace@haven.test", EmailVerified: true, AMR: []string{"pwd", "mfa"}})
	b.follow(chromedp.Click(chromedp.CSS("#oidc-sign-in")), "Test IdP")
	b.follow(chromedp.Click(chromedp.CSS("#idp-continue")), "My patients")
	b.submit(`header form[action="/logout"]`, "Sign in")

	idp.QueueUser(&servertest.IdPUser{Subject: "x", Email: "stranger@haven.test", EmailVerified: true, AMR: []string{"mfa"}})
	b.follow(chromedp.Click(chromedp.CSS("#oidc-sign-in")), "Test IdP")
	b.follow(chromedp.Click(chromedp.CSS("#idp-continue")), "You do not have access to this")
	b.waitText(`[role="alert"]`, "did not work")
}
