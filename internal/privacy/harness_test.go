package privacy_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/privacy"
	"haven/internal/store"
)

// harness is the privacy service wired as server.New wires it (the real policy and audit log on
// a real database), with staff names and care teams from fakes: what privacy decides and
// stores is tested here without an HTTP server.
type harness struct {
	t     *testing.T
	db    *store.DB
	log   *audit.Log
	svc   *privacy.Service
	clock *clock
}

// The people in the tests: two patients, a clinician who opened both records, the privacy
// officer and an administrator.
const (
	patientA = "patient-a"
	patientB = "patient-b"
)

func patient(id string) access.Subject {
	return access.Subject{AccountID: "acct-" + id, Role: access.Patient, PatientID: id}
}

func staff(role access.Role) access.Subject {
	return access.Subject{AccountID: "acct-" + string(role), Role: role}
}

func origin() audit.Origin { return audit.Origin{Addr: "192.0.2.1", RequestID: "test"} }

func newHarness(t *testing.T, db *store.DB) *harness {
	t.Helper()
	c := &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	log := audit.New(db, c.Now)
	policy := access.New(careTeams{})
	return &harness{t: t, db: db, log: log, svc: privacy.New(db, guard.New(policy, log, c.Now), staffNames{}, nil, c.Now), clock: c}
}

// opened appends the audit entry of clinician reading patientID's record and returns its index.
func (h *harness) opened(patientID string) int64 {
	h.t.Helper()
	seq, err := h.log.Append(context.Background(), audit.Entry{ActorID: staff(access.Clinician).AccountID, ActorRole: string(access.Clinician),
		Action: string(access.ReadRecord), ResourceType: "Patient", ResourceID: patientID, PatientID: patientID,
		Outcome: audit.Allow, Reason: access.ReasonAssigned, Purpose: "TREAT"})
	if err != nil {
		h.t.Fatal(err)
	}
	h.clock.Advance(time.Second)
	return seq
}

// count runs a COUNT(*) query.
func (h *harness) count(query string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.db.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

type careTeams struct{}

func (careTeams) InCareTeam(context.Context, string, string) (bool, error) { return true, nil }

type staffNames struct{}

func (staffNames) DisplayName(_ context.Context, id string) (string, error) {
	return "Staff " + id, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
