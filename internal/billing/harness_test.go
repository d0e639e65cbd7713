package billing_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/billing"
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

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

var origin = principal.Origin{Addr: "192.0.2.20", RequestID: "billing-test"}

// harness is the billing service wired as the server wires it: real keys, the real policy and
// log behind the one door, and the record service for names and birth dates.
type harness struct {
	db      *store.DB
	now     time.Time
	billing *billing.Service
	records *clinical.Records
	drA     access.Subject // registers the patients: in their care team
	drB     access.Subject // in no one's care team
	clerk   access.Subject // the billing role
	nurse   access.Subject
	n       int
}

func newHarness(t *testing.T, db *store.DB) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{db: db, now: t0}
	now := func() time.Time { return h.now }
	kek, err := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(t.TempDir(), "root.key")))
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.Open(ctx, db, kek)
	if err != nil {
		t.Fatal(err)
	}
	policy := access.New(access.Relations{clinical.CareTeam{DB: db}, visits.AppointmentCare{DB: db, CareDays: 30, Now: now}})
	door := guard.New(policy, audit.New(db, now), now)
	idc := identity.DefaultConfig()
	idc.PasswordParams = password.Params{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}
	idc.PatientEmail = func(ctx context.Context, patientID, why string, o identity.Origin) (string, error) {
		return h.records.ContactEmail(ctx, patientID, why, o)
	}
	idc.ApplyPatientEmail = func(ctx context.Context, p access.Subject, o identity.Origin, take func(context.Context, *sql.Tx) ([]byte, []byte, error)) error {
		return h.records.ApplyConfirmedEmail(ctx, p, o, take)
	}
	ids, err := identity.New(idc, db, ks, door, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ids.Wait)
	h.records = clinical.New(db, ks, door, ids, nil, now)
	h.billing = billing.New(db, door, ks, h.records, now)
	for _, a := range []struct{ id, role string }{{"dr-a", "clinician"}, {"dr-b", "clinician"}, {"clerk-1", "billing"}, {"nurse-1", "nurse"}} {
		if _, err := db.ExecContext(ctx, `INSERT INTO accounts (id, role, status, email_bidx, created_at) VALUES ($1, $2, 'active', $3, 0)`, a.id, a.role, []byte(a.id)); err != nil {
			t.Fatal(err)
		}
	}
	h.drA = access.Subject{AccountID: "dr-a", Role: access.Clinician, FactorAt: t0}
	h.drB = access.Subject{AccountID: "dr-b", Role: access.Clinician, FactorAt: t0}
	h.clerk = access.Subject{AccountID: "clerk-1", Role: access.Billing, FactorAt: t0}
	h.nurse = access.Subject{AccountID: "nurse-1", Role: access.Nurse, FactorAt: t0}
	return h
}

// patient registers a patient in dr A's care and returns them as a subject.
func (h *harness) patient(t *testing.T, name string) access.Subject {
	t.Helper()
	h.n++
	reg, err := h.records.Register(context.Background(), h.drA, clinical.NewPatient{Name: name, BirthDate: "1980-02-29",
		Phone: fmt.Sprintf("+1 202 555 %04d", h.n), Email: fmt.Sprintf("patient%d@example.test", h.n), ConfirmDuplicate: true}, origin)
	if err != nil {
		t.Fatal(err)
	}
	var account string
	if err := h.db.QueryRow(`SELECT id FROM accounts WHERE patient_id = $1`, reg.PatientID).Scan(&account); err != nil {
		t.Fatal(err)
	}
	return access.Subject{AccountID: account, Role: access.Patient, PatientID: reg.PatientID}
}

// visit puts an appointment with dr A in the given state, as the visits side would leave it.
func (h *harness) visit(t *testing.T, patientID, state string, at time.Time) string {
	t.Helper()
	h.n++
	at = at.Add(time.Duration(h.n) * time.Second) // one slot per visit
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	_, err := h.db.ExecContext(context.Background(), `INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at)
		VALUES ($1, 'dr-a', $2, 'scheduled', $3, $4, $5, 'dr-a', $6)`, id, patientID, state, at.UnixNano(), at.Add(20*time.Minute).UnixNano(), t0.UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// entries returns every audit entry, oldest first.
func (h *harness) entries(t *testing.T) []audit.Entry {
	t.Helper()
	es, err := audit.Search(context.Background(), h.db, audit.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}
