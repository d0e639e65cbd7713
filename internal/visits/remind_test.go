package visits_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/emersion/go-smtp"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/mail"
	"haven/internal/mail/mailtest"
	"haven/internal/store"
	"haven/internal/store/storetest"
	"haven/internal/visits"
)

// Canary values: written where a careless reminder could pick them up, asserted absent from
// every reminder.
const (
	canaryPatient = "Ada Canarypatient"
	canaryReason  = "CANARY-REASON"
	canaryEmail   = "patient-7@example.test"
)

// reminder is a received reminder, taken apart.
type reminder struct {
	to, subject, raw, text string
	ics                    []byte
	contentType            string
}

// readReminder parses a received message: multipart/mixed, the text, then the .ics.
func readReminder(t *testing.T, m mailtest.Received) reminder {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	r := reminder{to: m.To[0], subject: msg.Header.Get("Subject"), raw: m.Data}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q, want multipart/mixed", msg.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			data, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		} else {
			data, err = io.ReadAll(p)
		}
		if err != nil {
			t.Fatal(err)
		}
		switch i {
		case 0:
			r.text = strings.ReplaceAll(string(data), "\r\n", "\n")
		case 1:
			r.ics, r.contentType = data, p.Header.Get("Content-Type")
		default:
			t.Fatalf("a third part: %s", p.Header)
		}
	}
	if r.ics == nil {
		t.Fatalf("no .ics attached:\n%s", m.Data)
	}
	return r
}

// checkMinimal: a reminder says the time and the link, and names no one and nothing else.
func checkMinimal(t *testing.T, r reminder, apptID string, start time.Time, when string) {
	t.Helper()
	if r.subject != visits.ReminderSubject {
		t.Errorf("subject %q", r.subject)
	}
	link := remindBase + visits.AppointmentsPath
	if !strings.Contains(r.text, "You have an appointment on "+when+".") || !strings.Contains(r.text, link) {
		t.Errorf("the text does not give the time %q and the link:\n%s", when, r.text)
	}
	headers, _, _ := strings.Cut(r.raw, "\r\n\r\n")
	// The multipart boundary is random hex: it may spell "ada" by chance. It is not content.
	if m, err := netmail.ReadMessage(strings.NewReader(r.raw)); err == nil {
		if _, p, err := mime.ParseMediaType(m.Header.Get("Content-Type")); err == nil && p["boundary"] != "" {
			headers = strings.ReplaceAll(headers, p["boundary"], "(boundary)")
		}
	}
	for _, canary := range []string{canaryPatient, "Ada", "Canarypatient", canaryReason, "clin-1", "Dr ", "psychiatr", "specialt"} {
		for what, s := range map[string]string{"headers": headers, "text": r.text, ".ics": string(r.ics)} {
			if strings.Contains(strings.ToLower(s), strings.ToLower(canary)) {
				t.Errorf("the reminder's %s carries %q:\n%s", what, canary, s)
			}
		}
	}
	if mt, p, _ := mime.ParseMediaType(r.contentType); mt != "text/calendar" || p["method"] != "PUBLISH" {
		t.Errorf("attachment type %q", r.contentType)
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(r.ics))
	if err != nil {
		t.Fatalf("the .ics does not parse: %v\n%s", err, r.ics)
	}
	var method string
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == string(ics.PropertyMethod) {
			method = p.Value
		}
	}
	if method != "PUBLISH" {
		t.Errorf("METHOD %q", method)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events in the .ics", len(evs))
	}
	checkMinimalEvent(t, evs[0], apptID, start, "Appointment", link)
}

// checkMinimalEvent: the event has its UID, times in UTC, the summary, a status and the link,
// and no other property.
func checkMinimalEvent(t *testing.T, ev *ics.VEvent, apptID string, start time.Time, summary, link string) {
	t.Helper()
	if ev.Id() != apptID+"@haven.test" {
		t.Errorf("UID %q", ev.Id())
	}
	if got, err := ev.GetStartAt(); err != nil || !got.Equal(start) || got.Location() != time.UTC {
		t.Errorf("DTSTART %v %v, want %v UTC", got, err, start)
	}
	if got, err := ev.GetEndAt(); err != nil || !got.Equal(start.Add(20*time.Minute)) {
		t.Errorf("DTEND %v %v", got, err)
	}
	allowed := map[string]bool{"UID": true, "DTSTAMP": true, "DTSTART": true, "DTEND": true, "SUMMARY": true, "STATUS": true, "URL": true}
	for _, p := range ev.Properties {
		if !allowed[p.IANAToken] {
			t.Errorf("the event carries %s:%s", p.IANAToken, p.Value)
		}
	}
	if p := ev.GetProperty(ics.ComponentPropertySummary); p == nil || p.Value != summary {
		t.Errorf("SUMMARY %v, want %q", p, summary)
	}
	if p := ev.GetProperty(ics.ComponentPropertyUrl); p == nil || p.Value != link {
		t.Errorf("URL %v, want %q", p, link)
	}
}

// TestRemindersAreSentOnceWithoutPHI: an appointment's patient is e-mailed a day before and an
// hour before, each exactly once however many passes run; each message and its .ics give the
// time (in the clinician's zone, in words) and the link, and no name, reason or identifier of
// anyone. Haven's reading of the address is in the patient's own log, and so is each reminder.
// Cancelled and past appointments get none; a patient with no address is skipped.
func TestRemindersAreSentOnceWithoutPHI(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newRemindHarness(t, db)
		ctx := context.Background()
		pid := h.register(t, canaryPatient, canaryEmail, "+34 600 000 001")
		if _, err := h.records.AddNote(ctx, h.clin, pid, "Referred to psychiatry: "+canaryReason, remindOrigin); err != nil {
			t.Fatal(err)
		}
		silent := h.register(t, "Sam Noaddress", "", "+34 600 000 002")
		h.exec(t, `INSERT INTO availability (clinician_id, spec, updated_by, updated_at) VALUES ('clin-1', $1, 'clin-1', 0)`,
			`{"timeZone":"Europe/Madrid","slotMinutes":20,"weekly":[{"day":"tue","start":"09:00","end":"13:00"}]}`)
		// Tuesday 1 December 2026, 09:00 in Madrid.
		start := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		h.book(t, "appt-1", "clin-1", pid, visits.StateBooked, start)
		h.book(t, "appt-cancelled", "clin-1", pid, visits.StateCancelled, start.Add(time.Hour))
		h.book(t, "appt-silent", "clin-1", silent, visits.StateBooked, start.Add(2*time.Hour))

		run := func(at time.Time, want int) {
			t.Helper()
			h.clock.Set(at)
			n, err := h.visits.SendReminders(ctx)
			if err != nil || n != want {
				t.Fatalf("at %s: SendReminders = %d, %v; want %d", at.Format(time.RFC3339), n, err, want)
			}
		}
		run(h.clock.Now(), 0) // a week before
		run(start.Add(-24*time.Hour-time.Second), 0)
		run(start.Add(-24*time.Hour), 1)
		run(start.Add(-24*time.Hour), 0)
		run(start.Add(-90*time.Minute), 0)
		run(start.Add(-time.Hour), 1)
		run(start.Add(-time.Minute), 0)
		run(start, 0)
		run(start.Add(90*time.Minute), 0) // the hour reminder of the patient with no address
		run(start.Add(3*time.Hour), 0)

		got := h.inbox.Messages()
		if len(got) != 2 {
			t.Fatalf("%d messages, want the day and the hour reminders", len(got))
		}
		for _, m := range got {
			r := readReminder(t, m)
			if r.to != canaryEmail {
				t.Errorf("sent to %q", r.to)
			}
			checkMinimal(t, r, "appt-1", start, "Tuesday 1 December at 09:00 (Europe/Madrid)")
		}

		// The patient's log: Haven read the address, as itself, for this reason, once per
		// reminder (and once for the patient with none); and sent each reminder.
		reads := h.entries(t, string(access.ReachPatient))
		var mine, theirs int
		for _, e := range reads {
			if e.ActorID != "haven" || e.Outcome != audit.Allow || e.Reason != access.ReasonSystem+" "+visits.ReasonReminder {
				t.Errorf("address read %+v", e)
			}
			switch e.PatientID {
			case pid:
				mine++
			case silent:
				theirs++
			}
		}
		if mine != 2 || theirs != 2 {
			t.Errorf("address reads: %d for the patient, %d for the one with no address; want 2 and 2 (once per reminder)", mine, theirs)
		}
		sent := h.entries(t, visits.EventReminder)
		if len(sent) != 2 || sent[0].Reason != "system day-before" || sent[1].Reason != "system hour-before" {
			t.Fatalf("reminder entries %+v", sent)
		}
		for _, e := range sent {
			if e.ActorID != "haven" || e.PatientID != pid || e.ResourceID != "appt-1" || e.Outcome != audit.Success {
				t.Errorf("reminder entry %+v", e)
			}
		}
	})
}

// failingMailer fails its first fails sends, then hands messages to next.
type failingMailer struct {
	mu    sync.Mutex
	fails int
	next  visits.Mailer
}

func (f *failingMailer) Send(ctx context.Context, m mail.Message) error {
	f.mu.Lock()
	fail := f.fails > 0
	f.fails--
	f.mu.Unlock()
	if fail {
		// As a server that quotes the recipient would answer.
		return fmt.Errorf("mail: send: %w", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "<" + m.To[0] + ">: try later"})
	}
	return f.next.Send(ctx, m)
}

// TestReminderRetriedAfterAFailedSend: a reminder that could not be sent gives its claim back,
// so the next pass sends it; the failure is recorded, and its error names the appointment,
// never the address.
func TestReminderRetriedAfterAFailedSend(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newRemindHarness(t, db)
		ctx := context.Background()
		pid := h.register(t, canaryPatient, canaryEmail, "+34 600 000 001")
		start := h.clock.Now().Add(30 * time.Minute)
		h.book(t, "appt-1", "clin-1", pid, visits.StateWaiting, start)
		flaky := h.service(&failingMailer{fails: 1, next: h.sender})

		n, err := flaky.SendReminders(ctx)
		if n != 0 || err == nil {
			t.Fatalf("SendReminders = %d, %v; want the failure", n, err)
		}
		if strings.Contains(err.Error(), canaryEmail) || !strings.Contains(err.Error(), "appt-1") {
			t.Errorf("error %q: want the appointment, not the address", err)
		}
		if n, err := flaky.SendReminders(ctx); n != 1 || err != nil {
			t.Fatalf("the retry: SendReminders = %d, %v", n, err)
		}
		if n, err := flaky.SendReminders(ctx); n != 0 || err != nil {
			t.Fatalf("after the retry: SendReminders = %d, %v", n, err)
		}
		if got := h.inbox.Messages(); len(got) != 1 {
			t.Fatalf("%d messages", len(got))
		}
		sent := h.entries(t, visits.EventReminder)
		if len(sent) != 2 || sent[0].Outcome != audit.Failure || sent[1].Outcome != audit.Success || sent[1].Reason != "system hour-before" {
			t.Errorf("reminder entries %+v, want a failure then a success", sent)
		}
	})
}

// TestReminderClaimedOnce: Havens running the same pass at once send each reminder once: the
// database decides who claims it.
func TestReminderClaimedOnce(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newRemindHarness(t, db)
		pid := h.register(t, canaryPatient, canaryEmail, "+34 600 000 001")
		starts := []time.Time{h.clock.Now().Add(20 * time.Minute), h.clock.Now().Add(5 * time.Hour)}
		for i, s := range starts {
			h.book(t, fmt.Sprintf("appt-%d", i), "clin-1", pid, visits.StateBooked, s)
		}
		const havens = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		for range havens {
			wg.Go(func() {
				n, err := h.service(h.sender).SendReminders(context.Background())
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += n
				mu.Unlock()
			})
		}
		wg.Wait()
		if total != len(starts) || len(h.inbox.Messages()) != len(starts) {
			t.Fatalf("%d Havens sent %d reminders (%d arrived), want %d", havens, total, len(h.inbox.Messages()), len(starts))
		}
	})
}

// TestReminderAfterTheAppointmentMoves: the reminders are claimed for a start; an appointment
// moved after its day reminder is reminded again, at its new time.
func TestReminderAfterTheAppointmentMoves(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newRemindHarness(t, db)
		ctx := context.Background()
		pid := h.register(t, canaryPatient, canaryEmail, "+34 600 000 001")
		start := h.clock.Now().Add(20 * time.Hour)
		h.book(t, "appt-1", "clin-1", pid, visits.StateBooked, start)
		if n, err := h.visits.SendReminders(ctx); n != 1 || err != nil {
			t.Fatalf("SendReminders = %d, %v", n, err)
		}
		moved := start.Add(2 * time.Hour)
		h.exec(t, `UPDATE appointments SET start_at = $1, end_at = $2 WHERE id = 'appt-1'`, moved.UnixNano(), moved.Add(20*time.Minute).UnixNano())
		if n, err := h.visits.SendReminders(ctx); n != 1 || err != nil {
			t.Fatalf("after the move: SendReminders = %d, %v", n, err)
		}
		if n, err := h.visits.SendReminders(ctx); n != 0 || err != nil {
			t.Fatalf("again: SendReminders = %d, %v", n, err)
		}
		got := h.inbox.Messages()
		if len(got) != 2 {
			t.Fatalf("%d messages", len(got))
		}
		checkMinimal(t, readReminder(t, got[1]), "appt-1", moved, visits.HumanTime(moved, time.UTC))
	})
}

// TestNoMailNoReminders: without e-mail configured, a pass does nothing and claims nothing.
func TestNoMailNoReminders(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newRemindHarness(t, db)
		pid := h.register(t, canaryPatient, canaryEmail, "+34 600 000 001")
		h.book(t, "appt-1", "clin-1", pid, visits.StateBooked, h.clock.Now().Add(time.Hour))
		if n, err := h.service(nil).SendReminders(context.Background()); n != 0 || err != nil {
			t.Fatalf("SendReminders = %d, %v", n, err)
		}
		var claims int
		if err := db.QueryRow(`SELECT COUNT(*) FROM appointment_reminders`).Scan(&claims); err != nil || claims != 0 {
			t.Fatalf("%d claims, %v", claims, err)
		}
	})
}

// TestHumanTime: times are written for people, in the zone given, on both sides of a
// daylight-saving change.
func TestHumanTime(t *testing.T) {
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		at   time.Time
		loc  *time.Location
		want string
	}{
		{"winter in Madrid", time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), madrid, "Tuesday 1 December at 09:00 (Europe/Madrid)"},
		{"summer in Madrid", time.Date(2026, 7, 1, 7, 30, 0, 0, time.UTC), madrid, "Wednesday 1 July at 09:30 (Europe/Madrid)"},
		{"the day before in New York", time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC), newYork, "Monday 30 November at 21:00 (America/New_York)"},
		{"UTC", time.Date(2026, 3, 29, 14, 5, 0, 0, time.UTC), time.UTC, "Sunday 29 March at 14:05 (UTC)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := visits.HumanTime(tc.at, tc.loc); got != tc.want {
				t.Errorf("HumanTime = %q, want %q", got, tc.want)
			}
		})
	}
}
