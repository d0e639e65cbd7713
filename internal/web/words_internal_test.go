package web

import (
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/identity"
	"haven/internal/monitor"
	"haven/internal/principal"
	"haven/internal/privacy"
)

// auditCodes is the audit vocabulary a person must never read: every policy action, every
// sign-in and account event identity records (found in its source), and every code privacy
// has words for.
func auditCodes(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range access.Rules() {
		seen[string(r.Action)] = true
	}
	for _, a := range privacy.Vocabulary() {
		seen[a] = true
	}
	event := regexp.MustCompile(`"((?:auth|account|session|setup)\.[a-z-]+)"`)
	err := filepath.WalkDir(filepath.Join("..", "identity"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range event.FindAllStringSubmatch(string(src), -1) {
			seen[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for c := range seen {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

var (
	scriptOrStyle = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)>`)
	tag           = regexp.MustCompile(`(?s)<[^>]*>`)
	// readAttr are the attributes a person reads or hears (a screen reader reads aria-label).
	readAttr = regexp.MustCompile(`(?i)\s(?:alt|title|aria-label|aria-description|placeholder)="([^"]*)"`)
)

// readable is the text a person reads on a rendered page: its text, and the attributes that are
// shown or spoken. Values a form sends (an option's value) are not read.
func readable(page string) string {
	page = scriptOrStyle.ReplaceAllString(page, " ")
	var b strings.Builder
	for _, m := range readAttr.FindAllStringSubmatch(page, -1) {
		b.WriteString(html.UnescapeString(m[1]) + "\n")
	}
	b.WriteString(html.UnescapeString(tag.ReplaceAllString(page, " ")))
	return b.String()
}

// wordsFixtures is realistic data for every page: an access log with an entry for every code
// in the vocabulary, by every kind of person, allowed and refused, reported and closed; the
// privacy officer's trail, reports and alerts the same.
func wordsFixtures(codes []string) map[string][]page {
	when := time.Date(2026, 11, 24, 9, 2, 0, 0, time.UTC)
	var entries []privacy.Entry
	for i, code := range codes {
		for j, role := range []string{"clinician", "auditor", "admin", "patient", "system", ""} {
			outcome := []string{audit.Allow, audit.Deny, audit.Success, audit.Failure}[(i+j)%4]
			reason := []string{access.ReasonAssigned, access.ReasonNotInCareTeam, "system security-notice", "administrative clinician->auditor", "wrong-password", "break-glass"}[j]
			entries = append(entries, privacy.Entry{Seq: int64(len(entries) + 1), Time: when.Add(time.Duration(len(entries)) * time.Minute),
				ActorID: "acct-" + role, ActorRole: role, Action: code, ResourceType: "Patient", ResourceID: "pat-1", PatientID: "pat-1",
				Outcome: outcome, Reason: reason, SourceAddr: "192.0.2.1", RequestID: "req"})
		}
	}
	closed := when.Add(48 * time.Hour)
	reviews := []*privacy.ReviewState{nil, {Status: privacy.StatusOpen},
		{Status: privacy.StatusResolved, Outcome: privacy.OutcomeJustified, Note: "A colleague covered your clinician's list.", Closed: &closed},
		{Status: privacy.StatusResolved, Outcome: privacy.OutcomeUnjustified, Note: "Opened by mistake.", Closed: &closed},
		{Status: privacy.StatusResolved, Closed: &closed}, {Status: privacy.StatusDuplicate}}
	var events []privacy.AccessEvent
	var trail []privacy.TrailEntry
	var queue []privacy.ReviewView
	for i, e := range entries {
		ev := privacy.PatientEvent(e)
		if ev.Who == "" {
			ev.Who = "Carl Clinician"
		}
		if r := reviews[i%len(reviews)]; r != nil && ev.Reportable() {
			ev.Reported, ev.Review = true, r
		}
		events = append([]privacy.AccessEvent{ev}, events...)
		tr := privacy.OfficerEntry(e)
		if tr.Who == "" {
			tr.Who, tr.Patient = "Carl Clinician", "Ada Canary"
		}
		trail = append(trail, tr)
		v := privacy.ReviewView{Review: privacy.Review{ID: fmt.Sprint("review-", i), Entry: e, ActorName: tr.Who, Status: privacy.StatusOpen, Created: closed}, Access: tr}
		if r := reviews[i%len(reviews)]; r != nil && r.Status != privacy.StatusOpen {
			v.Status, v.Outcome, v.Note, v.Closed = r.Status, r.Outcome, r.Note, r.Closed
		}
		queue = append(queue, v)
	}
	groups := privacy.GroupEvents(events, time.UTC)
	var alerts []privacy.AlertView
	for _, kind := range []string{monitor.AfterHours, monitor.MassAccess, monitor.FlaggedRecord, monitor.BruteForceAccount, monitor.RecordIntegrity} {
		for _, code := range codes {
			a := monitor.Alert{Kind: kind, Severity: "high", Subject: "acct-clinician", Detail: code + " at 21:04 UTC", Seq: 7, Time: when}
			alerts = append(alerts, privacy.AlertView{Alert: a, What: kind, Who: "Carl Clinician", Detail: privacy.InWords(a.Detail)})
		}
	}
	patient := clinical.Patient{ID: "pat-1", Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+1 555 0100", Email: "ada@example.test", CreatedAt: when}
	record := clinical.Record{Patient: patient, Notes: []clinical.Note{{ID: "n1", AuthorName: "Carl Clinician", Body: "Follow-up in two weeks.", CreatedAt: when}}}
	link := &linkNotice{Heading: "Activation link", Who: "the patient", Lifetime: "72 hours", Link: identity.Link{URL: "https://haven.test/invite?token=x"}}
	staff := []identity.Account{{ID: "acct-clinician", Role: access.Clinician, Status: "active", Name: "Carl Clinician", Email: "carl@haven.test", CreatedAt: when}}
	people := []privacy.Person{{AccountID: "acct-clinician", Name: "Carl Clinician", Role: "clinician"}, {AccountID: "acct-auditor", Name: "Priya Officer", Role: "auditor"}}
	cp := &checkpointView{Checkpoint: privacy.Checkpoint{Size: 42, Time: when}, RootB64: "abc=", Matches: true}
	auditor := auditorData{Alerts: alerts, Reviews: queue, Checkpoint: cp, People: people, Actions: privacy.ActionChoices(),
		Query:   privacy.TrailQuery{PatientName: "Ada Canary", Filter: privacy.Filter{ActorID: "acct-clinician", Action: "record.read"}},
		Results: trail, Older: 3, Searched: true, Resolved: privacy.OutcomeJustified}
	var entryPages, reviewPages []page
	for _, ev := range events {
		entryPages = append(entryPages, page{Title: "An access to your record", Data: accessEntryData{Event: ev, Reported: ev.Reported}})
	}
	for _, v := range queue {
		reviewPages = append(reviewPages, page{Title: "A patient's report", Data: reviewData{Review: v}})
	}
	fixtures := map[string][]page{
		"patient":     {{Title: "My record", Data: patientData{Record: record, Log: groups, More: true}}},
		"accesslog":   {{Title: "Who opened my record", Data: accessLogData{Log: groups, Older: 5, Paged: true, Before: 9}}},
		"accessentry": entryPages,
		"auditor": {{Title: "Privacy review", Data: auditor},
			{Title: "Privacy review", Data: auditorData{Searched: true, NoPatient: true, Actions: privacy.ActionChoices()}}},
		"auditreview": reviewPages,
		"record":      {{Title: "Patient record", Data: recordData{Record: record, Note: "draft"}}},
		"clinician":   {{Title: "Search results", Data: clinicianData{Patients: []clinical.Patient{patient}, Search: &searchData{By: "name", Query: "ada", Results: []clinical.Patient{patient}}}}},
		"register": {{Title: "Register a patient", Data: registerData{}},
			{Title: "Register a patient", Data: registerData{In: clinical.NewPatient{Name: "Ada Canary", BirthDate: "1980-02-29"}, Duplicate: &clinical.Duplicate{InCare: []string{"pat-1", "pat-2"}}}},
			{Title: "Register a patient", Data: registerData{In: clinical.NewPatient{Name: "Ada Canary", BirthDate: "1980-02-29"}, Duplicate: &clinical.Duplicate{Elsewhere: true}}}},
		"registered": {{Title: "Patient registered", Data: registerData{PatientID: "pat-1", Notice: link}}},
		"signinlink": {{Title: "Sign-in link", Data: registerData{PatientID: "pat-1", Notice: link}}},
		"contact":    {{Title: "Your contact details", Data: contactData{Contact: clinical.Contact{Phone: "+34 612 345 678"}, ByPhone: true, MailOn: true, Done: contactNotices["confirmation-sent"]}}, {Title: "Your contact details", Data: contactData{Contact: clinical.Contact{Phone: "+1 555 0100", Email: "ada@example.test"}}}},
		"admin":      {{Title: "Administration", Data: adminData{Staff: []staffView{{Account: staff[0]}}, Clinicians: staff, Patients: []patientIDs{{ID: "pat-1", Clinicians: []string{"acct-clinician"}}}, Notice: link}}},
		"account":    {{Title: "Security and sessions", Data: accountData{Sessions: []identity.SessionInfo{{ID: "s1", Current: true, Device: "Chrome on Android", CreatedAt: when, LastSeen: when}}, HasTOTP: true, RecoveryLeft: 9}}},
		"emailconfirm": {{Title: "Confirm your new e-mail address", Data: emailConfirmData{Token: "t"}},
			{Title: "E-mail address changed", Data: emailConfirmData{Done: true}}},
		"setup":     {{Title: "Set up Haven", Data: setupData{Token: "t"}}},
		"login":     {{Title: "Sign in", Data: loginData{OIDC: "your organisation account"}}},
		"totp":      {{Title: "Enter your code"}},
		"enrol":     {{Title: "Set up your authenticator", Data: enrolData{Secret: "JBSWY3DPEHPK3PXP"}}},
		"invite":    {{Title: "Activate your account", Data: inviteData{Token: "t"}}},
		"reset":     {{Title: "Choose a new password", Data: inviteData{Token: "t"}}},
		"forgot":    {{Title: "Forgot your password?", Data: forgotData{MailOn: true, Sent: "ada@example.test"}}},
		"stepup":    {{Title: "Confirm it is you", Data: stepUpData{Next: "/auditor"}}},
		"federated": {{Title: "Signing you in"}},
		"error":     {errorFixture(http.StatusNotFound), errorFixture(http.StatusForbidden), errorFixture(http.StatusInternalServerError)},
		"disable":   {{Title: "Disable this account?", Data: disableData{Staff: staffView{Account: staff[0]}}}},
		"codes":     {{Title: "Save your recovery codes", Data: codesData{Codes: []string{"ABCD-EFGH-IJKL-MNOP", "QRST-UVWX-YZ23-4567"}, Next: continueTo("/patient")}}},
	}
	for name, pages := range visitFixtures(when, patient) {
		fixtures[name] = pages
	}
	for name, pages := range billingFixtures(when) {
		fixtures[name] = pages
	}
	for name, pages := range documentFixtures(when, patient) {
		fixtures[name] = append(fixtures[name], pages...)
	}
	for name, pages := range rxFixtures(when) {
		fixtures[name] = pages
	}
	for name, pages := range governanceFixtures(when) {
		fixtures[name] = pages
	}
	for name, pages := range consultFixtures(when) {
		fixtures[name] = append(fixtures[name], pages...)
	}
	for name, pages := range erasureFixtures(when) {
		fixtures[name] = append(fixtures[name], pages...)
	}
	for name, pages := range integrationsFixtures(when) {
		fixtures[name] = pages
	}
	fixtures["account"] = append(fixtures["account"], page{Title: "Security and sessions", Data: accountData{Calendar: true, FeedURL: "https://haven.test/calendar/feed/abc.ics"}})
	return fixtures
}

// TestNoPageShowsAnInternalCode renders every page template with realistic data, as each role
// sees it, and fails if any text a person reads names an audit action by its code
// ("record.read", "patient.sign-in-link"). A page with no fixture here fails too.
func TestNoPageShowsAnInternalCode(t *testing.T) {
	u := New(Deps{})
	codes := auditCodes(t)
	if len(codes) < len(access.Rules())+10 {
		t.Fatalf("only %d codes found: has identity moved?", len(codes))
	}
	fixtures := wordsFixtures(codes)
	roles := []principal.Role{principal.Patient, principal.Clinician, principal.Auditor, principal.Admin}
	for name, master := range u.pages {
		pages, ok := fixtures[name]
		if !ok {
			t.Errorf("template %s has no fixture: add realistic data for it to wordsFixtures", name)
			continue
		}
		for i, p := range pages {
			p.User = &userView{Name: "Carl Clinician", Role: roles[i%len(roles)]}
			tpl, err := master.Clone()
			if err != nil {
				t.Fatal(err)
			}
			tpl.Funcs(timeFuncs(time.UTC))
			var b strings.Builder
			if err := tpl.ExecuteTemplate(&b, "layout.html", p); err != nil {
				t.Fatalf("render %s: %v", name, err)
			}
			text := readable(b.String())
			for _, code := range codes {
				if strings.Contains(text, code) {
					at := strings.Index(text, code)
					t.Errorf("page %s (fixture %d) shows the internal code %s: …%s…", name, i, code,
						strings.Join(strings.Fields(text[max(0, at-80):min(len(text), at+80)]), " "))
				}
			}
		}
	}
}

// TestReadableText: the extraction reads text and spoken attributes, not the values a form
// sends, so the test above is neither blind nor noisy.
func TestReadableText(t *testing.T) {
	got := readable(`<p title="record.read">a &amp; b</p><select><option value="note.write">wrote a note</option></select><script>x = "auth.login"</script><img alt="patient.search">`)
	for _, want := range []string{"record.read", "a & b", "wrote a note", "patient.search"} {
		if !strings.Contains(got, want) {
			t.Errorf("readable text misses %q: %q", want, got)
		}
	}
	for _, unread := range []string{"note.write", "auth.login"} {
		if strings.Contains(got, unread) {
			t.Errorf("readable text has %q, which no one reads: %q", unread, got)
		}
	}
}

// errorFixture is the error page for status, as renderError builds it.
func errorFixture(status int) page {
	title, d := errorPage(status, "req-1")
	return page{Title: title, Error: "something to say", Data: d}
}
