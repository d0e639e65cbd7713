// Package privacy owns what patients and the privacy officer see of the audit trail: a
// patient's access log (who opened their record, when, what and why), reports of accesses a
// patient does not recognise, and the auditor's search and review queue.
//
// Every read and act passes the one door (package guard), as clinical's do: decide → audit →
// release, failing closed. Auditors see identifiers, staff names, actions and outcomes, never
// clinical content; reading an access log is itself an audit entry.
package privacy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/keys"
	"haven/internal/monitor"
	"haven/internal/store"
)

// Errors, safe to show.
var (
	ErrForbidden = guard.ErrForbidden
	ErrNotFound  = fault.New(fault.NotFound, "no such entry")
	// ErrNoPatient refuses a request that names no patient where one is required: an empty
	// patient identifier never widens to every patient.
	ErrNoPatient = fault.InvalidField("patientId", "name the patient")
)

// Names gives staff members' display names (package identity).
type Names interface {
	DisplayName(ctx context.Context, accountID string) (string, error)
}

// Patients gives the privacy officer patients' names, each one shown recorded in that
// patient's access log, and finds patients by name through the blind index (package clinical).
type Patients interface {
	PatientNames(ctx context.Context, by access.Subject, ids []string, o audit.Origin) (map[string]string, error)
	PatientsNamed(ctx context.Context, by access.Subject, name string, o audit.Origin) ([]string, error)
}

// Sealer seals and opens a field under a patient's own key (package keys): the privacy
// officer's note to a patient is about their record.
type Sealer interface {
	Seal(ctx context.Context, patientID string, loc keys.Location, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, patientID string, loc keys.Location, ciphertext []byte) ([]byte, error)
}

// Person is a staff member as the privacy officer picks them in a filter.
type Person struct {
	AccountID string
	Name      string
	Role      string // the role's code; RoleWords says it
}

// Deps are what the service asks other components for.
type Deps struct {
	Names    Names
	Patients Patients
	Notes    Sealer
	// Staff lists every staff member (package identity); it decides nothing.
	Staff func(ctx context.Context) ([]Person, error)
	// PatientAccount names the account of a patient's record (package identity), so that the
	// log says "You" for that account's acts alone, never for another patient's attempt.
	PatientAccount func(ctx context.Context, patientID string) (string, error)
	// GuestNames names the visit guests among accountIDs that were invited to one of the
	// patient's visits (package visits, which opens their names under the patient's key), as
	// the patient reads them: "Rosa Díaz (interpreter, invited to your visit)". A guest account
	// has no name in the staff directory.
	GuestNames func(ctx context.Context, patientID string, accountIDs []string) (map[string]string, error)
}

// Service is the privacy component.
type Service struct {
	db          *store.DB
	door        *guard.Door
	deps        Deps
	checkpoints *audit.Checkpointer
	now         func() time.Time
}

// New builds the service.
func New(db *store.DB, door *guard.Door, d Deps, cp *audit.Checkpointer, now func() time.Time) *Service {
	return &Service{db: db, door: door, deps: d, checkpoints: cp, now: now}
}

// act names an act on a patient's trail for the door.
func act(by access.Subject, a access.Action, patientID, resourceID string, o audit.Origin) guard.Act {
	return guard.Act{By: by, Action: a, Resource: access.Resource{Type: "AuditEvent", ID: resourceID, PatientID: patientID}, Origin: o}
}

// decide passes an act through the door with nothing to run: the read that follows is
// released by the caller only because this returned nil, after the entry is durable.
func (s *Service) decide(ctx context.Context, by access.Subject, a access.Action, patientID, resourceID string, o audit.Origin) error {
	return guard.Run(ctx, s.door, act(by, a, patientID, resourceID, o), func(context.Context) error { return nil })
}

// unknownStaff names an account that has no name (or is no staff member's).
const unknownStaff = "Unknown staff member"

// unknownGuest names a visit guest whose name cannot be told; aGuest is how the privacy
// officer reads every guest (their name is the patient's PHI, not the officer's to open).
const (
	unknownGuest = "A guest invited to your visit"
	aGuest       = "A visit guest"
)

// staffName names a staff member, remembering names in names for one answer.
func (s *Service) staffName(ctx context.Context, names map[string]string, accountID string) string {
	if n, ok := names[accountID]; ok {
		return n
	}
	n, err := s.deps.Names.DisplayName(ctx, accountID)
	if err != nil || strings.TrimSpace(n) == "" {
		n = unknownStaff
	}
	names[accountID] = n
	return n
}

// blank reports whether an identifier names nothing.
func blank(id string) bool { return strings.TrimSpace(id) == "" }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("privacy: %s: %w", op, err)
}

// Alerts lists recent security alerts for the privacy officer.
func (s *Service) Alerts(ctx context.Context, by access.Subject, o audit.Origin) ([]monitor.Alert, error) {
	if err := s.decide(ctx, by, access.ReviewAudit, "", "alerts", o); err != nil {
		return nil, err
	}
	return monitor.Recent(ctx, s.db, 100)
}

// Flag marks a patient's record (a colleague, a public figure) so that every staff access to
// it raises an alert. A blank patientID is ErrNoPatient.
func (s *Service) Flag(ctx context.Context, by access.Subject, patientID, kind string, o audit.Origin) error {
	if blank(patientID) {
		return ErrNoPatient
	}
	if err := s.decide(ctx, by, access.ReviewAudit, patientID, "flag", o); err != nil {
		return err
	}
	return monitor.Flag(ctx, s.db, patientID, kind, by.AccountID, s.now())
}
