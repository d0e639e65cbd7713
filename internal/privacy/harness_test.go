package privacy_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/keys"
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
	deps := privacy.Deps{Names: staffNames{}, Patients: &patientNames{}, Notes: sealer{}, Staff: staffList}
	return &harness{t: t, db: db, log: log, svc: privacy.New(db, guard.New(policy, log, c.Now), deps, nil, c.Now), clock: c}
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

func (careTeams) CareRelation(context.Context, string, string) (string, error) {
	return access.ReasonAssigned, nil
}

type staffNames struct{}

func (staffNames) DisplayName(_ context.Context, id string) (string, error) {
	return "Staff " + id, nil
}

// patientNames names every patient "Patient <id>" and finds them by that name; it counts the
// names it gave (the records service records each as patient.identify; see clinical's tests).
type patientNames struct {
	mu    sync.Mutex
	shown int
}

func (p *patientNames) PatientNames(_ context.Context, by access.Subject, ids []string, _ audit.Origin) (map[string]string, error) {
	if by.Role != access.Auditor {
		return nil, privacy.ErrForbidden
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for _, id := range ids {
		out[id] = "Patient " + id
	}
	p.shown += len(out)
	return out, nil
}

func (p *patientNames) PatientsNamed(_ context.Context, by access.Subject, name string, _ audit.Origin) ([]string, error) {
	if by.Role != access.Auditor {
		return nil, privacy.ErrForbidden
	}
	if id, ok := strings.CutPrefix(name, "Patient "); ok {
		return []string{id}, nil
	}
	return []string{}, nil
}

// sealer "seals" by binding the plaintext to the patient and the location, so that a note
// opened under another patient or at another row fails as a real one would.
type sealer struct{}

func (sealer) Seal(_ context.Context, patientID string, loc keys.Location, pt []byte) ([]byte, error) {
	return []byte(patientID + "|" + loc.Table + "|" + loc.Row + "|" + loc.Field + "|" + string(pt)), nil
}

func (sealer) Open(_ context.Context, patientID string, loc keys.Location, ct []byte) ([]byte, error) {
	prefix := patientID + "|" + loc.Table + "|" + loc.Row + "|" + loc.Field + "|"
	pt, ok := strings.CutPrefix(string(ct), prefix)
	if !ok {
		return nil, errors.New("sealed elsewhere")
	}
	return []byte(pt), nil
}

func staffList(context.Context) ([]privacy.Person, error) {
	return []privacy.Person{{AccountID: "acct-clinician", Name: "Staff acct-clinician", Role: "clinician"},
		{AccountID: "acct-admin", Name: "Staff acct-admin", Role: "admin"}}, nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
