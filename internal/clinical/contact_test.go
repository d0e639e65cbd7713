package clinical_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/identity"
	"haven/internal/keys"
	"haven/internal/mail"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// patientOf is the signed-in subject of the patient whose record is pid.
func (h *harness) patientOf(t *testing.T, pid string) access.Subject {
	t.Helper()
	var id string
	if err := h.db.QueryRowContext(context.Background(), `SELECT id FROM accounts WHERE patient_id = $1`, pid).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return access.Subject{AccountID: id, Role: access.Patient, PatientID: pid}
}

// indexes are the blind indexes of a patient's record and account, as stored.
type indexes struct{ recordPhone, recordEmail, accountEmail, accountPhone []byte }

func (h *harness) indexes(t *testing.T, pid string) indexes {
	t.Helper()
	var x indexes
	err := h.db.QueryRowContext(context.Background(), `SELECT p.phone_bidx, p.email_bidx, a.email_bidx, a.phone_bidx
		FROM patients p JOIN accounts a ON a.patient_id = p.id WHERE p.id = $1`, pid).Scan(&x.recordPhone, &x.recordEmail, &x.accountEmail, &x.accountPhone)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func (h *harness) bidx(t *testing.T, kind keys.IndexKind, v string) []byte {
	t.Helper()
	b, err := h.keys.BlindIndex(kind, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// contact is what the patient's record shows, read by the patient.
func (h *harness) contact(t *testing.T, p access.Subject) clinical.Contact {
	t.Helper()
	rec, err := h.records.Get(context.Background(), p, p.PatientID, origin)
	if err != nil {
		t.Fatal(err)
	}
	return clinical.Contact{Phone: rec.Patient.Phone, Email: rec.Patient.Email}
}

// checkErr fails unless err is want, or, with field set, invalid input naming that field.
func checkErr(t *testing.T, what string, err, want error, field string) {
	t.Helper()
	switch {
	case field != "":
		if fe := fault.As(err); fe == nil || fe.Kind != fault.Invalid || fe.Field != field {
			t.Fatalf("%s = %v, want invalid %s", what, err, field)
		}
	case want == nil && err != nil, want != nil && !errors.Is(err, want):
		t.Fatalf("%s = %v, want %v", what, err, want)
	}
}

// TestPatientUpdatesContact: a patient changes the phone number and e-mail address on their own
// record; without e-mail both apply at once, the blind indexes and the account's sign-in name
// with them, and each change is an entry saying what changed. The address cannot be removed or
// be another account's; no one else may change them.
func TestPatientUpdatesContact(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := h.register(t, "Ada Canary", "ada@example.test")
		other := h.register(t, "Bea Other", "bea@example.test")
		ada, bea := h.patientOf(t, pid), h.patientOf(t, other)
		for _, s := range []struct {
			name       string
			by         access.Subject
			in         clinical.Contact
			want       error
			field      string
			change     identity.EmailChange
			outcome    string // of the last entry
			reason     string
			wantRecord clinical.Contact // what the record shows after
		}{
			{name: "a new phone number", by: ada, in: clinical.Contact{Phone: "+1 555 0100 999", Email: "ada@example.test"},
				change: identity.EmailUnchanged, outcome: audit.Allow, reason: "own-record phone",
				wantRecord: clinical.Contact{Phone: "+1 555 0100 999", Email: "ada@example.test"}},
			{name: "a new address, at once without e-mail", by: ada, in: clinical.Contact{Phone: "+1 555 0100 999", Email: " ada.new@example.test "},
				change: identity.EmailChanged, outcome: audit.Allow, reason: "own-record email",
				wantRecord: clinical.Contact{Phone: "+1 555 0100 999", Email: "ada.new@example.test"}},
			{name: "another account's address", by: ada, in: clinical.Contact{Phone: "+1 555 0100 111", Email: "bea@example.test"},
				want: identity.ErrEmailTaken, outcome: audit.Failure, reason: "address-in-use",
				wantRecord: clinical.Contact{Phone: "+1 555 0100 999", Email: "ada.new@example.test"}},
			{name: "no address", by: ada, in: clinical.Contact{Phone: "+1 555 0100 999"}, field: "email"},
			{name: "no phone number", by: ada, in: clinical.Contact{Phone: "12", Email: "ada.new@example.test"}, field: "phone"},
			{name: "the care team's clinician", by: h.clin, in: clinical.Contact{Phone: "+1 555 0100 123", Email: "ada@example.test"},
				want: guard.ErrForbidden, outcome: audit.Deny, reason: access.ReasonRoleForbidden},
			{name: "another patient", by: bea, in: clinical.Contact{Phone: "+1 555 0100 123", Email: "ada@example.test"},
				want: guard.ErrForbidden, outcome: audit.Deny, reason: access.ReasonNotOwnRecord},
			{name: "the same details written differently", by: ada, in: clinical.Contact{Phone: "+1 (555) 0100-999", Email: "Ada.New@example.test"},
				change: identity.EmailUnchanged, outcome: audit.Allow, reason: "own-record unchanged",
				wantRecord: clinical.Contact{Phone: "+1 (555) 0100-999", Email: "Ada.New@example.test"}},
		} {
			before := lastEntry(t, db).Seq
			got, err := h.records.UpdateContact(ctx, s.by, pid, s.in, origin)
			checkErr(t, s.name, err, s.want, s.field)
			e := lastEntry(t, db)
			if s.outcome == "" {
				if e.Seq != before {
					t.Errorf("%s: an invalid change was recorded: %+v", s.name, e)
				}
				continue
			}
			if e.Action != string(access.UpdateContact) || e.Outcome != s.outcome || e.Reason != s.reason || e.PatientID != pid {
				t.Errorf("%s: entry %+v, want %s %q on %s", s.name, e, s.outcome, s.reason, pid)
			}
			if err == nil && (got.EmailChange != s.change || got.Contact != s.wantRecord) {
				t.Errorf("%s: answer %+v, want %s with %+v", s.name, got, s.change, s.wantRecord)
			}
			if s.wantRecord != (clinical.Contact{}) {
				if c := h.contact(t, ada); c != s.wantRecord {
					t.Errorf("%s: record shows %+v, want %+v", s.name, c, s.wantRecord)
				}
			}
		}
		x := h.indexes(t, pid)
		if !bytes.Equal(x.recordPhone, h.bidx(t, keys.IndexPhone, "15550100999")) || !bytes.Equal(x.recordEmail, h.bidx(t, keys.IndexEmail, "ada.new@example.test")) {
			t.Error("the record's blind indexes did not follow its fields")
		}
		if !bytes.Equal(x.accountEmail, x.recordEmail) || x.accountPhone != nil {
			t.Errorf("the account's sign-in name did not follow the address: %x %x", x.accountEmail, x.accountPhone)
		}
	})
}

// TestPatientWithoutEmail: a patient registered without an e-mail address is invited by a link
// the clinician hands over and signs in with their phone number, which must carry its country
// code and be no other account's sign-in name. Their sign-in name follows a new number, and
// moves to an e-mail address when they add one.
func TestPatientWithoutEmail(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		register := func(phone, email string) (clinical.Registration, error) {
			// One person registered several times: the duplicate warning is confirmed.
			return h.records.Register(ctx, h.clin, clinical.NewPatient{Name: "Pau Phone", BirthDate: "1990-01-02", Phone: phone, Email: email, ConfirmDuplicate: true}, origin)
		}
		_, err := register("612 345 678", "")
		checkErr(t, "no address and no country code", err, nil, "phone")
		reg, err := register("+34 612 345 678", "")
		checkErr(t, "no address", err, nil, "")
		if reg.Invite.URL == "" || reg.Invite.Emailed {
			t.Fatalf("invitation = %+v, want a link to hand over", reg.Invite)
		}
		_, err = register("0034 612 345 678", "")
		checkErr(t, "the number another patient signs in with", err, identity.ErrPhoneTaken, "")
		if _, err := register("+34 612 345 678", "family@example.test"); err != nil {
			t.Fatalf("a relative with an address and the same number: %v", err)
		}
		pau := h.patientOf(t, reg.PatientID)
		if c := h.contact(t, pau); c != (clinical.Contact{Phone: "+34 612 345 678"}) {
			t.Fatalf("record = %+v", c)
		}
		x := h.indexes(t, reg.PatientID)
		if len(x.recordEmail) != 0 || !bytes.Equal(x.accountPhone, h.bidx(t, keys.IndexPhone, "34612345678")) {
			t.Fatalf("indexes of a patient without an address: %+v", x)
		}

		for _, s := range []struct {
			name  string
			in    clinical.Contact
			field string
			check func(x indexes) bool
		}{
			{"a national number, while it signs in", clinical.Contact{Phone: "699 000 111"}, "phone", nil},
			{"a new number", clinical.Contact{Phone: "+34 699 000 111"}, "", func(x indexes) bool {
				return bytes.Equal(x.accountPhone, h.bidx(t, keys.IndexPhone, "34699000111")) && bytes.Equal(x.recordPhone, x.accountPhone)
			}},
			{"an address, and a national number with it", clinical.Contact{Phone: "699 000 111", Email: "pau@example.test"}, "", func(x indexes) bool {
				return x.accountPhone == nil && bytes.Equal(x.accountEmail, h.bidx(t, keys.IndexEmail, "pau@example.test"))
			}},
		} {
			_, err := h.records.UpdateContact(ctx, pau, reg.PatientID, s.in, origin)
			checkErr(t, s.name, err, nil, s.field)
			if s.check != nil && !s.check(h.indexes(t, reg.PatientID)) {
				t.Errorf("%s: indexes %+v", s.name, h.indexes(t, reg.PatientID))
			}
		}
	})
}

// outbox is a Mailer that keeps what it is given.
type outbox struct {
	mu   sync.Mutex
	sent []mail.Message
}

func (o *outbox) Send(_ context.Context, m mail.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, m)
	return nil
}

// to returns the messages to addr whose subject starts with subject.
func (o *outbox) to(addr, subject string) []mail.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []mail.Message
	for _, m := range o.sent {
		if len(m.To) == 1 && m.To[0] == addr && strings.HasPrefix(m.Subject, subject) {
			out = append(out, m)
		}
	}
	return out
}

var tokenIn = regexp.MustCompile(`token=([A-Za-z0-9_-]+)`)

// token is the single-use token of the one message to addr about subject.
func (o *outbox) token(t *testing.T, addr, subject string) string {
	t.Helper()
	ms := o.to(addr, subject)
	if len(ms) != 1 {
		t.Fatalf("%d messages %q to %s, want 1", len(ms), subject, addr)
	}
	m := tokenIn.FindStringSubmatch(ms[0].Body)
	if m == nil {
		t.Fatalf("no link in %q", ms[0].Body)
	}
	return m[1]
}

// TestEmailChangeConfirmedFromTheNewAddress: with e-mail on, a patient's new address changes
// nothing until the link sent to it is opened; then the record, its index and the sign-in name
// move together, as the patient's act through the door, and the old address is told of the
// request and of the change. A patient without an address gets no notice. An address another
// account uses answers alike when asked, and is refused, recorded, when confirmed.
func TestEmailChangeConfirmedFromTheNewAddress(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		box := &outbox{}
		h := newHarness(t, db, func(c *identity.Config) { c.Mail, c.BaseURL = box, "https://haven.test" })
		pid := h.register(t, "Ada Canary", "ada@example.test")
		h.register(t, "Bea Other", "bea@example.test")
		if _, _, err := h.ids.ActivateInvite(ctx, box.token(t, "ada@example.test", "Your Haven account"), "quiet orchard bicycle river", origin); err != nil {
			t.Fatal(err)
		}
		ada := h.patientOf(t, pid)
		was := clinical.Contact{Phone: "+1 555 0100", Email: "ada@example.test"}

		got, err := h.records.UpdateContact(ctx, ada, pid, clinical.Contact{Phone: "+1 555 0100", Email: "ada.new@example.test"}, origin)
		if err != nil || got.EmailChange != identity.EmailConfirmationSent || got.Contact != was {
			t.Fatalf("UpdateContact = %+v, %v; want the confirmation sent and the old address in use", got, err)
		}
		if e := lastEntry(t, db); e.Action != "account.email-change-request" || e.Outcome != audit.Success {
			t.Fatalf("last entry %+v", e)
		}
		if c := h.contact(t, ada); c != was {
			t.Fatalf("before the link is opened the record shows %+v", c)
		}
		token := box.token(t, "ada.new@example.test", "Confirm your new Haven e-mail address")
		h.ids.Wait()
		if n := len(box.to("ada@example.test", "A change of your Haven e-mail address was requested")); n != 1 {
			t.Fatalf("%d notices of the request at the old address, want 1", n)
		}

		if err := h.ids.ConfirmEmailChange(ctx, token, origin); err != nil {
			t.Fatal(err)
		}
		if c := h.contact(t, ada); c.Email != "ada.new@example.test" {
			t.Fatalf("after the link the record shows %+v", c)
		}
		x := h.indexes(t, pid)
		if !bytes.Equal(x.recordEmail, h.bidx(t, keys.IndexEmail, "ada.new@example.test")) || !bytes.Equal(x.accountEmail, x.recordEmail) {
			t.Fatal("the record's index and the sign-in name did not move with the address")
		}
		es, err := audit.Search(ctx, db, audit.Filter{PatientID: pid, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if !containsEntry(es, string(access.UpdateContact), audit.Allow, "own-record email-confirmed", ada.AccountID) {
			t.Errorf("the confirmed change is not the patient's act through the door: %+v", es)
		}
		h.ids.Wait()
		if n := len(box.to("ada@example.test", "Your Haven e-mail address was changed")); n != 1 {
			t.Errorf("%d notices of the change at the old address, want 1", n)
		}
		checkErr(t, "the link again", h.ids.ConfirmEmailChange(ctx, token, origin), identity.ErrInviteInvalid, "")

		// Another account's address: asked alike, refused when confirmed.
		got, err = h.records.UpdateContact(ctx, ada, pid, clinical.Contact{Phone: "+1 555 0100", Email: "bea@example.test"}, origin)
		if err != nil || got.EmailChange != identity.EmailConfirmationSent {
			t.Fatalf("a taken address = %+v, %v; want the same answer as a free one", got, err)
		}
		taken := box.token(t, "bea@example.test", "Confirm your new Haven e-mail address")
		checkErr(t, "confirming a taken address", h.ids.ConfirmEmailChange(ctx, taken, origin), identity.ErrEmailTaken, "")
		if e := lastEntry(t, db); e.Action != "account.email-change" || e.Outcome != audit.Failure || e.Reason != "address-in-use" {
			t.Errorf("the refused confirmation: %+v", e)
		}
		if c := h.contact(t, ada); c.Email != "ada.new@example.test" {
			t.Errorf("after a refused confirmation the record shows %+v", c)
		}

		// A patient without an address adds one: no one to tell, the number signs in meanwhile.
		reg, err := h.records.Register(ctx, h.clin, clinical.NewPatient{Name: "Pau Phone", BirthDate: "1990-01-02", Phone: "+34 612 345 678"}, origin)
		if err != nil || reg.Invite.URL == "" {
			t.Fatalf("with e-mail on, a patient without an address: %+v, %v; want the link shown", reg, err)
		}
		if _, _, err := h.ids.ActivateInvite(ctx, tokenIn.FindStringSubmatch(reg.Invite.URL)[1], "quiet orchard bicycle river", origin); err != nil {
			t.Fatal(err)
		}
		pau := h.patientOf(t, reg.PatientID)
		sent := len(box.sent)
		if got, err := h.records.UpdateContact(ctx, pau, reg.PatientID, clinical.Contact{Phone: "+34 612 345 678", Email: "pau@example.test"}, origin); err != nil || got.Email != "" {
			t.Fatalf("adding an address = %+v, %v", got, err)
		}
		if x := h.indexes(t, reg.PatientID); x.accountPhone == nil {
			t.Fatal("the number stopped signing in before the address was confirmed")
		}
		if err := h.ids.ConfirmEmailChange(ctx, box.token(t, "pau@example.test", "Confirm your new Haven e-mail address"), origin); err != nil {
			t.Fatal(err)
		}
		h.ids.Wait()
		if x := h.indexes(t, reg.PatientID); x.accountPhone != nil || !bytes.Equal(x.accountEmail, h.bidx(t, keys.IndexEmail, "pau@example.test")) {
			t.Errorf("after confirming, indexes %+v", x)
		}
		if n := len(box.sent) - sent; n != 1 {
			t.Errorf("%d messages for a patient without an address adding one, want only the link", n)
		}
	})
}

func containsEntry(es []audit.Entry, action, outcome, reason, actor string) bool {
	for _, e := range es {
		if e.Action == action && e.Outcome == outcome && e.Reason == reason && e.ActorID == actor {
			return true
		}
	}
	return false
}
