package visits_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/store"
	"haven/internal/store/storetest"
	"haven/internal/visits"
)

// feedToken is the token at the end of a feed URL.
func feedToken(t *testing.T, url string) string {
	t.Helper()
	token, ok := strings.CutPrefix(url, remindBase+visits.FeedPath)
	if !ok || !strings.HasSuffix(token, ".ics") {
		t.Fatalf("feed URL %q", url)
	}
	return token
}

// TestCalendarFeed: a clinician's feed lists their own appointments in its window, times only
// (no patient's name or identifier, no reason), cancelled ones as cancelled; each read is
// recorded as the clinician's; a new URL revokes the old, revoking ends it, and an unknown or
// malformed token is answered like a revoked one. Only a clinician makes a feed, on their own
// account.
func TestCalendarFeed(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		h := newRemindHarness(t, db)
		ctx := context.Background()
		pid := h.register(t, canaryPatient, canaryEmail, "+34 600 000 001")
		if _, err := h.records.AddNote(ctx, h.clin, pid, "Referred to psychiatry: "+canaryReason, remindOrigin); err != nil {
			t.Fatal(err)
		}
		now := h.clock.Now()
		in := map[string]time.Time{
			"appt-past":      now.Add(-29 * 24 * time.Hour),
			"appt-soon":      now.Add(2 * time.Hour),
			"appt-cancelled": now.Add(3 * time.Hour),
			"appt-far":       now.Add(179 * 24 * time.Hour),
		}
		for id, start := range in {
			state := visits.StateBooked
			if id == "appt-cancelled" {
				state = visits.StateCancelled
			}
			h.book(t, id, "clin-1", pid, state, start)
		}
		h.book(t, "appt-too-old", "clin-1", pid, visits.StateEnded, now.Add(-31*24*time.Hour))
		h.book(t, "appt-too-far", "clin-1", pid, visits.StateBooked, now.Add(181*24*time.Hour))
		h.book(t, "appt-other", "clin-2", pid, visits.StateBooked, now.Add(2*time.Hour))

		url, err := h.visits.NewCalendarFeed(ctx, h.clin, remindOrigin)
		if err != nil {
			t.Fatal(err)
		}
		token := feedToken(t, url)
		doc, err := h.visits.CalendarFeed(ctx, token, remindOrigin)
		if err != nil {
			t.Fatal(err)
		}
		for _, canary := range []string{canaryPatient, "Canarypatient", pid, canaryReason, canaryEmail, "psychiatr"} {
			if bytes.Contains(bytes.ToLower(doc), bytes.ToLower([]byte(canary))) {
				t.Errorf("the feed carries %q:\n%s", canary, doc)
			}
		}
		cal, err := ics.ParseCalendar(bytes.NewReader(doc))
		if err != nil {
			t.Fatalf("the feed does not parse: %v\n%s", err, doc)
		}
		got := map[string]string{}
		for _, ev := range cal.Events() {
			id := strings.TrimSuffix(ev.Id(), "@haven.test")
			start, ok := in[id]
			if !ok {
				t.Errorf("the feed lists %s", ev.Id())
				continue
			}
			checkMinimalEvent(t, ev, id, start, "Video visit", remindBase+visits.AppointmentsPath)
			got[id] = ev.GetProperty(ics.ComponentPropertyStatus).Value
		}
		want := map[string]string{"appt-past": "CONFIRMED", "appt-soon": "CONFIRMED", "appt-cancelled": "CANCELLED", "appt-far": "CONFIRMED"}
		if len(got) != len(want) {
			t.Errorf("events %v, want %v", got, want)
		}
		for id, status := range want {
			if got[id] != status {
				t.Errorf("%s: STATUS %q, want %q", id, got[id], status)
			}
		}
		reads := h.entries(t, visits.EventFeedRead)
		if len(reads) != 1 || reads[0].ActorID != "clin-1" || reads[0].PatientID != "" || reads[0].Outcome != audit.Success {
			t.Errorf("feed reads recorded %+v, want one by the clinician about no patient", reads)
		}

		// A new URL ends the old one; revoking ends the new one.
		url2, err := h.visits.NewCalendarFeed(ctx, h.clin, remindOrigin)
		if err != nil {
			t.Fatal(err)
		}
		if url2 == url {
			t.Fatal("the same URL twice")
		}
		if _, err := h.visits.CalendarFeed(ctx, token, remindOrigin); !errors.Is(err, visits.ErrFeedNotFound) {
			t.Errorf("the replaced URL: %v, want ErrFeedNotFound", err)
		}
		if _, err := h.visits.CalendarFeed(ctx, strings.TrimSuffix(feedToken(t, url2), ".ics"), remindOrigin); err != nil {
			t.Errorf("the new URL without .ics: %v", err)
		}
		if err := h.visits.RevokeCalendarFeed(ctx, h.clin, remindOrigin); err != nil {
			t.Fatal(err)
		}
		if err := h.visits.RevokeCalendarFeed(ctx, h.clin, remindOrigin); err != nil {
			t.Errorf("revoking with no feed: %v", err)
		}
		unknown := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32)) + ".ics"
		for name, tok := range map[string]string{"revoked": feedToken(t, url2), "unknown": unknown, "malformed": "not-a-token.ics", "empty": ""} {
			if _, err := h.visits.CalendarFeed(ctx, tok, remindOrigin); !errors.Is(err, visits.ErrFeedNotFound) {
				t.Errorf("%s token: %v, want ErrFeedNotFound", name, err)
			}
		}
		if reads := h.entries(t, visits.EventFeedRead); len(reads) != 2 {
			t.Errorf("%d feed reads recorded, want 2 (the refused ones record nothing)", len(reads))
		}
		made := h.entries(t, string(access.ManageCalendarFeed))
		var reasons []string
		for _, e := range made {
			reasons = append(reasons, e.Outcome+" "+e.Reason)
		}
		if strings.Join(reasons, ", ") != "allow own-account feed-made, allow own-account feed-made, allow own-account feed-revoked, allow own-account feed-revoked" {
			t.Errorf("calendar.feed entries: %v", reasons)
		}

		// A disabled clinician's feed stops.
		url3, err := h.visits.NewCalendarFeed(ctx, h.clin, remindOrigin)
		if err != nil {
			t.Fatal(err)
		}
		h.exec(t, `UPDATE accounts SET status = 'disabled' WHERE id = 'clin-1'`)
		if _, err := h.visits.CalendarFeed(ctx, feedToken(t, url3), remindOrigin); !errors.Is(err, visits.ErrFeedNotFound) {
			t.Errorf("a disabled clinician's feed: %v, want ErrFeedNotFound", err)
		}

		// Only a clinician, on their own account.
		for _, by := range []access.Subject{
			{AccountID: "pat-account", Role: access.Patient, PatientID: pid},
			{AccountID: "auditor-1", Role: access.Auditor},
			{AccountID: "admin-1", Role: access.Admin},
			{AccountID: "desk-1", Role: access.FrontDesk},
		} {
			if _, err := h.visits.NewCalendarFeed(ctx, by, remindOrigin); !errors.Is(err, guard.ErrForbidden) {
				t.Errorf("%s: NewCalendarFeed = %v, want ErrForbidden", by.Role, err)
			}
		}
	})
}

// FuzzParseFeedToken: a feed URL's token is untrusted input. Parsing never panics, accepts only
// 32 bytes in unpadded base64url (with or without ".ics"), and what it accepts is exactly what
// a feed URL carries.
func FuzzParseFeedToken(f *testing.F) {
	good := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))
	for _, seed := range []string{good, good + ".ics", good + "=", good + ".ics.ics", "", ".ics", "not-a-token", strings.Repeat("A", 43), strings.Repeat("A", 42) + "B"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		raw, ok := visits.ParseFeedToken(token)
		if !ok {
			if raw != nil {
				t.Fatalf("refused %q but returned %x", token, raw)
			}
			return
		}
		if len(raw) != 32 {
			t.Fatalf("accepted %q as %d bytes", token, len(raw))
		}
		if enc := base64.RawURLEncoding.EncodeToString(raw); token != enc && token != enc+".ics" {
			t.Fatalf("accepted %q, which is not %q", token, enc)
		}
	})
}
