package web_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"haven/internal/identity/totp"
	"haven/internal/privacy"
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
	return newBrowserFor(t, e, 3*time.Minute)
}

// newBrowserFor is newBrowser for a journey that may take up to timeout.
func newBrowserFor(t *testing.T, e *servertest.Env, timeout time.Duration) *browser {
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
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
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
	// An element that is not there fails in seconds, with what the page shows instead.
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		page, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.pathname + "\n" + document.body.innerText`))
		b.t.Fatalf("browser: read %s: %v; the page shows:\n%s", sel, err, page)
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

// inZone puts the browser in an IANA time zone, as a person's phone in that zone would be.
func (b *browser) inZone(zone string) {
	b.t.Helper()
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone})
		return err
	}))
}

// noInternalCodes fails if the page's text names an audit action by its code ("record.read").
func (b *browser) noInternalCodes(page string) {
	b.t.Helper()
	text, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		b.t.Fatalf("read %q: %v", page, err)
	}
	for _, code := range privacy.Vocabulary() {
		if strings.Contains(text, code) {
			b.t.Errorf("page %q shows the internal code %s", page, code)
		}
	}
}

// count returns how many elements match sel.
func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		b.t.Fatalf("browser: count %s: %v", sel, err)
	}
	return n
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
	// The browser is in Tokyo; Haven's own zone is UTC. Pages show times in the reader's zone.
	b.inZone("Asia/Tokyo")

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
	if focused, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.id`)); err != nil || focused != "email" {
		t.Fatalf("the sign-in page focuses %q (%v), want the e-mail field", focused, err)
	}
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

	// The clinician's list shows the patient each time it opens: repeated views, one line for
	// the patient later.
	for range 3 {
		b.visit("/clinician", "My patients")
	}
	// One search box: part of a name, then a phone number typed with its formatting.
	b.fill("#q", "ada CANAR")
	b.submit(`form[action="/clinician/search"]`, "Search results")
	if found := b.text("#search-results"); found != "Ada Canary · born 1980-02-29" {
		t.Fatalf("partial-name search found %q", found)
	}
	b.fill("#q", "+1 (555) 0100-123")
	b.submit(`form[action="/clinician/search"]`, "Search results")
	if found := b.text("#search-results"); found != "Ada Canary · born 1980-02-29" {
		t.Fatalf("formatted-phone search found %q", found)
	}
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
	if sessions := b.text("#sessions"); !strings.Contains(sessions, "Chrome on Linux · this browser") || strings.Contains(sessions, "Mozilla/") {
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
	patientCodes := b.enrolOnPhone("My record")
	if body := b.text(".note .body"); !strings.Contains(body, "follow-up video visit") {
		t.Fatalf("patient does not see the note: %q", body)
	}
	if meta := b.text(".note .meta"); !strings.Contains(meta, "Dr Grace Hopper") {
		t.Fatalf("note author not shown to the patient: %q", meta)
	}
	// The access log shows the clinician's view of the record in words, the list views grouped,
	// times in the browser's zone, and no internal code anywhere on the page.
	log := b.text("#access-log")
	if !strings.Contains(log, "Dr Grace Hopper") || !strings.Contains(log, "opened your record") {
		t.Fatalf("access log does not show the clinician's view: %q", log)
	}
	if !regexp.MustCompile(`saw you in their list of patients \([0-9]+ times\)`).MatchString(log) {
		t.Fatalf("the clinician's list views are not one line: %q", log)
	}
	if !strings.Contains(log, "JST") || strings.Contains(log, "UTC") {
		t.Fatalf("access log times are not in the browser's zone (Asia/Tokyo): %q", log)
	}
	b.noInternalCodes("My record")
	b.screenshot("patient-record")
	// Reporting is a step of its own, from the entry's page.
	if n := b.count(`#access-log form, #access-log button`); n != 0 {
		t.Fatalf("the access log has %d report buttons on its lines", n)
	}
	entryPath, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#access-log li")]
		.find(li => li.textContent.includes("Dr Grace Hopper") && li.textContent.includes("opened your record"))
		.querySelector("a").getAttribute("href")`))
	if err != nil {
		t.Fatalf("no link to the clinician's opening of the record: %v", err)
	}
	b.visit(entryPath, "An access to your record")
	if facts := b.text("#access-entry"); !strings.Contains(facts, "opened your record") || !strings.Contains(facts, "JST") {
		t.Fatalf("the entry's page: %q", facts)
	}
	b.noInternalCodes("An access to your record")
	b.submit(`#report`, "An access to your record")
	if msg := b.text(`[role="status"]`); !strings.Contains(msg, "privacy officer") {
		t.Fatalf("report not acknowledged: %q", msg)
	}
	if state := b.text("#review-state"); !strings.Contains(state, "will look into it") {
		t.Fatalf("the reported entry says %q", state)
	}
	b.visit("/patient/access-log", "Who opened my record")
	b.noInternalCodes("Who opened my record")
	b.updatePhone("+1 555 0100 456")

	// Used links are refused.
	b.visit(pathOf(t, patientLink), "This link no longer works")
	b.follow(chromedp.Click(chromedp.CSS("#error-home")), "My record")
	b.submit(`header form[action="/logout"]`, "Sign in")
	b.removeVirtualAuthenticator(phone)

	// The privacy officer, invited by the administrator, finds the patient's report waiting.
	b.do(chromedp.EmulateViewport(1280, 900))
	b.fill("#email", "admin@haven.test", "#password", "admin passphrase")
	b.submit(`form[action="/login"]`, "Enter your code")
	b.fill("#code", b.code(adminSecret))
	b.submit(`form[action="/login/totp"]`, "Administration")
	b.disableAndEnable("Dr Grace Hopper")
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
	if reviews := b.text("#reviews"); !strings.Contains(reviews, "Ada Canary") || !strings.Contains(reviews, "opened a patient's record") || !strings.Contains(reviews, "JST") {
		t.Fatalf("the report does not name the patient and the access in words: %q", reviews)
	}
	b.noInternalCodes("Privacy review")
	b.screenshot("auditor")
	// The privacy officer finds the patient's entries by name, in words.
	b.fill("#patient", "Ada Canary")
	b.submit(`#trail-search`, "Privacy review")
	if trail := b.text("#trail"); !strings.Contains(trail, "Dr Grace Hopper") || !strings.Contains(trail, "wrote a clinical note") || !strings.Contains(trail, "Ada Canary") {
		t.Fatalf("the trail by patient name: %q", trail)
	}
	b.noInternalCodes("Privacy review")
	// The report is closed from its own page with a finding and a note for the patient. Both
	// pages read on a phone too.
	reviewPath, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#reviews a").getAttribute("href")`))
	if err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.EmulateViewport(375, 812))
	b.visit("/auditor", "Privacy review")
	b.visit(reviewPath, "A patient's report")
	b.do(chromedp.EmulateViewport(1280, 900))
	b.visit("/auditor", "Privacy review")
	b.follow(chromedp.Click(chromedp.CSS(`#reviews a`)), "A patient's report")
	b.do(chromedp.Click(chromedp.CSS(`#outcome-unjustified`)))
	b.fill("#note", "Dr Hopper opened your record by mistake; we have reminded the team.")
	b.screenshot("auditor-review")
	b.submit(`#close-review`, "Privacy review")
	if msg := b.text(`[role="status"]`); !strings.Contains(msg, "closed") || !strings.Contains(msg, "not justified") {
		t.Fatalf("closing the report: %q", msg)
	}
	b.submit(`header form[action="/logout"]`, "Sign in")

	// The patient, back on their phone, reads the finding beside the access they reported.
	b.do(chromedp.EmulateViewport(375, 812))
	b.fill("#email", "ada.canary@example.test", "#password", "patient pw 12")
	b.submit(`form[action="/login"]`, "Enter your code")
	b.typeRecoveryCode(patientCodes[len(patientCodes)-1], "My record") // the phone's passkey is elsewhere today
	b.visit(entryPath, "An access to your record")
	if state := b.text("#review-state"); !strings.Contains(state, "not justified") {
		t.Fatalf("the patient does not see the finding: %q", state)
	}
	if note := b.text("#review-note"); !strings.Contains(note, "by mistake") {
		t.Fatalf("the patient does not see the note: %q", note)
	}
	b.screenshot("patient-access-entry")
	// The patient's pages read on a desktop too.
	b.do(chromedp.EmulateViewport(1280, 900))
	b.visit(entryPath, "An access to your record")
	b.visit("/patient/access-log", "Who opened my record")
	b.visit("/patient", "My record")
}

// updatePhone: the patient, on their phone, changes the phone number on their record from their
// record's page, and sees it saved there.
func (b *browser) updatePhone(phone string) {
	b.t.Helper()
	b.visit("/patient", "My record")
	b.follow(chromedp.Click(chromedp.CSS("#change-contact")), "Your contact details")
	b.fill("#phone", phone)
	b.submit(`#contact-form`, "Your contact details")
	if msg := b.text("#contact-done"); !strings.Contains(msg, "saved") {
		b.t.Fatalf("after saving the phone number: %q", msg)
	}
	if got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("#phone").value`)); err != nil || got != phone {
		b.t.Fatalf("the form shows %q (%v), want %q", got, err, phone)
	}
	b.screenshot("patient-contact")
	b.visit("/patient", "My record")
	if facts := b.text("dl.facts"); !strings.Contains(facts, phone) {
		b.t.Fatalf("the record shows %q, want the new number %s", facts, phone)
	}
}

// disableAndEnable disables a staff member from the staff table, through the confirmation page,
// and enables them again from the notice that says what happened: on a phone-sized screen, then
// back at the desktop size.
func (b *browser) disableAndEnable(name string) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(375, 812))
	b.visit("/admin", "Administration")
	b.follow(chromedp.Click(chromedp.CSS(`#staff a[href$="/disable"]`)), "Disable "+name+"?")
	b.submit(`#confirm-disable form`, "Administration")
	if msg := b.text("#done"); !strings.Contains(msg, name+" is disabled") {
		b.t.Fatalf("after disabling: %q", msg)
	}
	b.do(chromedp.EmulateViewport(1280, 900))
	b.submit(`#done form`, "Administration")
	if msg := b.text("#done"); !strings.Contains(msg, name+" is enabled again") {
		b.t.Fatalf("after enabling again: %q", msg)
	}
}
