package visits_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
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
	"haven/internal/principal"
	"haven/internal/store"
	"haven/internal/visits"
)

// clock is a fake clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// t0 is a Tuesday morning in Madrid (08:00 UTC, 09:00 local).
var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

var origin = principal.Origin{Addr: "192.0.2.10", RequestID: "visits-test"}

// harness is the scheduling service wired as the server wires it: real keys, the real policy
// (care team and appointment relationship) and log behind the one door, the record service
// and identity.
type harness struct {
	db      *store.DB
	clock   *clock
	visits  *visits.Service
	records *clinical.Records
	policy  *access.Policy
	door    *guard.Door
	drA     access.Subject // registers the patients: in their care team
	drB     access.Subject // in no one's care team; accepts new patients in some tests
	desk    access.Subject // the front desk
	admin   access.Subject

	registered int
}

func newHarness(t *testing.T, db *store.DB, cfg visits.Config) *harness {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: t0}
	kek, err := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(t.TempDir(), "root.key")))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.Open(ctx, db, kek)
	if err != nil {
		t.Fatal(err)
	}
	def := visits.DefaultConfig()
	if cfg.CareDays == 0 {
		cfg.CareDays = def.CareDays
	}
	h := &harness{db: db, clock: c}
	h.policy = access.New(access.Relations{clinical.CareTeam{DB: db}, visits.AppointmentCare{DB: db, CareDays: cfg.CareDays, Now: c.Now}})
	h.door = guard.New(h.policy, audit.New(db, c.Now), c.Now)
	idc := identity.DefaultConfig()
	idc.PasswordParams = password.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}
	idc.PatientEmail = func(ctx context.Context, patientID, why string, o identity.Origin) (string, error) {
		return h.records.ContactEmail(ctx, patientID, why, o)
	}
	idc.ApplyPatientEmail = func(ctx context.Context, p access.Subject, o identity.Origin, take func(context.Context, *sql.Tx) ([]byte, []byte, error)) error {
		return h.records.ApplyConfirmedEmail(ctx, p, o, take)
	}
	ids, err := identity.New(idc, db, ks, h.door, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ids.Wait)
	h.records = clinical.New(db, ks, h.door, ids, nil, c.Now)
	h.visits = visits.New(db, h.door, ks, h.records, ids, nil, cfg, c.Now)
	for _, a := range []struct{ id, role string }{{"dr-a", "clinician"}, {"dr-b", "clinician"}, {"desk-1", "frontdesk"}, {"admin-1", "admin"}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO accounts (id, role, status, email_bidx, created_at) VALUES ($1, $2, 'active', $3, 0)`, a.id, a.role, []byte(a.id)); err != nil {
			t.Fatal(err)
		}
	}
	h.drA = access.Subject{AccountID: "dr-a", Role: access.Clinician, FactorAt: t0}
	h.drB = access.Subject{AccountID: "dr-b", Role: access.Clinician, FactorAt: t0}
	h.desk = access.Subject{AccountID: "desk-1", Role: access.FrontDesk, FactorAt: t0}
	h.admin = access.Subject{AccountID: "admin-1", Role: access.Admin, FactorAt: t0}
	return h
}

// patient registers a patient in dr A's care and returns them as a subject.
func (h *harness) patient(t *testing.T, name string) access.Subject {
	t.Helper()
	h.registered++
	reg, err := h.records.Register(context.Background(), h.drA, clinical.NewPatient{Name: name, BirthDate: "1980-02-29",
		Phone: fmt.Sprintf("+34 612 345 %03d", h.registered), Email: strings.ReplaceAll(strings.ToLower(name), " ", ".") + "@example.test",
		ConfirmDuplicate: true}, origin)
	if err != nil {
		t.Fatal(err)
	}
	var account string
	if err := h.db.QueryRow(`SELECT id FROM accounts WHERE patient_id = $1`, reg.PatientID).Scan(&account); err != nil {
		t.Fatal(err)
	}
	return access.Subject{AccountID: account, Role: access.Patient, PatientID: reg.PatientID}
}

// madridHours sets 09:00–13:00 Madrid, Monday to Friday, 30-minute slots, for the clinician.
func (h *harness) madridHours(t *testing.T, clinician access.Subject, acceptsNew bool) {
	t.Helper()
	a := visits.Availability{TimeZone: "Europe/Madrid", SlotMinutes: 30, AcceptsNewPatients: acceptsNew}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri"} {
		a.Weekly = append(a.Weekly, visits.Hours{Day: d, Start: "09:00", End: "13:00"})
	}
	if err := h.visits.SetAvailability(context.Background(), clinician, clinician.AccountID, a, origin); err != nil {
		t.Fatal(err)
	}
}

// entries returns the audit entries after seq, oldest first.
func (h *harness) entries(t *testing.T, after int64) []audit.Entry {
	t.Helper()
	es, err := audit.Search(context.Background(), h.db, audit.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Seq > after {
			out = append(out, es[i])
		}
	}
	return out
}

func (h *harness) lastSeq(t *testing.T) int64 {
	t.Helper()
	var n int64
	if err := h.db.QueryRow(`SELECT COALESCE(MAX(seq), 0) FROM audit_entries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// at is a Madrid wall-clock time on the day offset days after t0 (t0 is Tuesday 1 December).
func at(days, hour, minute int) time.Time {
	madrid, _ := time.LoadLocation("Europe/Madrid")
	return time.Date(2026, 12, 1+days, hour, minute, 0, 0, madrid)
}
