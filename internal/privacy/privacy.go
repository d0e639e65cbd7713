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
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/guard"
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

// Names gives staff members' display names.
type Names interface {
	DisplayName(ctx context.Context, accountID string) (string, error)
}

// Service is the privacy component.
type Service struct {
	db          *store.DB
	door        *guard.Door
	names       Names
	checkpoints *audit.Checkpointer
	now         func() time.Time
}

// New builds the service.
func New(db *store.DB, door *guard.Door, n Names, cp *audit.Checkpointer, now func() time.Time) *Service {
	return &Service{db: db, door: door, names: n, checkpoints: cp, now: now}
}

// AccessEvent is one line of a patient's access log.
type AccessEvent struct {
	Seq        int64     `json:"seq"`
	Time       time.Time `json:"time"`
	Who        string    `json:"who"`  // a staff member's name, or "You"
	Role       string    `json:"role"` // clinician, auditor, …
	What       string    `json:"what"` // in plain words
	Outcome    string    `json:"outcome"`
	Why        string    `json:"why"` // the reason the decision recorded
	You        bool      `json:"you"`
	BreakGlass bool      `json:"breakGlass"`
	// System marks Haven's own reads (a notice to the patient's address): shown, not reportable.
	System   bool `json:"system"`
	Reported bool `json:"reported"`
}

// describe says what an audited action did, in plain words.
var describe = map[string]string{
	"record.read":          "opened your record",
	"note.write":           "wrote a note in your record",
	"patient.search":       "found you in a search",
	"careteam.list-own":    "saw you in their list of patients",
	"patient.register":     "registered you",
	"careteam.assign":      "added a clinician to your care team",
	"accesslog.read":       "read your access log",
	"accesslog.report":     "reported an access",
	"patient.contact-read": "read your e-mail address to send you a message or check a new password against it",
}

var explain = map[string]string{
	access.ReasonAssigned:       "in your care team",
	access.ReasonSelf:           "you",
	access.ReasonWorkforce:      "staff",
	access.ReasonNotInCareTeam:  "refused: not in your care team",
	access.ReasonNotOwnRecord:   "refused",
	access.ReasonRoleForbidden:  "refused",
	access.ReasonPrivacyOfficer: "privacy review",
	access.ReasonAdministrative: "administration",
	access.ReasonSystem:         "automatic",
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

// AccessLog returns who opened the patient's record, newest first (the latest 200 events).
// The read itself is audited before the log is returned. A blank patientID is ErrNoPatient: to
// the audit search it would mean every patient.
func (s *Service) AccessLog(ctx context.Context, by access.Subject, patientID string, o audit.Origin) ([]AccessEvent, error) {
	if blank(patientID) {
		return nil, ErrNoPatient
	}
	return guard.Do(ctx, s.door, act(by, access.ReadAccessLog, patientID, "", o), func(ctx context.Context) ([]AccessEvent, error) {
		return s.accessLog(ctx, patientID)
	})
}

// ReasonNoOwnRecord is recorded when someone with no patient record asks for their own access
// log.
const ReasonNoOwnRecord = "no-own-record"

// MyAccessLog is AccessLog for the caller's own record. A caller with no record (staff) is
// refused, and the refusal recorded, like any other.
func (s *Service) MyAccessLog(ctx context.Context, by access.Subject, o audit.Origin) ([]AccessEvent, error) {
	if blank(by.PatientID) {
		return nil, s.door.Refuse(ctx, act(by, access.ReadAccessLog, "", "", o), ReasonNoOwnRecord)
	}
	return s.AccessLog(ctx, by, by.PatientID, o)
}

func (s *Service) accessLog(ctx context.Context, patientID string) ([]AccessEvent, error) {
	entries, err := audit.Search(ctx, s.db, audit.Filter{PatientID: patientID, Limit: 200})
	if err != nil {
		return nil, wrap("access log", err)
	}
	reported, err := s.reportedSeqs(ctx, patientID)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	events := []AccessEvent{}
	for _, e := range entries {
		you := e.ActorRole == string(access.Patient)
		if you && e.Action == string(access.ReadAccessLog) {
			continue // the patient's own look at this page is noise to them
		}
		ev := AccessEvent{Seq: e.Seq, Time: e.Time, Role: e.ActorRole, What: describe[e.Action], Outcome: e.Outcome,
			Why: explain[e.Reason], You: you, BreakGlass: e.Reason == "break-glass", Reported: reported[e.Seq]}
		if ev.What == "" {
			ev.What = e.Action
		}
		if ev.Why == "" {
			ev.Why = e.Reason
		}
		if why, _, ok := strings.Cut(e.Reason, " "); ok && explain[why] != "" {
			ev.Why = explain[why] // a reason id with a detail after it
		}
		if ev.System = e.ActorRole == string(access.System); ev.System {
			ev.Who = "Haven"
		} else if you {
			ev.Who = "You"
		} else {
			if _, ok := names[e.ActorID]; !ok {
				n, err := s.names.DisplayName(ctx, e.ActorID)
				if err != nil {
					n = "Unknown staff member"
				}
				names[e.ActorID] = n
			}
			ev.Who = names[e.ActorID]
		}
		events = append(events, ev)
	}
	return events, nil
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
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
