package web_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"haven/internal/identity/totp"
	"haven/internal/server/servertest"
)

// browser drives Debian's Chromium through one person's journey at a time and checks every page
// it lands on with axe-core.
type browser struct {
	t     *testing.T
	ctx   context.Context
	e     *servertest.Env
	base  string // https://localhost:PORT
	axe   string // axe-core source, or "" when not installed outside CI
	shots string // directory for README screenshots, or ""
}

func chromiumPath(t *testing.T) string {
	path := os.Getenv("HAVEN_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Chromium is required in CI (.ci/run installs Debian's chromium): %v", err)
		}
		t.Skipf("no Chromium at %s; run .ci/run or apt-get install chromium", path)
	}
	return path
}

func axeSource(t *testing.T) string {
	path := os.Getenv("HAVEN_AXE_JS")
	if path == "" {
		path = filepath.Join("..", "..", ".cache", "axe", "node_modules", "axe-core", "axe.min.js")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("axe-core is required in CI (.ci/run installs it from npm): %v", err)
		}
		t.Logf("axe-core not found at %s: accessibility checks skipped", path)
		return ""
	}
	return string(src)
}

func newBrowser(t *testing.T, e *servertest.Env) *browser {
	u, _ := url.Parse(e.TS.URL)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		// The test server's own certificate; __Host- cookies need https, and localhost is a
		// secure context Chromium accepts.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return &browser{t: t, ctx: ctx, e: e, base: "https://localhost:" + u.Port(), axe: axeSource(t), shots: os.Getenv("HAVEN_SCREENSHOTS")}
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("browser: read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// visit opens path and waits for the page heading.
func (b *browser) visit(path, heading string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base + path))
	b.landed(heading)
}

// landed waits until the page's h1 reads heading, then checks the page's accessibility.
func (b *browser) landed(heading string) {
	b.t.Helper()
	expr := fmt.Sprintf(`!window.havenStale && document.readyState === "complete" && !!document.querySelector("h1") && document.querySelector("h1").textContent.trim() === %q`, heading)
	// Evaluate in a loop rather than chromedp.Poll: a poll running while the form's navigation
	// replaces the document fails with "target navigated"; a fresh evaluation does not.
	var got string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			break
		}
		if time.Now().After(deadline) {
			got, _ = chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("h1") ? document.querySelector("h1").textContent : document.body.innerText`))
			b.t.Fatalf("expected page %q, got %q (last error %v)", heading, got, err)
		}
	}
	b.checkAccessibility(heading)
}

type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Targets []string `json:"targets"`
}

// checkAccessibility runs axe-core's WCAG 2.x A/AA rules and fails on serious or critical ones.
func (b *browser) checkAccessibility(page string) {
	b.t.Helper()
	if b.axe == "" {
		return
	}
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[chromedp.Void](b.axe)); err != nil {
		b.t.Fatalf("inject axe-core: %v", err)
	}
	const run = `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}})
		.then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
		.map(v => ({id: v.id, impact: v.impact, targets: v.nodes.map(n => n.target.join(" "))})))`
	vs, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]axeViolation](run, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("run axe-core on %q: %v", page, err)
	}
	for _, v := range vs {
		b.t.Errorf("accessibility (%s) on page %q: %s at %v", v.Impact, page, v.ID, v.Targets)
	}
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	if b.shots == "" {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// fill types into the inputs named by CSS selector.
func (b *browser) fill(fields ...string) {
	b.t.Helper()
	for i := 0; i < len(fields); i += 2 {
		// Clear what a re-rendered form kept, then type as a person would.
		b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = ""`, fields[i])),
			chromedp.SendKeys(chromedp.CSS(fields[i]), fields[i+1]))
	}
}

// submit clicks the form's submit button and waits for the next page.
func (b *browser) submit(form, heading string) {
	b.t.Helper()
	b.follow(chromedp.Click(chromedp.CSS(form+` button[type="submit"]`)), heading)
}

// follow runs an action that navigates, and waits for the new document: the old one is marked
// first, so a page that reloads itself with the same heading is not mistaken for the next.
func (b *browser) follow(action chromedp.Action[chromedp.Void], heading string) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](`window.havenStale = true`), action)
	b.landed(heading)
}

// totpCode reads the enrolment key off the page (as a person types it into an app) and returns
// the app's current code; the fake clock is moved to a fresh 30-second step first.
func (b *browser) enrolTOTP() string {
	b.t.Helper()
	secret := strings.ReplaceAll(b.text("#totp-secret"), " ", "")
	b.fill("#code", b.code(secret))
	return secret
}

func (b *browser) code(secret string) string {
	b.t.Helper()
	b.e.Clock.Advance(31 * time.Second)
	c, err := totp.Code(secret, b.e.Clock.Now())
	if err != nil {
		b.t.Fatal(err)
	}
	return c
}

// pathOf keeps the path and query of a one-time link (the server's base URL is a placeholder in
// tests; the browser reaches it on localhost).
func pathOf(t *testing.T, link string) string {
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

// TestBrowserJourney walks the whole first-release journey in Chromium: an administrator sets up
// Haven and enrols TOTP, keeps the recovery codes shown once, invites a clinician, signs out and
// in again with a recovery code; the clinician activates, enrols, registers a patient, finds
// them by name, writes a note; the patient, on a phone, activates, enrols with a passkey and
// reads the note and, in their access log, the clinician's view of their record, and reports it.
// Every page is checked with axe-core; the sign-in steps at both widths.
func TestBrowserJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	e := servertest.New(t, "")
	b := newBrowser(t, e)
	b.do(chromedp.EmulateViewport(1280, 900))

	m := servertest.SetupLink.FindSubmatch(e.Log.Bytes())
	if m == nil {
		t.Fatal("no setup link printed")
	}
	b.visit("/setup?token="+string(m[1]), "Set up Haven")
	b.fill("#name", "Ada Admin", "#email", "admin@haven.test", "#password", "admin passphrase", "#confirm", "admin passphrase")
	b.submit(`form[action="/setup"]`, "Set up your authenticator")
	adminSecret := b.enrolTOTP()
	b.submit(`form[action="/totp/enrol"]`, "Save your recovery codes")
	adminCodes := b.keepRecoveryCodes("Administration")

	b.fill("#staff-name", "Dr Grace Hopper", "#staff-email", "grace@haven.test")
	b.submit(`form[action="/admin/staff"]`, "Administration")
	clinicianLink := b.text("#one-time-link")
	b.screenshot("admin")

	// Sign out and back in through the password and TOTP steps.
	b.submit(`header form[action="/logout"]`, "Sign in")
	b.screenshot("login")
	b.fill("#email", "admin@haven.test", "#password", "wrong passphrase")
	b.submit(`form[action="/login"]`, "Sign in")
	if msg := b.text(`[role="alert"]`); !strings.Contains(msg, "not correct") {
		t.Fatalf("wrong password message = %q", msg)
	}
	b.fill("#email", "admin@haven.test", "#password", "admin passphrase")
	b.submit(`form[action="/login"]`, "Enter your code")
	b.checkBothWidths("Enter your code")
	b.typeRecoveryCode(adminCodes[0], "Administration")
	b.submit(`header form[action="/logout"]`, "Sign in")

	// The clinician activates their account from the link, and enrols.
	b.visit(pathOf(t, clinicianLink), "Activate your account")
	b.fill("#password", "clinician passphrase", "#confirm", "clinician passphrase")
	b.submit(`form[action="/invite"]`, "Set up your authenticator")
	b.enrolTOTP()
	b.submit(`form[action="/totp/enrol"]`, "Save your recovery codes")
	b.keepRecoveryCodes("My patients")

	b.visit("/clinician/patients/new", "Register a patient")
	b.fill("#name", "Ada Canary", "#phone", "+1 555 0100 123", "#email", "ada.canary@example.test")
	// A date input takes its value from the browser's date picker; set it as the picker would.
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#birthDate").value = "1980-02-29"`))
	b.submit(`form[action="/clinician/patients/new"]`, "Patient registered")
	patientLink := b.text("#one-time-link")

	b.visit("/clinician", "My patients")
	b.fill("#q", "ada  CANARY")
	b.submit(`form[action="/clinician/search"]`, "Search results")
	b.follow(chromedp.Click(chromedp.CSS("#search-results a")), "Patient record")
	if name := b.text("#patient-name"); name != "Ada Canary" {
		t.Fatalf("record shows %q", name)
	}
	b.fill("#body", "Synthetic note: follow-up video visit in two weeks.")
	b.submit(`form[action$="/notes"]`, "Patient record")
	if body := b.text(".note .body"); !strings.Contains(body, "follow-up video visit") {
		t.Fatalf("note not shown: %q", body)
	}
	b.screenshot("clinician-record")
	b.visit("/account", "Security and sessions")
	if sessions := b.text("#sessions"); !strings.Contains(sessions, "This browser") {
		t.Fatalf("session list: %q", sessions)
	}
	b.submit(`form[action="/account/recovery-codes"]`, "Security and sessions")
	if codes := b.text("#recovery-codes"); strings.Count(codes, "-") != 30 {
		t.Fatalf("recovery codes: %q", codes)
	}
	b.submit(`header form[action="/logout"]`, "Sign in")

	// The patient, on a phone with a screen lock, activates, enrols with a passkey (no QR code
	// to scan with the phone showing it) and reads the note.
	b.do(chromedp.EmulateViewport(375, 812))
	phone := b.addVirtualAuthenticator()
	b.visit(pathOf(t, patientLink), "Activate your account")
	b.checkBothWidths("Activate your account")
	if intro := b.text("main > p"); !strings.Contains(intro, "15 or more characters") {
		t.Fatalf("the invitation does not say a long passphrase can stand alone: %q", intro)
	}
	b.fill("#password", "patient pw 12", "#confirm", "patient pw 12")
	b.submit(`form[action="/invite"]`, "Set up your authenticator")
	b.enrolOnPhone("My record")
	if body := b.text(".note .body"); !strings.Contains(body, "follow-up video visit") {
		t.Fatalf("patient does not see the note: %q", body)
	}
	if meta := b.text(".note .meta"); !strings.Contains(meta, "Dr Grace Hopper") {
		t.Fatalf("note author not shown to the patient: %q", meta)
	}
	// The access log shows the clinician's view of the record; the patient reports one line.
	if log := b.text("#access-log"); !strings.Contains(log, "Dr Grace Hopper") || !strings.Contains(log, "opened your record") {
		t.Fatalf("access log does not show the clinician's view: %q", log)
	}
	b.screenshot("patient-record")
	b.submit(`#access-log li form`, "My record")
	if msg := b.text(`[role="status"]`); !strings.Contains(msg, "privacy officer") {
		t.Fatalf("report not acknowledged: %q", msg)
	}

	// Used links are refused.
	b.visit(pathOf(t, patientLink), "Gone")
	b.visit("/patient", "My record")
	b.submit(`header form[action="/logout"]`, "Sign in")
	b.removeVirtualAuthenticator(phone)

	// The privacy officer, invited by the administrator, finds the patient's report waiting.
	b.do(chromedp.EmulateViewport(1280, 900))
	b.fill("#email", "admin@haven.test", "#password", "admin passphrase")
	b.submit(`form[action="/login"]`, "Enter your code")
	b.fill("#code", b.code(adminSecret))
	b.submit(`form[action="/login/totp"]`, "Administration")
	b.do(chromedp.Evaluate[chromedp.Void](`document.querySelector("#staff-role").value = "auditor"`))
	b.fill("#staff-name", "Priya Officer", "#staff-email", "privacy@haven.test")
	b.submit(`form[action="/admin/staff"]`, "Administration")
	auditorLink := b.text("#one-time-link")
	b.submit(`header form[action="/logout"]`, "Sign in")
	b.visit(pathOf(t, auditorLink), "Activate your account")
	b.fill("#password", "auditor passphrase", "#confirm", "auditor passphrase")
	b.submit(`form[action="/invite"]`, "Set up your authenticator")
	b.enrolTOTP()
	b.submit(`form[action="/totp/enrol"]`, "Save your recovery codes")
	b.keepRecoveryCodes("Privacy review")
	if reviews := b.text("#reviews"); !strings.Contains(reviews, "Dr Grace Hopper") {
		t.Fatalf("the patient's report is not in the privacy officer's queue: %q", reviews)
	}
	b.screenshot("auditor")
	b.submit(`#reviews form`, "Privacy review")
	if msg := b.text(`[role="status"]`); !strings.Contains(msg, "closed") {
		t.Fatalf("closing the report: %q", msg)
	}
}
