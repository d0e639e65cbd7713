package visits_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/guard"
	"haven/internal/identity"
	"haven/internal/identity/password"
	"haven/internal/keys"
	"haven/internal/keys/kms/localfile"
	"haven/internal/mail"
	"haven/internal/mail/mailtest"
	"haven/internal/principal"
	"haven/internal/store"
	"haven/internal/visits"
)

// remindClock is a clock the reminder tests move by hand.
type remindClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *remindClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *remindClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// remindHarness is a visits service wired as the server wires it (keys, the door over the real
// policy, identity and the patient record), e-mailing to an in-process SMTP server.
type remindHarness struct {
	db      *store.DB
	clock   *remindClock
	door    *guard.Door
	records *clinical.Records
	visits  *visits.Service
	inbox   *mailtest.Inbox
	sender  *mail.Sender
	cfg     visits.Config
	ids     *identity.Service
	keys    *keys.Service
	clin    access.Subject
}

const remindBase = "https://haven.test"

var remindOrigin = principal.Origin{Addr: "192.0.2.7", RequestID: "remind-test"}

func newRemindHarness(t *testing.T, db *store.DB) *remindHarness {
	t.Helper()
	ctx := context.Background()
	h := &remindHarness{db: db, clock: &remindClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}}
	kek, err := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(t.TempDir(), "root.key")))
	if err != nil {
		t.Fatal(err)
	}
	if h.keys, err = keys.Open(ctx, db, kek); err != nil {
		t.Fatal(err)
	}
	h.cfg = visits.Config{BaseURL: remindBase, CareDays: 30}
	h.door = guard.New(access.New(access.Relations{clinical.CareTeam{DB: db}, visits.AppointmentCare{DB: db, CareDays: 30, Now: h.clock.Now}}),
		audit.New(db, h.clock.Now), h.clock.Now)
	idc := identity.DefaultConfig()
	idc.PasswordParams = password.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}
	idc.PatientEmail = func(ctx context.Context, patientID, why string, o identity.Origin) (string, error) {
		return h.records.ContactEmail(ctx, patientID, why, o)
	}
	idc.ApplyPatientEmail = func(ctx context.Context, p access.Subject, o identity.Origin, take func(context.Context, *sql.Tx) ([]byte, []byte, error)) error {
		return h.records.ApplyConfirmedEmail(ctx, p, o, take)
	}
	if h.ids, err = identity.New(idc, db, h.keys, h.door, h.clock.Now); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.ids.Wait)
	h.records = clinical.New(db, h.keys, h.door, h.ids, nil, h.clock.Now)
	addr, conf, inbox := mailtest.Server(t, true)
	h.inbox = inbox
	h.sender = &mail.Sender{Addr: addr, TLS: conf, From: "haven@clinic.test", Now: h.clock.Now}
	h.visits = h.service(h.sender)
	for _, id := range []string{"clin-1", "clin-2"} {
		h.exec(t, `INSERT INTO accounts (id, role, status, email_bidx, created_at) VALUES ($1, 'clinician', 'active', $2, 0)`, id, []byte(id))
	}
	h.clin = access.Subject{AccountID: "clin-1", Role: access.Clinician, FactorAt: h.clock.Now()}
	return h
}

// service is another visits service over the same database and door (a second Haven).
func (h *remindHarness) service(m visits.Mailer) *visits.Service {
	return visits.New(h.db, h.door, h.keys, h.records, h.ids, m, h.cfg, h.clock.Now)
}

func (h *remindHarness) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := h.db.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// register registers a patient in clin-1's care and returns their record's identifier.
func (h *remindHarness) register(t *testing.T, name, email, phone string) string {
	t.Helper()
	reg, err := h.records.Register(context.Background(), h.clin, clinical.NewPatient{Name: name, BirthDate: "1980-02-29", Phone: phone, Email: email}, remindOrigin)
	if err != nil {
		t.Fatal(err)
	}
	return reg.PatientID
}

// book inserts an appointment row as booking would leave it (booking is not built here).
func (h *remindHarness) book(t *testing.T, id, clinicianID, patientID, state string, start time.Time) {
	t.Helper()
	h.exec(t, `INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at)
		VALUES ($1, $2, $3, 'scheduled', $4, $5, $6, $2, $7)`,
		id, clinicianID, patientID, state, start.UnixNano(), start.Add(20*time.Minute).UnixNano(), h.clock.Now().UnixNano())
}

// entries returns the audit entries of action, oldest first.
func (h *remindHarness) entries(t *testing.T, action string) []audit.Entry {
	t.Helper()
	es, err := audit.Search(context.Background(), h.db, audit.Filter{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// Search returns the newest first.
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}
