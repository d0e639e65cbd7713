package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"haven/internal/mail/mailtest"
	"haven/internal/server/servertest"
)

// Canary values of the reminder tests: a clinician whose name alone is sensitive, and a reason
// written in the patient's record. Neither may appear in a reminder or a feed.
const (
	canaryClinician = "Dr Canary Psychiatrist"
	canaryReason    = "CANARY-REASON"
)

// mailStaff invites a staff member by e-mail (Haven has SMTP), who activates from the link in
// their inbox and enrols.
func mailStaff(t *testing.T, e *servertest.Env, inbox *mailtest.Inbox, admin *servertest.Client, email, name, role string) (*servertest.Client, string) {
	t.Helper()
	m := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": email, "name": name, "role": role})
	c := e.Client()
	c.Email, c.PW = email, "staff passphrase"
	c.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, servertest.LinkIn(t, servertest.MailTo(t, inbox, email, 1))), "password": c.PW})
	c.Enrol()
	return c, m["accountId"].(string)
}

// mailPatient is registered by clin and activates from the link in their inbox.
func mailPatient(t *testing.T, e *servertest.Env, inbox *mailtest.Inbox, clin *servertest.Client, p servertest.PatientIn) (*servertest.Client, string) {
	t.Helper()
	reg := clin.Must(201, "POST", "/api/v1/patients", map[string]string{"name": p.Name, "birthDate": p.BirthDate, "phone": p.Phone, "email": p.Email})
	c := e.Client()
	c.Email, c.PW = p.Email, "patient pw 12"
	c.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, servertest.LinkIn(t, servertest.MailTo(t, inbox, p.Email, 1))), "password": c.PW})
	c.Enrol()
	return c, reg["patientId"].(string)
}

// madridHours are a clinician's hours in Madrid: mornings, 20-minute slots.
var madridHours = map[string]any{"timeZone": "Europe/Madrid", "slotMinutes": 20, "weekly": []map[string]string{
	{"day": "mon", "start": "09:00", "end": "13:00"}, {"day": "tue", "start": "09:00", "end": "13:00"},
	{"day": "wed", "start": "09:00", "end": "13:00"}, {"day": "thu", "start": "09:00", "end": "13:00"},
	{"day": "fri", "start": "09:00", "end": "13:00"},
}}

// book sets the clinician's hours in Madrid and has the patient book start over the API; it
// returns the appointment's identifier.
func book(t *testing.T, dr, patient *servertest.Client, drID string, start time.Time) string {
	t.Helper()
	dr.Must(200, "PUT", "/api/v1/clinicians/"+drID+"/availability", madridHours)
	return patient.Must(201, "POST", "/api/v1/appointments", map[string]string{"clinicianId": drID, "start": start.Format(time.RFC3339)})["appointmentId"].(string)
}

// receivedReminder is a reminder as it arrived: its headers, its text and its .ics.
type receivedReminder struct {
	header netmail.Header
	text   string
	ics    []byte
}

func parseReminder(t *testing.T, m mailtest.Received) receivedReminder {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	r := receivedReminder{header: msg.Header}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			body = base64.NewDecoder(base64.StdEncoding, p)
		}
		data, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		if mt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); mt == "text/calendar" {
			r.ics = data
		} else {
			r.text = strings.ReplaceAll(string(data), "\r\n", "\n")
		}
	}
	return r
}

// reminders returns the appointment reminders in the inbox.
func reminders(inbox *mailtest.Inbox) []mailtest.Received {
	var out []mailtest.Received
	for _, m := range inbox.Messages() {
		if strings.Contains(m.Data, "\r\nSubject: Appointment reminder\r\n") {
			out = append(out, m)
		}
	}
	return out
}

// TestAppointmentRemindersCarryNoPHI: a patient booked with a clinician whose name is itself
// sensitive is e-mailed a day before and an hour before, once each however often the job runs;
// the message and its .ics give the time and the link and nothing else: not the clinician's
// name, not the reason in the record, not the patient's name or details. The patient's access
// log shows Haven reading their address to send it, and sending it.
func TestAppointmentRemindersCarryNoPHI(t *testing.T) {
	forEachStoreWithMail(t, func(t *testing.T, e *servertest.Env, inbox *mailtest.Inbox) {
		admin := e.Admin()
		dr, drID := mailStaff(t, e, inbox, admin, "dr.canary@haven.test", canaryClinician, "clinician")
		patient, pid := mailPatient(t, e, inbox, dr, ada)
		dr.Must(201, "POST", "/api/v1/patients/"+pid+"/notes", map[string]string{"body": "Psychiatric follow-up: " + canaryReason})

		start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC) // Thursday 10:00 in Madrid
		apptID := book(t, dr, patient, drID, start)
		remind := func(at time.Time, want int) {
			t.Helper()
			e.Clock.Advance(at.Sub(e.Clock.Now()))
			for pass := range 2 { // the second pass finds nothing left to send
				n, err := e.Srv.SendReminders(t.Context())
				if err != nil || (pass == 0 && n != want) || (pass == 1 && n != 0) {
					t.Fatalf("at %s, pass %d: SendReminders = %d, %v; want %d", at.Format(time.RFC3339), pass, n, err, want)
				}
			}
		}
		remind(start.Add(-25*time.Hour), 0)
		remind(start.Add(-24*time.Hour), 1)
		remind(start.Add(-2*time.Hour), 0)
		remind(start.Add(-time.Hour), 1)
		remind(start.Add(-time.Minute), 0)

		got := reminders(inbox)
		if len(got) != 2 {
			t.Fatalf("%d reminders arrived, want 2 (a day and an hour before)", len(got))
		}
		link := e.BaseURL + "/appointments"
		for _, m := range got {
			if len(m.To) != 1 || m.To[0] != ada.Email {
				t.Errorf("a reminder went to %v", m.To)
			}
			r := parseReminder(t, m)
			if !strings.Contains(r.text, "Thursday 26 November at 10:00 (Europe/Madrid)") || !strings.Contains(r.text, link) {
				t.Errorf("the reminder does not give the time and the link:\n%s", r.text)
			}
			cal, err := ics.ParseCalendar(bytes.NewReader(r.ics))
			if err != nil || len(cal.Events()) != 1 {
				t.Fatalf("the .ics: %v\n%s", err, r.ics)
			}
			ev := cal.Events()[0]
			if at, err := ev.GetStartAt(); err != nil || !at.Equal(start) || ev.Id() != apptID+"@localhost" {
				t.Errorf("the event: %s at %v (%v)", ev.Id(), at, err)
			}
			// Every header but the recipient, the text and the calendar file: no name, no
			// reason, no detail of anyone.
			var headers strings.Builder
			for k, v := range r.header {
				if k != "To" {
					headers.WriteString(k + ": " + strings.Join(v, " ") + "\n")
				}
			}
			for _, canary := range []string{canaryClinician, "Canary Psychiatrist", "psychiatr", canaryReason, ada.Name, "Canary", ada.BirthDate, ada.Phone, pid, drID, "dr.canary"} {
				for what, s := range map[string]string{"headers": headers.String(), "text": r.text, ".ics": string(r.ics)} {
					if strings.Contains(strings.ToLower(s), strings.ToLower(canary)) {
						t.Errorf("the reminder's %s carries %q:\n%s", what, canary, s)
					}
				}
			}
		}

		// The patient reads, in their own log, that Haven read their address and sent them a
		// reminder, twice (signing in again: a day has passed).
		patient.Login()
		var log []map[string]any
		if code, _, raw := patient.Do("GET", "/api/v1/me/access-log", nil); code != http.StatusOK || json.Unmarshal(raw, &log) != nil {
			t.Fatalf("access log = %d %s", code, raw)
		}
		reads, sent := 0, 0
		for _, ev := range log {
			if ev["who"] != "Haven" {
				continue
			}
			switch what, _ := ev["what"].(string); {
			case strings.HasPrefix(what, "read your e-mail address"):
				reads++
			case what == "sent you an appointment reminder":
				sent++
			}
		}
		if reads < 2 || sent != 2 {
			t.Errorf("the access log shows Haven reading the address %d times and sending %d reminders; want at least 2 and 2:\n%v", reads, sent, log)
		}
	})
}

// TestCalendarFeedOverHTTP: a clinician makes a private calendar URL; anyone holding it reads
// the clinician's appointments (times only: no patient's name, no clinician's name, no
// reason) without signing in; a new URL ends the old one and revoking ends it, both then 404;
// the URL carries nothing but the token, and the server's log never sees the token. Only a
// clinician may make one.
func TestCalendarFeedOverHTTP(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, drID := e.Clinician(admin, "canary.psychiatrist@haven.test")
		patient, pid := e.Patient(dr, ada)
		dr.Must(201, "POST", "/api/v1/patients/"+pid+"/notes", map[string]string{"body": "Psychiatric follow-up: " + canaryReason})
		start := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC) // Thursday 10:00 in Madrid
		book(t, dr, patient, drID, start)
		cancelled := book(t, dr, patient, drID, start.Add(time.Hour))
		patient.Must(200, "DELETE", "/api/v1/appointments/"+cancelled, nil)

		feedPath := func(url string) string {
			t.Helper()
			path, ok := strings.CutPrefix(url, e.BaseURL)
			token, isFeed := strings.CutPrefix(path, "/api/v1/calendar/")
			if !ok || !isFeed || !strings.HasSuffix(token, ".ics") || strings.Contains(token, "/") || strings.Contains(url, drID) || strings.Contains(url, "?") {
				t.Fatalf("feed URL %q: want %s/api/v1/calendar/<token>.ics and nothing else", url, e.BaseURL)
			}
			return path
		}
		url := dr.Must(201, "POST", "/api/v1/me/calendar-feed", nil)["url"].(string)
		path := feedPath(url)
		anyone := e.Client()
		code, h, doc := anyone.DoRaw("GET", path, nil)
		if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); code != http.StatusOK || mt != "text/calendar" {
			t.Fatalf("GET the feed = %d %s %s", code, h.Get("Content-Type"), doc)
		}
		cal, err := ics.ParseCalendar(bytes.NewReader(doc))
		if err != nil || len(cal.Events()) != 2 {
			t.Fatalf("the feed: %v\n%s", err, doc)
		}
		for _, canary := range []string{ada.Name, "Canary", "psychiatr", canaryReason, ada.Email, ada.Phone, pid, drID} {
			if strings.Contains(strings.ToLower(string(doc)), strings.ToLower(canary)) {
				t.Errorf("the feed carries %q:\n%s", canary, doc)
			}
		}
		if !strings.Contains(string(doc), "STATUS:CANCELLED") {
			t.Errorf("the cancelled appointment is not marked cancelled:\n%s", doc)
		}

		// A new URL ends the old one.
		url2 := dr.Must(201, "POST", "/api/v1/me/calendar-feed", nil)["url"].(string)
		path2 := feedPath(url2)
		if code, _, raw := anyone.DoRaw("GET", path, nil); code != http.StatusNotFound {
			t.Errorf("the replaced URL = %d %s, want 404", code, raw)
		}
		if code, _, raw := anyone.DoRaw("GET", path2, nil); code != http.StatusOK {
			t.Errorf("the new URL = %d %s", code, raw)
		}
		dr.Must(200, "DELETE", "/api/v1/me/calendar-feed", nil)
		for name, p := range map[string]string{"revoked": path2, "unknown": "/api/v1/calendar/" + strings.Repeat("A", 43) + ".ics", "malformed": "/api/v1/calendar/x.ics"} {
			if code, _, raw := anyone.DoRaw("GET", p, nil); code != http.StatusNotFound {
				t.Errorf("%s URL = %d %s, want 404", name, code, raw)
			}
		}
		for _, p := range []string{path, path2} {
			token := strings.TrimSuffix(strings.TrimPrefix(p, "/api/v1/calendar/"), ".ics")
			if bytes.Contains(e.Log.Bytes(), []byte(token)) {
				t.Error("the server's log holds a feed token")
			}
		}

		// Each read the clinician's, about no patient.
		var reads, aboutPatients int
		e.Srv.DB().QueryRow(`SELECT COUNT(*), COUNT(NULLIF(patient_id, '')) FROM audit_entries WHERE action = 'calendar.feed-read' AND actor_id = $1`, drID).Scan(&reads, &aboutPatients)
		if reads != 2 || aboutPatients != 0 {
			t.Errorf("%d feed reads recorded (%d about a patient), want 2 and 0", reads, aboutPatients)
		}

		// Only a clinician makes a feed.
		auditor, _ := e.Staff(admin, "feed-auditor@haven.test", "auditor")
		desk, _ := e.Staff(admin, "feed-desk@haven.test", "frontdesk")
		for name, c := range map[string]*servertest.Client{"patient": patient, "auditor": auditor, "admin": admin, "front desk": desk} {
			if code, _, raw := c.Do("POST", "/api/v1/me/calendar-feed", nil); code != http.StatusForbidden {
				t.Errorf("%s: POST /me/calendar-feed = %d %s, want 403", name, code, raw)
			}
		}
	})
}
