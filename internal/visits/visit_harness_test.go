package visits_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
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
	"haven/internal/store"
	"haven/internal/visits"
)

// Set moves the clock to t.
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// visitHarness is the visits service wired as server.New wires it: real keys, the real policy (care
// by assignment or by appointment) and log behind the one door, identity for guests and staff
// names, and the record service for names and the summary note.
type visitHarness struct {
	t       *testing.T
	db      *store.DB
	clock   *clock
	door    *guard.Door
	keys    *keys.Service
	ids     *identity.Service
	records *clinical.Records
	svc     *visits.Service
	// clin is the clinician of the visits (in care by appointment only); other is a second
	// clinician; registrar registered the patients (their care team); desk is the front desk.
	clin, other, registrar, desk access.Subject
}

// start is when the tests' visits begin: the clock starts 10 minutes before it.
var start = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func newVisitHarness(t *testing.T, db *store.DB, opts ...func(*visits.Config)) *visitHarness {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: start.Add(-10 * time.Minute)}
	kek, err := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(t.TempDir(), "root.key")))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.Open(ctx, db, kek)
	if err != nil {
		t.Fatal(err)
	}
	cfg := visits.DefaultConfig()
	cfg.BaseURL = "https://haven.test"
	for _, o := range opts {
		o(&cfg)
	}
	policy := access.New(access.Relations{clinical.CareTeam{DB: db}, visits.AppointmentCare{DB: db, CareDays: cfg.CareDays, Now: c.Now}})
	door := guard.New(policy, audit.New(db, c.Now), c.Now)
	idc := identity.DefaultConfig()
	idc.PasswordParams = password.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}
	h := &visitHarness{t: t, db: db, clock: c, door: door, keys: ks}
	idc.PatientEmail = func(ctx context.Context, patientID, why string, o identity.Origin) (string, error) {
		return h.records.ContactEmail(ctx, patientID, why, o)
	}
	idc.ApplyPatientEmail = func(ctx context.Context, p access.Subject, o identity.Origin, take func(context.Context, *sql.Tx) ([]byte, []byte, error)) error {
		return h.records.ApplyConfirmedEmail(ctx, p, o, take)
	}
	ids, err := identity.New(idc, db, ks, door, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ids.Wait)
	h.ids = ids
	h.records = clinical.New(db, ks, door, ids, nil, c.Now)
	h.svc = visits.New(db, door, ks, h.records, ids, nil, cfg, c.Now)
	for _, a := range []struct{ id, role string }{{"clin-1", "clinician"}, {"clin-2", "clinician"}, {"clin-reg", "clinician"}, {"desk-1", "frontdesk"}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO accounts (id, role, status, email_bidx, created_at) VALUES ($1, $2, 'active', $3, 0)`, a.id, a.role, []byte(a.id)); err != nil {
			t.Fatal(err)
		}
	}
	now := c.Now()
	h.clin = access.Subject{AccountID: "clin-1", Role: access.Clinician, FactorAt: now}
	h.other = access.Subject{AccountID: "clin-2", Role: access.Clinician, FactorAt: now}
	h.registrar = access.Subject{AccountID: "clin-reg", Role: access.Clinician, FactorAt: now}
	h.desk = access.Subject{AccountID: "desk-1", Role: access.FrontDesk, FactorAt: now}
	return h
}

// withService rebuilds the service over the same database, keys and door with another
// configuration: a clinic publishing a new consent text.
func (h *visitHarness) withService(opts ...func(*visits.Config)) *visits.Service {
	cfg := visits.DefaultConfig()
	cfg.BaseURL = "https://haven.test"
	for _, o := range opts {
		o(&cfg)
	}
	return visits.New(h.db, h.door, h.keys, h.records, h.ids, nil, cfg, h.clock.Now)
}

// patient registers a patient (in the registrar's care) and returns them as a subject.
func (h *visitHarness) patient(name, email string) access.Subject {
	h.t.Helper()
	ctx := context.Background()
	reg, err := h.records.Register(ctx, h.registrar, clinical.NewPatient{Name: name, BirthDate: "1980-02-29", Phone: "+1 555 0100", Email: email, ConfirmDuplicate: true}, origin)
	if err != nil {
		h.t.Fatal(err)
	}
	acct, err := h.ids.PatientAccountID(ctx, reg.PatientID)
	if err != nil {
		h.t.Fatal(err)
	}
	return access.Subject{AccountID: acct, Role: access.Patient, PatientID: reg.PatientID}
}

// appointment books (by SQL, as the scheduling side would) a visit of 20 minutes at at with the
// clinician, in state, and returns its identifier.
func (h *visitHarness) appointment(clinicianID, patientID string, at time.Time, state string) string {
	h.t.Helper()
	id := "appt-" + randomSuffix()
	_, err := h.db.ExecContext(context.Background(), `INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at)
		VALUES ($1, $2, $3, 'scheduled', $4, $5, $6, $2, $7)`, id, clinicianID, patientID, state, at.UnixNano(), at.Add(20*time.Minute).UnixNano(), h.clock.Now().Add(-24*time.Hour).UnixNano())
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

// accept has the patient accept the consent in force.
func (h *visitHarness) accept(p access.Subject) {
	h.t.Helper()
	if err := h.svc.AcceptConsent(context.Background(), p, p.PatientID, h.svc.CurrentConsent().Version, origin); err != nil {
		h.t.Fatal(err)
	}
}

// entries returns the audit entries with action, newest first.
func (h *visitHarness) entries(action string) []audit.Entry {
	h.t.Helper()
	es, err := audit.Search(context.Background(), h.db, audit.Filter{Action: action, Limit: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	return es
}

func (h *visitHarness) lastEntry() audit.Entry {
	h.t.Helper()
	es, err := audit.Search(context.Background(), h.db, audit.Filter{Limit: 1})
	if err != nil || len(es) != 1 {
		h.t.Fatalf("last entry: %v %v", es, err)
	}
	return es[0]
}

func (h *visitHarness) state(id string) string {
	h.t.Helper()
	var s string
	if err := h.db.QueryRowContext(context.Background(), `SELECT state FROM appointments WHERE id = $1`, id).Scan(&s); err != nil {
		h.t.Fatal(err)
	}
	return s
}

func randomSuffix() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func readFile(name string) ([]byte, error) { return os.ReadFile(name) }
