package visits_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/privacy"
	"haven/internal/store"
	"haven/internal/store/storetest"
	"haven/internal/visits"
)

// guestSubject is the subject a guest's session runs as.
func (h *visitHarness) guestSubject(session string) access.Subject {
	h.t.Helper()
	sess, err := h.ids.Authenticate(context.Background(), session)
	if err != nil {
		h.t.Fatalf("guest session: %v", err)
	}
	if sess.Subject.Role != access.Guest {
		h.t.Fatalf("guest session runs as %s", sess.Subject.Role)
	}
	return sess.Subject
}

func tokenOf(t *testing.T, l visits.GuestLink) string {
	t.Helper()
	token, ok := strings.CutPrefix(l.URL, "https://haven.test/visit/guest/")
	if !ok {
		t.Fatalf("guest link %q", l.URL)
	}
	return token
}

// TestGuests: a clinician invites a guest only once the patient has agreed (the refusal is
// recorded); the single-use link works once; the guest reaches that visit's page and nothing
// else; at most three guests; ending the visit ends every link and guest session at once.
func TestGuests(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newVisitHarness(t, db)
		p := h.patient("Ada Canary", "ada@example.test")
		h.accept(p)
		id := h.appointment(h.clin.AccountID, p.PatientID, start, visits.StateBooked)
		other := h.appointment(h.clin.AccountID, p.PatientID, start.Add(24*time.Hour), visits.StateBooked)
		rosa := visits.GuestInvite{Name: "Rosa Díaz", Relation: visits.RelationInterpreter}

		if _, err := h.svc.InviteGuest(ctx, h.clin, id, rosa, origin); !errors.Is(err, visits.ErrGuestsNotAgreed) {
			t.Fatalf("invite without the patient's agreement = %v", err)
		}
		if e := h.lastEntry(); e.Action != string(access.InviteGuest) || e.Outcome != audit.Deny || e.Reason != visits.ReasonGuestsNotAgreed || e.PatientID != p.PatientID {
			t.Fatalf("refusal entry = %+v", e)
		}
		if err := h.svc.AllowGuests(ctx, p, id, origin); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []visits.GuestInvite{{Name: "", Relation: "family"}, {Name: "Rosa", Relation: "friend"}, {Name: "two\nlines", Relation: "family"}} {
			if _, err := h.svc.InviteGuest(ctx, h.clin, id, bad, origin); !fault.Is(err, fault.Invalid) {
				t.Fatalf("invite %+v = %v, want invalid", bad, err)
			}
		}
		if _, err := h.svc.InviteGuest(ctx, p, id, rosa, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("a patient inviting = %v", err)
		}
		link, err := h.svc.InviteGuest(ctx, h.clin, id, rosa, origin)
		if err != nil || !link.ExpiresAt.Equal(start.Add(20*time.Minute+30*time.Minute)) {
			t.Fatalf("invite = %+v, %v", link, err)
		}
		token := tokenOf(t, link)
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM visit_guests WHERE token_hash = $1`, []byte(token)).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the token is kept as it is (%d, %v)", n, err)
		}
		sum := sha256.Sum256([]byte(token))
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM visit_guests WHERE token_hash = $1`, sum[:]).Scan(&n); err != nil || n != 1 {
			t.Fatalf("the token's hash is not kept (%d, %v)", n, err)
		}
		assertNotInDatabase(t, db, "Rosa Díaz")

		session, visitID, err := h.svc.RedeemGuest(ctx, token, origin)
		if err != nil || visitID != id || session == "" {
			t.Fatalf("redeem = %q %q %v", session, visitID, err)
		}
		if _, _, err := h.svc.RedeemGuest(ctx, token, origin); !errors.Is(err, visits.ErrGuestLink) {
			t.Fatalf("second redeem = %v", err)
		}
		for _, bad := range []string{"", "x", strings.Repeat("A", 43), token + "A"} {
			if _, _, err := h.svc.RedeemGuest(ctx, bad, origin); !errors.Is(err, visits.ErrGuestLink) {
				t.Fatalf("redeem %q = %v", bad, err)
			}
		}
		guest := h.guestSubject(session)
		joins := h.entries("visit.guest-join")
		if len(joins) != 1 || joins[0].PatientID != p.PatientID || joins[0].ActorID != guest.AccountID || joins[0].Outcome != audit.Success {
			t.Fatalf("join entries = %+v", joins)
		}

		v, err := h.svc.Visit(ctx, guest, id, origin)
		if err != nil || v.ID != id || v.Summary != "" || v.Receipt != nil {
			t.Fatalf("the guest's visit = %+v, %v", v, err)
		}
		if last := v.Participants[len(v.Participants)-1]; last.Role != "guest" || last.Name != "Rosa Díaz" || last.Relation != visits.RelationInterpreter {
			t.Fatalf("participants = %+v", v.Participants)
		}
		if e := h.lastEntry(); e.Action != string(access.ReadVisit) || e.Reason != access.ReasonGuest {
			t.Fatalf("guest's read entry = %+v", e)
		}
		if _, err := h.svc.Visit(ctx, guest, other, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("the guest opening another visit = %v", err)
		}
		if _, err := h.records.Get(ctx, guest, p.PatientID, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("the guest opening the record = %v", err)
		}
		if _, err := h.svc.Intake(ctx, guest, id, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("the guest reading the intake = %v", err)
		}
		if _, _, err := h.svc.Follow(ctx, guest, "", origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("the guest following a waiting room = %v", err)
		}
		ch, stop, err := h.svc.Follow(ctx, guest, id, origin)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()

		// At most three guests.
		family, err := h.svc.InviteGuest(ctx, h.clin, id, visits.GuestInvite{Name: "Bea Díaz", Relation: visits.RelationFamily}, origin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.InviteGuest(ctx, h.clin, id, visits.GuestInvite{Name: "Cai Díaz", Relation: visits.RelationFamily}, origin); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.InviteGuest(ctx, h.clin, id, visits.GuestInvite{Name: "Dee Díaz", Relation: visits.RelationFamily}, origin); !errors.Is(err, visits.ErrTooManyGuests) {
			t.Fatalf("a fourth guest = %v", err)
		}

		// The visit ends: every link and guest session with it.
		if _, err := h.svc.CheckIn(ctx, p, id, origin); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Admit(ctx, h.clin, id, origin); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.End(ctx, h.clin, id, visits.Ending{Summary: "synthetic"}, origin); err != nil {
			t.Fatal(err)
		}
		if _, _, err := h.svc.RedeemGuest(ctx, tokenOf(t, family), origin); !errors.Is(err, visits.ErrGuestLink) {
			t.Fatalf("redeeming a link after the visit ended = %v", err)
		}
		if _, err := h.ids.Authenticate(ctx, session); err == nil {
			t.Fatal("the guest's session outlived the visit")
		}
		if _, err := h.svc.Visit(ctx, guest, id, origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("the guest after the end = %v", err)
		}
		// The guest's page was told of each move, the end among them.
		deadline := time.After(5 * time.Second)
		for ended := false; !ended; {
			select {
			case ev := <-ch:
				ended = ev.Kind == "end" && ev.AppointmentID == id
			case <-deadline:
				t.Fatal("no end event on the guest's page")
			}
		}
	})
}

// TestGuestLinkExpiresWithTheVisit: a link not used by the visit's scheduled end and the grace
// after it no longer works, even if no one ended the visit.
func TestGuestLinkExpiresWithTheVisit(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newVisitHarness(t, db)
		p := h.patient("Ada Canary", "ada@example.test")
		id := h.appointment(h.clin.AccountID, p.PatientID, start, visits.StateBooked)
		if err := h.svc.AllowGuests(ctx, p, id, origin); err != nil {
			t.Fatal(err)
		}
		link, err := h.svc.InviteGuest(ctx, h.clin, id, visits.GuestInvite{Name: "Rosa Díaz", Relation: visits.RelationInterpreter}, origin)
		if err != nil {
			t.Fatal(err)
		}
		h.clock.Set(link.ExpiresAt)
		if _, _, err := h.svc.RedeemGuest(ctx, tokenOf(t, link), origin); !errors.Is(err, visits.ErrGuestLink) {
			t.Fatalf("redeem at expiry = %v", err)
		}
		if _, err := h.svc.InviteGuest(ctx, h.clin, id, visits.GuestInvite{Name: "Bea", Relation: visits.RelationFamily}, origin); err == nil {
			t.Fatal("a link made for a visit past its time")
		}
	})
}

// TestGuestNamedInAccessLog: the patient's access log names a guest by the name the clinician
// gave, sealed under the patient's key, with their relation; the privacy officer reads "a
// visit guest" without opening the patient's PHI.
func TestGuestNamedInAccessLog(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newVisitHarness(t, db)
		p := h.patient("Ada Canary", "ada@example.test")
		id := h.appointment(h.clin.AccountID, p.PatientID, start, visits.StateBooked)
		if err := h.svc.AllowGuests(ctx, p, id, origin); err != nil {
			t.Fatal(err)
		}
		link, err := h.svc.InviteGuest(ctx, h.clin, id, visits.GuestInvite{Name: "Rosa Díaz", Relation: visits.RelationInterpreter}, origin)
		if err != nil {
			t.Fatal(err)
		}
		session, _, err := h.svc.RedeemGuest(ctx, tokenOf(t, link), origin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Visit(ctx, h.guestSubject(session), id, origin); err != nil {
			t.Fatal(err)
		}
		priv := privacy.New(db, h.door, privacy.Deps{Names: h.ids, PatientAccount: h.ids.PatientAccountID, GuestNames: h.svc.GuestNames}, nil, h.clock.Now)
		log, err := priv.AccessLog(ctx, p, p.PatientID, origin)
		if err != nil {
			t.Fatal(err)
		}
		var named []string
		for _, ev := range log {
			if ev.Role == string(access.Guest) {
				named = append(named, ev.Who+": "+ev.What)
			}
		}
		want := []string{
			"Rosa Díaz (interpreter, invited to your visit): opened your visit",
			"Rosa Díaz (interpreter, invited to your visit): joined your visit as a guest",
		}
		if strings.Join(named, "|") != strings.Join(want, "|") {
			t.Fatalf("guest lines in the access log = %q, want %q", named, want)
		}
		// Another patient's log does not learn the name.
		q := h.patient("Bo Other", "bo@example.test")
		if names, err := h.svc.GuestNames(ctx, q.PatientID, []string{h.guestSubject(session).AccountID}); err != nil || len(names) != 0 {
			t.Fatalf("guest names for another patient = %v, %v", names, err)
		}
	})
}
