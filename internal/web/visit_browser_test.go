package web_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/textproto"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"haven/internal/httpx"
	"haven/internal/mail/mailtest"
	"haven/internal/server/servertest"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestBrowserVisitJourney walks a visit from booking to its summary in Chromium, on both
// stores: a patient on a phone accepts the telehealth consent and books a slot; the reminder
// e-mail arrives (without the clinician's name or anything about the visit); at the visit's
// time the patient checks in and answers the questions, and the clinician's waiting room, open
// in another browser, shows them without a reload; the clinician admits them (the patient's
// page follows), invites an interpreter the patient agreed to, and ends the visit with a summary
// and a follow-up, which the patient reads with the receipt of what Haven keeps. The guest's
// link, opened in a third browser, reaches that visit and nothing else: every other route of the
// API and of the pages answers 401 or 403 to the guest's session. The front desk sees the
// clinic's day without clinical content, books for the patient and cancels. Every page is
// checked with axe-core.
func TestBrowserVisitJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			dsn := ""
			if d != store.SQLite {
				dsn = storetest.DSN(t, d)
			}
			visitJourney(t, dsn)
		})
	}
}

// person is someone the test made over the API, who signs in in a browser.
type person struct {
	Name, Email, PW, Secret string
	ID                      string // account id (staff) or patient id
}

// linkFor is the single-use link an answer carries, or, with e-mail on, the first message to
// email carries.
func linkFor(t *testing.T, inbox *mailtest.Inbox, answer map[string]any, email string) string {
	t.Helper()
	if u, ok := answer["url"].(string); ok && u != "" {
		return u
	}
	return servertest.LinkIn(t, servertest.MailTo(t, inbox, email, 1))
}

// activate uses an invitation link with a password and enrols an authenticator app.
func activate(t *testing.T, e *servertest.Env, link, email, pw string) string {
	t.Helper()
	c := e.Client()
	c.Email, c.PW = email, pw
	c.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, link), "password": pw})
	c.Enrol()
	return c.Secret
}

func staffByMail(t *testing.T, e *servertest.Env, admin *servertest.Client, inbox *mailtest.Inbox, name, email, role string) person {
	t.Helper()
	m := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": email, "name": name, "role": role})
	p := person{Name: name, Email: email, PW: "staff passphrase", ID: m["accountId"].(string)}
	p.Secret = activate(t, e, linkFor(t, inbox, m, email), email, p.PW)
	return p
}

// signIn signs p in with their password and a fresh authenticator code, landing on landing.
func (b *browser) signIn(p person, landing string) {
	b.t.Helper()
	b.visit("/login", "Sign in")
	b.fill("#email", p.Email, "#password", p.PW)
	b.submit(`form[action="/login"]`, "Enter your code")
	b.fill("#code", b.code(p.Secret))
	b.submit(`form[action="/login/totp"]`, landing)
}

// another opens a browser of its own (its own cookies) in the same Chromium, as a second person
// on another device would be.
func (b *browser) another() *browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	b.t.Cleanup(cancel)
	nb := *b
	nb.ctx = ctx
	return &nb
}

// setValue sets an input's value as a picker would (date and time inputs).
func (b *browser) setValue(sel, value string) {
	b.t.Helper()
	b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).value = %q`, sel, value)))
}

// sessionCookie is the browser's session token.
func (b *browser) sessionCookie() string {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base + "/"}})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == httpx.SessionCookie {
			return c.Value
		}
	}
	b.t.Fatal("no session cookie")
	return ""
}

// at moves the fake clock forward to t.
func at(e *servertest.Env, t time.Time) { e.Clock.Advance(t.Sub(e.Clock.Now())) }

// mailWith waits for a message to to whose text holds want.
func mailWith(t *testing.T, inbox *mailtest.Inbox, to, want string) mailtest.Received {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		for _, m := range inbox.Messages() {
			if len(m.To) == 1 && strings.EqualFold(m.To[0], to) && strings.Contains(m.Data, want) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message to %s with %q arrived", to, want)
		}
	}
}

// decoded is a message's headers and every part's text, decoded (base64, quoted-printable), as a
// reader (or a calendar) sees it.
func decoded(t *testing.T, m mailtest.Received) string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for k, v := range msg.Header {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(v, ", "))
	}
	var walk func(h textproto.MIMEHeader, body io.Reader)
	walk = func(h textproto.MIMEHeader, body io.Reader) {
		media, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
		if strings.HasPrefix(media, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header, p)
			}
		}
		switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
		case "base64":
			body = base64.NewDecoder(base64.StdEncoding, body)
		case "quoted-printable":
			body = quotedprintable.NewReader(body)
		}
		raw, _ := io.ReadAll(body)
		b.Write(raw)
		b.WriteString("\n")
	}
	walk(textproto.MIMEHeader(msg.Header), msg.Body)
	return b.String()
}

func visitJourney(t *testing.T, dsn string) {
	withMail, inbox := servertest.WithMail(t)
	e := servertest.New(t, dsn, withMail)
	admin := e.Admin()
	drP := staffByMail(t, e, admin, inbox, "Dr Grace Hopper", "grace@haven.test", "clinician")
	deskP := staffByMail(t, e, admin, inbox, "Fran Desk", "desk@haven.test", "frontdesk")
	dr := e.Client()
	dr.Email, dr.PW, dr.Secret = drP.Email, drP.PW, drP.Secret
	dr.Login()
	reg := dr.Must(201, "POST", "/api/v1/patients", map[string]string{"name": "Ada Canary", "birthDate": "1980-02-29", "phone": "+34 612 345 678", "email": "ada.canary@example.test"})
	patP := person{Name: "Ada Canary", Email: "ada.canary@example.test", PW: "patient pw 12", ID: reg["patientId"].(string)}
	patP.Secret = activate(t, e, linkFor(t, inbox, reg, patP.Email), patP.Email, patP.PW)

	// The clinician, at a desk in Madrid, sets their hours in the editor.
	doc := newBrowserFor(t, e, 8*time.Minute)
	doc.do(chromedp.EmulateViewport(1280, 900))
	doc.inZone("Europe/Madrid")
	doc.signIn(drP, "My patients")
	doc.visit("/clinician/availability", "My hours")
	doc.setValue("#timeZone", "Europe/Madrid")
	for _, day := range []string{"mon", "tue", "wed", "thu", "fri"} {
		doc.setValue("#"+day+"-start-0", "09:00")
		doc.setValue("#"+day+"-end-0", "17:00")
	}
	doc.submit(`#availability-form`, "My hours")
	if msg := doc.text("#availability-saved"); !strings.Contains(msg, "Saved") {
		t.Fatalf("after saving the hours: %q", msg)
	}
	doc.screenshot("clinician-hours")

	// The patient, on a phone in Madrid, accepts the consent and books the first time on
	// Wednesday (it is Tuesday 24 November, 10:00 in Madrid).
	pat := doc.another()
	pat.do(chromedp.EmulateViewport(375, 812))
	pat.inZone("Europe/Madrid")
	pat.signIn(patP, "My record")
	pat.visit("/patient/appointments", "Appointments")
	if n := pat.count("#consent-needed"); n != 1 {
		t.Fatal("the appointments page does not ask for the telehealth consent")
	}
	pat.follow(chromedp.Click(chromedp.CSS(`#consent-needed a`)), "Consent to video visits")
	pat.screenshot("patient-consent")
	pat.submit(`form[action="/patient/consent"]`, "Consent to video visits")
	if st := pat.text("#consent-status"); !strings.Contains(st, "You accepted this version on") || !strings.Contains(st, "CET") {
		t.Fatalf("after accepting the consent: %q", st)
	}
	pat.visit("/patient/appointments", "Appointments")
	pat.follow(chromedp.Click(chromedp.CSS("#book-new")), "Book an appointment")
	pat.follow(chromedp.Click(chromedp.CSS("#clinicians a")), "Book an appointment")
	if who := pat.text("#book-clinician"); who != "Dr Grace Hopper" {
		t.Fatalf("booking with %q", who)
	}
	pat.follow(chromedp.Click(chromedp.CSS(`#days a[href*="day=2026-11-25"]`)), "Book an appointment")
	pat.do(chromedp.Click(chromedp.CSS(`label[for="slot-1"]`)))
	pat.screenshot("patient-booking")
	pat.submit(`#times form`, "Check and confirm")
	if when := pat.text("#confirm-when"); when != "Wednesday 25 November 2026 at 09:20 CET" {
		t.Fatalf("confirming %q", when)
	}
	pat.submit(`#confirm`, "Appointments")
	if up := pat.text("#upcoming"); !strings.Contains(up, "Wednesday 25 November 2026 at 09:20 CET") || !strings.Contains(up, "Dr Grace Hopper") {
		t.Fatalf("upcoming appointments: %q", up)
	}
	pat.noInternalCodes("Appointments")
	// Cancelling asks first and says until when it can be done; the patient keeps it, and moves
	// it twenty minutes earlier instead.
	pat.follow(chromedp.Click(chromedp.CSS(`#upcoming a[href$="/cancel"]`)), "Cancel this appointment?")
	pat.follow(chromedp.Click(chromedp.CSS(`main > p:last-child a`)), "Appointments")
	pat.follow(chromedp.Click(chromedp.CSS(`#upcoming a[href*="move="]`)), "Move your appointment")
	pat.follow(chromedp.Click(chromedp.CSS(`#days a[href*="day=2026-11-25"]`)), "Move your appointment")
	pat.do(chromedp.Click(chromedp.CSS(`label[for="slot-0"]`)))
	pat.submit(`#times form`, "Check and confirm")
	pat.submit(`#confirm`, "Appointments")
	if up := pat.text("#upcoming"); !strings.Contains(up, "Wednesday 25 November 2026 at 09:00 CET") || strings.Contains(up, "09:20 CET") {
		t.Fatalf("after moving the appointment: %q", up)
	}

	// The reminder a day before: no name, no specialty, nothing about the visit.
	if _, err := e.Srv.SendReminders(context.Background()); err != nil {
		t.Fatal(err)
	}
	reminder := decoded(t, mailWith(t, inbox, patP.Email, "Subject: Appointment reminder"))
	if !strings.Contains(reminder, "BEGIN:VCALENDAR") {
		t.Fatalf("the reminder has no calendar file:\n%s", reminder)
	}
	for _, secret := range []string{"Grace", "Hopper", "Ada", "Canary"} {
		if strings.Contains(reminder, secret) {
			t.Fatalf("the reminder names %q:\n%s", secret, reminder)
		}
	}

	// Wednesday, ten minutes before the visit: both sign in again (their sessions have ended).
	at(e, time.Date(2026, 11, 25, 7, 50, 0, 0, time.UTC))
	doc.signIn(drP, "My patients")
	doc.visit("/clinician/schedule", "Schedule")
	if cal := doc.text("#calendar"); !strings.Contains(cal, "09:00") || !strings.Contains(cal, "Ada Canary") {
		t.Fatalf("the calendar shows %q", cal)
	}
	if room := doc.text("#waiting-room"); strings.Contains(room, "Ada Canary") {
		t.Fatalf("the patient waits before checking in: %q", room)
	}
	// A marker the page keeps as long as it is not reloaded.
	doc.do(chromedp.Evaluate[chromedp.Void](`window.havenMarker = "not reloaded"`))

	pat.signIn(patP, "My record")
	pat.visit("/patient/appointments", "Appointments")
	pat.follow(chromedp.Click(chromedp.CSS(`#upcoming a[href^="/visits/"]`)), "Your visit")
	visitPath := eval[string](pat, `location.pathname`)
	pat.submit(`#check-in`, "Waiting room")
	pat.fill("#reason", "Cough for two weeks", "#symptoms", "Dry cough at night", "#medications", "None", "#questions", "Is it contagious?")
	pat.submit(`#intake`, "Waiting room")
	if done := pat.text("#intake-done"); !strings.Contains(done, "has your answers") {
		t.Fatalf("after the intake: %q", done)
	}
	pat.submit(`#allow-guests`, "Waiting room")
	if place := pat.text("#waiting-place"); place != "You are next." {
		t.Fatalf("the patient's place: %q", place)
	}
	if st := pat.text("#clinician-status"); !strings.Contains(st, "online") {
		t.Fatalf("the clinician's status, with their waiting room open: %q", st)
	}
	pat.screenshot("patient-waiting")
	pat.do(chromedp.Evaluate[chromedp.Void](`window.havenMarker = "not reloaded"`))

	// The front desk sees who waits, by name only.
	desk := doc.another()
	desk.do(chromedp.EmulateViewport(1280, 900))
	desk.inZone("Europe/Madrid")
	desk.signIn(deskP, "Clinic day")
	desk.waitFor("the patient in the front desk's waiting room", `document.querySelector("#waiting-room").innerText.includes("Ada Canary")`)
	if page := eval[string](desk, `document.body.innerText`); strings.Contains(page, "Cough") || strings.Contains(page, "contagious") {
		t.Fatal("the front desk sees the patient's answers")
	}
	desk.screenshot("frontdesk-day")

	// The clinician's waiting room shows the patient and their answers without a reload.
	doc.waitFor("the patient in the waiting room", `document.querySelector("#waiting-room").innerText.includes("Ada Canary") &&
		document.querySelector("#waiting-room").innerText.includes("Cough for two weeks")`)
	if m := eval[string](doc, `window.havenMarker || ""`); m != "not reloaded" {
		t.Fatal("the clinician's page was reloaded to show the waiting patient")
	}
	doc.checkAccessibility("Schedule, with a patient waiting")
	doc.screenshot("clinician-calendar")
	doc.follow(chromedp.Click(chromedp.CSS(`#waiting-room form button`)), "Visit in progress")

	// The patient's page follows: the visit has started (no reload either).
	pat.landed("Your visit has started")
	if m := eval[string](pat, `window.havenMarker || ""`); m != "not reloaded" {
		t.Fatal("the patient's page was reloaded to show the visit's start")
	}
	if n := pat.count("#consult"); n != 1 {
		t.Fatal("the visit page does not show the call once the visit has started")
	}

	doc.screenshot("clinician-visit")
	// The clinician invites an interpreter (the patient agreed) and hands over the link.
	doc.fill("#guest-name", "Iris Interpreter")
	doc.do(chromedp.Click(chromedp.CSS(`label[for="relation-interpreter"]`)))
	doc.submit(`#invite-guest`, "Visit in progress")
	guestLink := doc.text("#guest-link")

	guest := doc.another()
	guest.do(chromedp.EmulateViewport(375, 812))
	guest.visit(pathOf(t, guestLink), "Join a video visit")
	guest.submit(`main form`, "The visit has started")
	if got := eval[string](guest, `location.pathname`); got != visitPath {
		t.Fatalf("the guest link opened %s, want %s", got, visitPath)
	}
	guestWalk(t, e, guest.sessionCookie(), strings.TrimPrefix(visitPath, "/visits/"))
	guest.visit("/patient", "You do not have access to this")

	// The clinician ends the visit with a summary and a follow-up in a fortnight's list.
	doc.visit(visitPath, "Visit in progress")
	doc.fill("#summary", "Viral cough. Rest, fluids; come back if it lasts another week.")
	doc.setValue("#followUp", eval[string](doc, `document.querySelector("#followUp optgroup:nth-of-type(3) option").value`))
	doc.submit(`#end-visit`, "Visit ended")

	// The patient reads the summary and what Haven keeps.
	pat.landed("Visit ended")
	if s := pat.text("#visit-summary"); !strings.Contains(s, "Rest, fluids") {
		t.Fatalf("the patient reads the summary %q", s)
	}
	if r := pat.text("#visit-receipt"); r == "" {
		t.Fatal("no receipt of what Haven keeps")
	}
	pat.noInternalCodes("Visit ended")
	pat.screenshot("patient-visit-ended")
	pat.visit("/patient/appointments", "Appointments")
	if up := pat.text("#upcoming"); !strings.Contains(up, "Dr Grace Hopper") {
		t.Fatalf("the follow-up is not among the upcoming appointments: %q", up)
	}
	// The guest's session ended with the visit.
	guest.visit(visitPath, "Sign in")

	// The rest of the new pages, each checked: the on-demand queue both ways, the calendar
	// feed, the week view.
	pat.visit("/patient/queue", "See the next available clinician")
	pat.submit(`form[action="/patient/queue/join"]`, "See the next available clinician")
	if place := pat.text("#queue-place"); !strings.Contains(place, "number 1") {
		t.Fatalf("the patient's place in the queue: %q", place)
	}
	pat.do(chromedp.Evaluate[chromedp.Void](`window.havenMarker = "not reloaded"`))
	doc.visit("/clinician/queue", "On-demand queue")
	if q := doc.text("#queue"); !strings.Contains(q, "Ada Canary") {
		t.Fatalf("the clinician's queue: %q", q)
	}
	doc.submit(`#queue form`, "Patient waiting")
	// The patient's queue page says a clinician is ready, by itself.
	pat.waitFor("the queue page to lead to the visit", `!!document.querySelector("#queue-visit")`)
	if m := eval[string](pat, `window.havenMarker || ""`); m != "not reloaded" {
		t.Fatal("the queue page was reloaded")
	}
	pat.follow(chromedp.Click(chromedp.CSS("#queue-visit")), "Waiting room")
	doc.visit("/clinician/schedule?view=week", "Schedule")
	doc.visit("/account", "Security and sessions")
	doc.submit(`form[action="/account/calendar-feed"]`, "Security and sessions")
	if feed := doc.text("#feed-url"); !strings.HasPrefix(feed, "https://") {
		t.Fatalf("calendar feed address %q", feed)
	}
	doc.submit(`form[action="/account/calendar-feed/revoke"]`, "Security and sessions")

	// The front desk: the clinic's day without clinical content, booking for the patient,
	// cancelling, booking the same time again, marking it missed once it has passed, and a
	// clinician's hours.
	desk.visit("/frontdesk", "Clinic day")
	day := desk.text("#clinic-day")
	if !strings.Contains(day, "Dr Grace Hopper") || !strings.Contains(day, "Ada Canary") {
		t.Fatalf("the clinic's day: %q", day)
	}
	if page := eval[string](desk, `document.body.innerText`); strings.Contains(page, "Cough") || strings.Contains(page, "Rest, fluids") {
		t.Fatal("the front desk sees clinical content")
	}
	bookForAda := func() {
		desk.fill("#q", "ada can")
		desk.submit(`#find-patient`, "Clinic day")
		desk.follow(chromedp.Click(chromedp.CSS(`#search-results a`)), "Book an appointment for a patient")
		if who := desk.text("#book-for"); !strings.Contains(who, "Ada Canary") {
			t.Fatalf("the front desk books for %q", who)
		}
		desk.follow(chromedp.Click(chromedp.CSS("#clinicians a")), "Book an appointment for a patient")
		desk.follow(chromedp.Click(chromedp.CSS(`#days a[href*="day=2026-11-26"]`)), "Book an appointment for a patient")
		desk.do(chromedp.Click(chromedp.CSS(`label[for="slot-0"]`)))
		desk.submit(`#times form`, "Check and confirm")
		if when := desk.text("#confirm-when"); when != "Thursday 26 November 2026 at 09:00 CET" {
			t.Fatalf("the front desk confirms %q", when)
		}
		desk.submit(`#confirm`, "Clinic day")
		if done := desk.text("#frontdesk-done"); !strings.Contains(done, "booked") {
			t.Fatalf("after booking for the patient: %q", done)
		}
	}
	bookForAda()
	desk.follow(chromedp.Click(chromedp.CSS(`#clinic-day a[href*="/cancel"]`)), "Cancel this appointment?")
	desk.submit(`.card form`, "Clinic day")
	if done := desk.text("#frontdesk-done"); !strings.Contains(done, "cancelled") {
		t.Fatalf("after cancelling: %q", done)
	}
	bookForAda() // the cancelled time is free again
	desk.visit("/frontdesk/clinicians", "Clinicians' hours")
	desk.follow(chromedp.Click(chromedp.CSS(`#clinicians a`)), "Hours of Dr Grace Hopper")
	if tz := eval[string](desk, `document.querySelector("#timeZone").value`); tz != "Europe/Madrid" {
		t.Fatalf("the front desk's editor shows the time zone %q", tz)
	}
	desk.submit(`#availability-form`, "Hours of Dr Grace Hopper")
	// Thursday, half an hour after the appointment the patient did not come to.
	at(e, time.Date(2026, 11, 26, 8, 30, 0, 0, time.UTC))
	desk.signIn(deskP, "Clinic day")
	desk.follow(chromedp.Click(chromedp.CSS(`#clinic-day a[href*="/no-show"]`)), "Mark this appointment as missed?")
	desk.submit(`.card form`, "Clinic day")
	if done := desk.text("#frontdesk-done"); !strings.Contains(done, "missed") {
		t.Fatalf("after marking it missed: %q", done)
	}
	if day := desk.text("#clinic-day"); !strings.Contains(day, "Marked as missed") {
		t.Fatalf("the day after marking it missed: %q", day)
	}
}

// guestWalk walks every route of the API and of the pages with a guest's session: only the
// guest's own visit answers; every other route is 401 or 403 (their visit's routes, asked for
// another visit, 403 or 404).
func guestWalk(t *testing.T, e *servertest.Env, cookie, visitID string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the test server's own certificate
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string) int {
		req, err := http.NewRequest(method, e.TS.URL+path, strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Cookie", httpx.SessionCookie+"="+cookie)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	wildcard := regexp.MustCompile(`\{[a-z]+\}`)
	if code := do("GET", "/api/v1/visits/"+visitID); code != http.StatusOK {
		t.Fatalf("the guest's own visit through the API = %d", code)
	}
	if code := do("GET", "/visits/"+visitID); code != http.StatusOK {
		t.Fatalf("the guest's own visit page = %d", code)
	}
	walked := 0
	for _, rt := range e.Srv.APIRoutes() {
		if rt.Public {
			continue
		}
		path := "/api/v1" + wildcard.ReplaceAllString(rt.Path, "not-theirs")
		code := do(rt.Method, path)
		ok := code == http.StatusUnauthorized || code == http.StatusForbidden || rt.Guest && code == http.StatusNotFound
		if rt.Guest && !wildcard.MatchString(rt.Path) {
			// The guest's own (their device keys, /me/devices): theirs to list and register.
			ok = code < 300 || code == http.StatusUnprocessableEntity
		}
		if !ok {
			t.Errorf("guest: %s %s = %d, want 401 or 403", rt.Method, path, code)
		}
		walked++
	}
	for _, p := range e.Srv.WebRoutes() {
		method, path, _ := strings.Cut(p, " ")
		// Signing out is the guest's to do; the link's own page is the way in.
		if p == "POST /logout" || strings.HasPrefix(path, "/visit/guest/") {
			continue
		}
		path = wildcard.ReplaceAllString(strings.ReplaceAll(path, "{$}", ""), "not-theirs")
		code := do(method, path)
		ok := code == http.StatusUnauthorized || code == http.StatusForbidden || p == "GET /visits/{id}" && code == http.StatusNotFound
		if !ok {
			t.Errorf("guest: %s %s = %d, want 401 or 403", method, path, code)
		}
		walked++
	}
	for _, path := range []string{"/no-such-page"} {
		if code := do("GET", path); !slices.Contains([]int{401, 403}, code) {
			t.Errorf("guest: GET %s = %d, want 401 or 403", path, code)
		}
	}
	if walked < 100 {
		t.Fatalf("only %d routes walked", walked)
	}
}
