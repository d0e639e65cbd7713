package web_test

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// Helpers for the second-factor pages in the browser journeys: recovery codes shown once after
// a first factor, and the enrolment page as a patient on a phone sees it.

var browserCodeShape = regexp.MustCompile(`^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$`)

// eval runs a JavaScript expression and returns its value.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("browser: %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds.
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s: %s is still false (%v)", what, cond, err)
		}
	}
}

// visible is a condition: the element matched by sel is on the page and shown.
func visible(sel string) string {
	return fmt.Sprintf(`(() => { const el = document.querySelector(%q); return !!el && el.getClientRects().length > 0 })()`, sel)
}

// checkBothWidths runs axe-core on the page on a phone (375 px) and on a desktop (1280 px), and
// leaves the viewport as it was.
func (b *browser) checkBothWidths(page string) {
	b.t.Helper()
	w, h := eval[int64](b, "window.innerWidth"), eval[int64](b, "window.innerHeight")
	for _, size := range [][2]int64{{375, 812}, {1280, 900}} {
		b.do(chromedp.EmulateViewport(size[0], size[1]))
		b.checkAccessibility(fmt.Sprintf("%s at %d px", page, size[0]))
	}
	b.do(chromedp.EmulateViewport(w, h))
}

// keepRecoveryCodes is a person on the recovery codes page, shown once after their first
// factor (rendered by the server, or by recovery.js after a passkey): it checks the page at both
// widths, that Continue waits for "I saved them", that copy and download hold the codes, then
// ticks the box and continues to the page headed next. It returns the codes.
func (b *browser) keepRecoveryCodes(next string) []string {
	b.t.Helper()
	b.waitFor("the recovery codes", `document.querySelector("h1").textContent.trim() === "Save your recovery codes" && document.querySelectorAll("#recovery-codes li").length === 10`)
	b.waitFor("the copy and download buttons", visible("[data-recovery-download]"))
	b.checkBothWidths("Save your recovery codes")
	if eval[int64](b, "window.innerWidth") == 375 {
		b.screenshot("recovery-codes-phone")
	}
	codes := eval[[]string](b, `[...document.querySelectorAll("#recovery-codes code")].map(c => c.textContent.trim())`)
	for _, c := range codes {
		if !browserCodeShape.MatchString(c) {
			b.t.Fatalf("recovery code %q shown", c)
		}
	}
	if eval[bool](b, `document.querySelector("#recovery-done").checkValidity()`) {
		b.t.Fatal("Continue is allowed before \"I saved them\" is ticked")
	}
	b.do(chromedp.Click(chromedp.CSS(`#recovery-done button[type="submit"]`)))
	if h := b.text("h1"); h != "Save your recovery codes" {
		b.t.Fatalf("Continue without \"I saved them\" left the codes for %q", h)
	}

	href := eval[string](b, `document.querySelector("[data-recovery-download]").href`)
	file, err := url.PathUnescape(strings.TrimPrefix(href, "data:text/plain;charset=utf-8,"))
	if !strings.HasPrefix(href, "data:text/plain") || err != nil || !strings.Contains(file, strings.Join(codes, "\n")) {
		b.t.Fatalf("download link does not hold the codes: %.120s", href)
	}
	if name := eval[string](b, `document.querySelector("[data-recovery-download]").download`); name != "haven-recovery-codes.txt" {
		b.t.Fatalf("download is named %q", name)
	}
	for _, p := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
			Permission: &cdpbrowser.PermissionDescriptor{Name: p, AllowWithoutSanitization: true}, Setting: "granted", Origin: b.base}); err != nil {
			b.t.Fatalf("grant %s: %v", p, err)
		}
	}
	b.do(chromedp.Click(chromedp.CSS("[data-recovery-copy]")))
	b.waitText("[data-recovery-status]", "Copied")
	copied, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil || strings.TrimSpace(copied) != strings.Join(codes, "\n") {
		b.t.Fatalf("clipboard holds %q (%v), want the codes", copied, err)
	}

	b.do(chromedp.Click(chromedp.CSS("#recovery-saved")))
	b.follow(chromedp.Click(chromedp.CSS(`#recovery-done button[type="submit"]`)), next)
	return codes
}

// enrolOnPhone is a patient on a phone-sized screen at the enrolment page, with a platform
// authenticator: the page offers a link that opens the authenticator app on this phone and the
// key in groups of four, says a long passphrase could stand alone, and offers the passkey first;
// the patient creates one (no QR code scanned) and keeps the recovery codes shown after it.
func (b *browser) enrolOnPhone(next string) []string {
	b.t.Helper()
	if w := eval[int64](b, "window.innerWidth"); w != 375 {
		b.t.Fatalf("viewport is %d px wide, want a 375 px phone", w)
	}
	b.waitFor("the passkey offered on a phone with a screen lock", visible("#passkey-register"))
	b.checkBothWidths("Set up your authenticator")
	b.screenshot("enrol-phone")
	if link := eval[string](b, `document.querySelector("#otpauth-link").getAttribute("href")`); !strings.HasPrefix(link, "otpauth://totp/") {
		b.t.Fatalf("no link to open the authenticator app on this phone: %q", link)
	}
	b.waitFor("the app link", visible("#otpauth-link"))
	if key := b.text("#totp-secret"); !regexp.MustCompile(`^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$`).MatchString(key) {
		b.t.Fatalf("key not in groups of four: %q", key)
	}
	if p := b.text(`section[aria-labelledby="passphrase-heading"]`); !strings.Contains(p, "15 or more characters") {
		b.t.Fatalf("the page does not say a long passphrase can stand alone: %q", p)
	}
	first := eval[bool](b, `!!(document.querySelector("#passkey-heading").compareDocumentPosition(document.querySelector("#app-heading")) & Node.DOCUMENT_POSITION_FOLLOWING)`)
	if !first {
		b.t.Fatal("the passkey is not offered before the authenticator app")
	}
	b.fill("#passkey-name", "My phone")
	b.do(chromedp.Click(chromedp.CSS("#passkey-register")))
	return b.keepRecoveryCodes(next)
}

// typeRecoveryCode signs in at the second-factor page with a recovery code typed as a person
// might: in lower case, with its dashes.
func (b *browser) typeRecoveryCode(code, next string) {
	b.t.Helper()
	if hint := b.text("#code-hint"); !strings.Contains(hint, "recovery code") {
		b.t.Fatalf("the second-factor page does not mention recovery codes: %q", hint)
	}
	b.fill("#code", strings.ToLower(code))
	if typed := eval[string](b, `document.querySelector("#code").value`); typed != strings.ToLower(code) {
		b.t.Fatalf("the field kept %q of %q", typed, strings.ToLower(code))
	}
	if !eval[bool](b, `document.querySelector("#code").checkValidity()`) {
		b.t.Fatal("the browser refuses a recovery code in the code field")
	}
	b.submit(`form[action="/login/totp"]`, next)
}
