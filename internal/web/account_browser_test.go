package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"haven/internal/server/servertest"
)

// TestBrowserAccountChanges: an administrator moves their account to another e-mail address
// (a step-up first, then the link sent to the new address) and gives a clinician another role
// from the staff table. Every page is checked with axe-core.
func TestBrowserAccountChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	withMail, inbox := servertest.WithMail(t)
	e := servertest.New(t, "", withMail)
	// Without e-mail, Admin reads the setup link from the log; staff invitations go by mail.
	admin := e.Admin()
	drID := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "dr@haven.test", "name": "Dr Role", "role": "clinician"})["accountId"].(string)

	b := newBrowser(t, e)
	b.visit("/login", "Sign in")
	b.fill("#email", admin.Email, "#password", admin.PW)
	b.submit(`form[action="/login"]`, "Enter your code")
	b.fill("#code", b.code(admin.Secret))
	b.submit(`form[action="/login/totp"]`, "Administration")

	// Changing the address asks for a fresh code first, then the form is sent again.
	e.Clock.Advance(6 * time.Minute)
	b.visit("/account", "Security and sessions")
	b.fill("#email", "ada.admin@haven.test")
	b.submit(`form[action="/account/email"]`, "Confirm it is you")
	b.fill("#code", b.code(admin.Secret))
	b.submit(`form[action="/step-up"]`, "Security and sessions")
	b.fill("#email", "ada.admin@haven.test")
	b.submit(`form[action="/account/email"]`, "Security and sessions")
	if msg := b.text(`[role="status"]`); !strings.Contains(msg, "sent a link to the new address") {
		t.Fatalf("e-mail change notice = %q", msg)
	}
	link := servertest.LinkIn(t, servertest.MailAbout(t, inbox, "ada.admin@haven.test", "Confirm your new Haven e-mail address"))
	b.visit(pathOf(t, link), "Confirm your new e-mail address")
	b.submit(`form[action="/email/confirm"]`, "E-mail address changed")
	b.visit(pathOf(t, link), "This link no longer works")

	// The role picker in the staff table, inside the same step-up window.
	b.visit("/admin", "Administration")
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#role-` + drID + `").value = "auditor"`))
	b.submit(`form[action="/admin/staff/`+drID+`/role"]`, "Administration")
	if msg := b.text(`[role="status"]`); !strings.Contains(msg, "Role changed") {
		t.Fatalf("role change notice = %q", msg)
	}
	role, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#role-`+drID+`").value`))
	if err != nil || role != "auditor" {
		t.Fatalf("role picker after the change = %q (%v)", role, err)
	}
}
