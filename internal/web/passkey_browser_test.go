package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdpwebauthn "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"haven/internal/server/servertest"
)

// addVirtualAuthenticator gives the browser a platform authenticator (CTAP2, resident keys, user
// verification that always succeeds), so navigator.credentials works without a person.
func (b *browser) addVirtualAuthenticator() cdpwebauthn.AuthenticatorID {
	b.t.Helper()
	var id cdpwebauthn.AuthenticatorID
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, cdpwebauthn.Enable, cdpwebauthn.EnableParams{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, t, cdpwebauthn.AddVirtualAuthenticator, cdpwebauthn.AddVirtualAuthenticatorParams{
			Options: &cdpwebauthn.VirtualAuthenticatorOptions{
				Protocol: cdpwebauthn.AuthenticatorProtocolCtap2, Ctap2version: cdpwebauthn.Ctap2versionCtap21,
				Transport: cdpwebauthn.AuthenticatorTransportInternal, HasResidentKey: true,
				HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
			},
		})
		id = res.AuthenticatorID
		return err
	}))
	return id
}

func (b *browser) removeVirtualAuthenticator(id cdpwebauthn.AuthenticatorID) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdpwebauthn.RemoveVirtualAuthenticator, cdpwebauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: id})
		return err
	}))
}

// waitText waits until the element's text contains want.
func (b *browser) waitText(sel, want string) {
	b.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.querySelector(`+strconv.Quote(sel)+`) || {}).textContent || ""`))
		if err == nil && strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s reads %q, want %q", sel, got, want)
		}
	}
}

// passkeyAction clicks the button matched by button in the passkey list item named name.
func (b *browser) passkeyAction(name, button, heading string) {
	b.t.Helper()
	js := `[...document.querySelectorAll("#passkeys li")].find(li => li.querySelector("input[name=name]").value === ` + strconv.Quote(name) +
		`).querySelector(` + strconv.Quote(button) + `).click()`
	b.follow(chromedp.Evaluate[chromedp.Void](js), heading)
}

// TestBrowserPasskeys: in Chromium with a virtual authenticator, an administrator enrols a
// passkey instead of an authenticator app, adds a second one, signs in with a passkey and no
// password, then with a password and a passkey as the second factor, and renames and removes
// passkeys on the security page.
func TestBrowserPasskeys(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	e := servertest.New(t, "")
	b := newBrowser(t, e)
	b.do(chromedp.EmulateViewport(1280, 900))
	laptop := b.addVirtualAuthenticator()

	m := servertest.SetupLink.FindSubmatch(e.Log.Bytes())
	if m == nil {
		t.Fatal("no setup link printed")
	}
	b.visit("/setup?token="+string(m[1]), "Set up Haven")
	b.fill("#name", "Ada Admin", "#email", "admin@haven.test", "#password", "admin passphrase", "#confirm", "admin passphrase")
	b.submit(`form[action="/setup"]`, "Set up your authenticator")
	b.fill("#passkey-name", "Laptop")
	b.do(chromedp.Click(chromedp.CSS("#passkey-register")))
	b.keepRecoveryCodes("Administration")

	b.visit("/account", "Security and sessions")
	// The laptop's authenticator refuses to register twice (the exclusion list); the second
	// passkey is another device.
	b.fill("#passkey-name", "Again")
	b.do(chromedp.Click(chromedp.CSS("#passkey-register")))
	b.waitText("#passkey-error", "already registered")
	b.removeVirtualAuthenticator(laptop)
	b.addVirtualAuthenticator()
	b.fill("#passkey-name", "Spare key")
	b.follow(chromedp.Click(chromedp.CSS("#passkey-register")), "Security and sessions")
	if keys := b.html("#passkeys"); !strings.Contains(keys, "Spare key") || !strings.Contains(keys, "Laptop") {
		t.Fatalf("passkeys listed: %s", keys)
	}
	b.screenshot("passkeys")

	// Passwordless: the passkey alone, verified by the device.
	b.submit(`header form[action="/logout"]`, "Sign in")
	b.follow(chromedp.Click(chromedp.CSS("#passkey-sign-in")), "Administration")

	// Password, then a passkey as the second factor.
	b.submit(`header form[action="/logout"]`, "Sign in")
	b.fill("#email", "admin@haven.test", "#password", "admin passphrase")
	b.submit(`form[action="/login"]`, "Enter your code")
	b.follow(chromedp.Click(chromedp.CSS("#passkey-verify")), "Administration")

	// Rename one and remove the other (a fresh passkey sign-in counts as the step-up).
	b.visit("/account", "Security and sessions")
	b.do(chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#passkeys input[name=name]")].find(i => i.value === "Spare key").value = "Phone"`))
	b.passkeyAction("Phone", "form.inline button", "Security and sessions")
	if msg := b.text(`[role="status"]`); msg != "Passkey renamed." {
		t.Fatalf("rename: %q", msg)
	}
	b.passkeyAction("Laptop", `form[action$="/remove"] button`, "Security and sessions")
	if msg := b.text(`[role="status"]`); msg != "Passkey removed." {
		t.Fatalf("remove: %q", msg)
	}
	if keys := b.html("#passkeys"); strings.Count(keys, "<li>") != 1 || !strings.Contains(keys, "Phone") {
		t.Fatalf("passkeys left: %s", keys)
	}
	// The last second factor stays.
	b.passkeyAction("Phone", `form[action$="/remove"] button`, "Security and sessions")
	if msg := b.text(`[role="alert"]`); !strings.Contains(msg, "only second factor") {
		t.Fatalf("removing the last factor: %q", msg)
	}
}

func (b *browser) html(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(sel)+`).innerHTML`))
	if err != nil {
		b.t.Fatalf("browser: read %s: %v", sel, err)
	}
	return s
}
