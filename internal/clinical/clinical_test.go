package clinical_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/identity"
	"haven/internal/identity/password"
	"haven/internal/keys"
	"haven/internal/keys/kms/localfile"
	"haven/internal/principal"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// alarms records the record-integrity alerts raised.
type alarms struct {
	mu  sync.Mutex
	ids []string
}

func (a *alarms) Unreadable(_ context.Context, patientID string, _ error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ids = append(a.ids, patientID)
}

// harness is the record service wired as the server wires it: real keys, the real policy and
// log behind the one door, and identity for patient accounts.
type harness struct {
	db      *store.DB
	records *clinical.Records
	alarms  *alarms
	clin    access.Subject // a clinician (the account exists, so assignments name it)
	other   access.Subject // another clinician, in no one's care team
	admin   access.Subject
	ids     *identity.Service
	keys    *keys.Service
}

var origin = principal.Origin{Addr: "192.0.2.9", RequestID: "clinical-test"}

func newHarness(t *testing.T, db *store.DB, opts ...func(*identity.Config)) *harness {
	t.Helper()
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) }
	kek, err := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(t.TempDir(), "root.key")))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.Open(ctx, db, kek)
	if err != nil {
		t.Fatal(err)
	}
	door := guard.New(access.New(clinical.CareTeam{DB: db}), audit.New(db, now), now)
	idc := identity.DefaultConfig()
	idc.PasswordParams = password.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}
	h := &harness{db: db, alarms: &alarms{}, admin: access.Subject{AccountID: "admin-1", Role: access.Admin, FactorAt: now()}, keys: ks}
	// As the server wires it: the records service is built after identity and needs it.
	idc.PatientEmail = func(ctx context.Context, patientID, why string, o identity.Origin) (string, error) {
		return h.records.ContactEmail(ctx, patientID, why, o)
	}
	idc.ApplyPatientEmail = func(ctx context.Context, p access.Subject, o identity.Origin, take func(context.Context, *sql.Tx) ([]byte, []byte, error)) error {
		return h.records.ApplyConfirmedEmail(ctx, p, o, take)
	}
	for _, o := range opts {
		o(&idc)
	}
	ids, err := identity.New(idc, db, ks, door, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ids.Wait)
	h.ids = ids
	h.records = clinical.New(db, ks, door, ids, h.alarms, now)
	for _, id := range []string{"clin-1", "clin-2"} {
		if _, err := db.ExecContext(ctx, `INSERT INTO accounts (id, role, status, email_bidx, created_at) VALUES ($1, 'clinician', 'active', $2, 0)`, id, []byte(id)); err != nil {
			t.Fatal(err)
		}
	}
	h.clin = access.Subject{AccountID: "clin-1", Role: access.Clinician, FactorAt: now()}
	h.other = access.Subject{AccountID: "clin-2", Role: access.Clinician, FactorAt: now()}
	return h
}

func (h *harness) register(t *testing.T, name, email string) string {
	t.Helper()
	reg, err := h.records.Register(context.Background(), h.clin, clinical.NewPatient{Name: name, BirthDate: "1980-02-29", Phone: "+1 555 0100", Email: email}, origin)
	if err != nil {
		t.Fatal(err)
	}
	return reg.PatientID
}

func lastEntry(t *testing.T, db *store.DB) audit.Entry {
	t.Helper()
	es, err := audit.Search(context.Background(), db, audit.Filter{Limit: 1})
	if err != nil || len(es) != 1 {
		t.Fatalf("last entry: %v %v", es, err)
	}
	return es[0]
}

// TestRecordsThroughTheDoor: the registering clinician reads and writes; another clinician is
// refused until assigned and again once removed; every act and refusal is in the log.
func TestRecordsThroughTheDoor(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := h.register(t, "Ada Canary", "ada@example.test")
		if _, err := h.records.AddNote(ctx, h.clin, pid, "synthetic note", origin); err != nil {
			t.Fatal(err)
		}
		rec, err := h.records.Get(ctx, h.clin, pid, origin)
		if err != nil || rec.Patient.Name != "Ada Canary" || len(rec.Notes) != 1 || rec.Notes[0].Body != "synthetic note" {
			t.Fatalf("record = %+v, %v", rec, err)
		}
		if e := lastEntry(t, db); e.Action != string(access.ReadRecord) || e.Outcome != audit.Allow || e.PatientID != pid || e.Reason != access.ReasonAssigned {
			t.Fatalf("read entry = %+v", e)
		}
		steps := []struct {
			name string
			do   func() error
			want error
		}{
			{"outside the care team", func() error { _, err := h.records.Get(ctx, h.other, pid, origin); return err }, guard.ErrForbidden},
			{"assigned", func() error { return h.records.Assign(ctx, h.admin, pid, h.other.AccountID, origin) }, nil},
			{"reads once assigned", func() error { _, err := h.records.Get(ctx, h.other, pid, origin); return err }, nil},
			{"removed", func() error { return h.records.Unassign(ctx, h.admin, pid, h.other.AccountID, origin) }, nil},
			{"refused the next read", func() error { _, err := h.records.Get(ctx, h.other, pid, origin); return err }, guard.ErrForbidden},
			{"a clinician cannot assign", func() error { return h.records.Assign(ctx, h.other, pid, h.other.AccountID, origin) }, guard.ErrForbidden},
			{"an administrator reads no record", func() error { _, err := h.records.Get(ctx, h.admin, pid, origin); return err }, guard.ErrForbidden},
		}
		for _, s := range steps {
			if err := s.do(); !errors.Is(err, s.want) {
				t.Fatalf("%s: %v, want %v", s.name, err, s.want)
			}
		}
		if e := lastEntry(t, db); e.ActorID != h.admin.AccountID || e.Outcome != audit.Deny || e.PatientID != pid {
			t.Fatalf("the administrator's refusal was not recorded: %+v", e)
		}
	})
}

// TestInvalidNoteDecidedFirst: a note is refused by the policy before it is validated, and an
// allowed but invalid note leaves no allow entry and no row.
func TestInvalidNoteDecidedFirst(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := h.register(t, "Ada Canary", "ada@example.test")
		if _, err := h.records.AddNote(ctx, h.other, pid, "", origin); !errors.Is(err, guard.ErrForbidden) {
			t.Fatalf("an empty note from outside the care team = %v, want forbidden first", err)
		}
		before := lastEntry(t, db).Seq
		_, err := h.records.AddNote(ctx, h.clin, pid, "   ", origin)
		if fe := fault.As(err); fe == nil || fe.Kind != fault.Invalid || fe.Field != "body" {
			t.Fatalf("an empty note = %v, want invalid body", err)
		}
		if e := lastEntry(t, db); e.Seq != before {
			t.Fatalf("an invalid note was recorded: %+v", e)
		}
	})
}

// TestUnreadableRecordIsIsolated: a record whose ciphertext does not open is listed by its
// identifier and flagged, the others are listed in full, and an alarm is raised for it.
func TestUnreadableRecordIsIsolated(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		good := h.register(t, "Ada Canary", "ada@example.test")
		broken := h.register(t, "Bea Broken", "bea@example.test")
		var ct []byte
		if err := db.QueryRowContext(ctx, `SELECT email_ct FROM patients WHERE id = $1`, broken).Scan(&ct); err != nil {
			t.Fatal(err)
		}
		ct[0] ^= 0xff
		if _, err := db.ExecContext(ctx, `UPDATE patients SET email_ct = $1 WHERE id = $2`, ct, broken); err != nil {
			t.Fatal(err)
		}
		list, err := h.records.MyPatients(ctx, h.clin, origin)
		if err != nil || len(list) != 2 {
			t.Fatalf("list = %+v, %v", list, err)
		}
		for _, p := range list {
			if (p.ID == broken) != p.Unreadable || (p.ID == good && p.Name != "Ada Canary") || (p.ID == broken && p.Name != "") {
				t.Errorf("listed %+v", p)
			}
		}
		if _, err := h.records.Get(ctx, h.clin, broken, origin); !errors.Is(err, clinical.ErrUnreadable) {
			t.Fatalf("the broken record = %v, want ErrUnreadable", err)
		}
		if len(h.alarms.ids) == 0 || h.alarms.ids[0] != broken {
			t.Fatalf("alarms = %v, want the broken record", h.alarms.ids)
		}
	})
}

// TestContactEmailIsHavensOwnAuditedRead: Haven opens a patient's e-mail address only through
// the door, as itself, and the patient's log shows it with the occasion.
func TestContactEmailIsHavensOwnAuditedRead(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := h.register(t, "Ada Canary", "ada@example.test")
		got, err := h.records.ContactEmail(ctx, pid, "security-notice", origin)
		if err != nil || got != "ada@example.test" {
			t.Fatalf("contact e-mail = %q, %v", got, err)
		}
		e := lastEntry(t, db)
		if e.Action != string(access.ReachPatient) || e.ActorRole != string(access.System) || e.PatientID != pid ||
			e.Reason != access.ReasonSystem+" security-notice" || e.Purpose != "PATADMIN" {
			t.Fatalf("entry = %+v", e)
		}
	})
}
