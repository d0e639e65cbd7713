// Package access is Haven's single policy decision point: every request that touches PHI asks
// Decide, and the decision (allow or deny, with its reason) is what the audit log records.
//
// It decides; it does not enforce, read records, or write the audit log. Callers (the domain
// services in clinical) do those, always in the order decide → audit → release. A lookup
// failure is a deny: access fails closed.
package access

import (
	"context"

	"haven/internal/principal"
)

// Role and Subject are the principal package's, so transports can name them without importing
// the policy.
type (
	Role    = principal.Role
	Subject = principal.Subject
)

// Roles.
const (
	Admin     = principal.Admin
	Clinician = principal.Clinician
	Patient   = principal.Patient
	Auditor   = principal.Auditor
)

// Action is what the subject wants to do.
type Action string

const (
	ReadRecord      Action = "record.read"          // demographics and notes of one patient
	WriteNote       Action = "note.write"           // add a clinical note
	SearchPatients  Action = "patient.search"       // find patients by blind index
	RegisterPatient Action = "patient.register"     // create a patient record
	AssignPatient   Action = "careteam.assign"      // put a clinician in a patient's care team (no PHI)
	ListCareTeam    Action = "careteam.list-own"    // list the patients in one's own care
	ManageAccounts  Action = "accounts.manage"      // invite staff, list accounts and patient identifiers (no PHI)
	ReadAccessLog   Action = "accesslog.read"       // who opened a patient's record, when and why
	ReportAccess    Action = "accesslog.report"     // a patient flags an access they do not recognise
	ReviewAudit     Action = "audit.review"         // search the audit trail, handle reports
	SendSignInLink  Action = "patient.sign-in-link" // send a patient a password-reset link
)

// PHI reports whether the action reads or writes protected health information.
func (a Action) PHI() bool { return a != AssignPatient && a != ManageAccounts }

// Resource is what the action is on.
type Resource struct {
	Type      string // "Patient", "Note", …
	PatientID string // the patient the resource belongs to, if any
}

// Decision is the answer, with a short machine-readable reason the audit entry keeps.
type Decision struct {
	Allow  bool
	Reason string
}

// Reasons.
const (
	ReasonAssigned       = "care-team"
	ReasonSelf           = "own-record"
	ReasonNotInCareTeam  = "not-in-care-team"
	ReasonNotOwnRecord   = "not-own-record"
	ReasonRoleForbidden  = "role-forbidden"
	ReasonAdministrative = "administrative"
	ReasonWorkforce      = "workforce-role"
	ReasonLookupFailed   = "relationship-lookup-failed"
	ReasonUnknownSubject = "unknown-subject"
	ReasonPrivacyOfficer = "privacy-officer"
)

// Relationships answers care-team questions from the store.
type Relationships interface {
	InCareTeam(ctx context.Context, clinicianID, patientID string) (bool, error)
}

// Policy is the decision point.
type Policy struct {
	rel Relationships
}

// New returns the policy, reading care-team relationships through rel.
func New(rel Relationships) *Policy { return &Policy{rel: rel} }

// Decide answers whether s may do a to r.
func (p *Policy) Decide(ctx context.Context, s Subject, a Action, r Resource) Decision {
	if s.AccountID == "" || !s.Role.Valid() {
		return deny(ReasonUnknownSubject)
	}
	switch s.Role {
	case Admin:
		// Administrators manage accounts and care-team assignments; they never see PHI.
		if a == AssignPatient || a == ManageAccounts {
			return allow(ReasonAdministrative)
		}
		return deny(ReasonRoleForbidden)
	case Auditor:
		// The privacy officer sees the trail (identifiers, names of staff, actions) and no
		// clinical content.
		if a == ReadAccessLog || a == ReviewAudit {
			return allow(ReasonPrivacyOfficer)
		}
		return deny(ReasonRoleForbidden)
	case Patient:
		if a != ReadRecord && a != ReadAccessLog && a != ReportAccess {
			return deny(ReasonRoleForbidden)
		}
		if s.PatientID != "" && s.PatientID == r.PatientID {
			return allow(ReasonSelf)
		}
		return deny(ReasonNotOwnRecord)
	case Clinician:
		switch a {
		case RegisterPatient, SearchPatients, ListCareTeam:
			// Search results and lists are filtered to the care team by the caller, each hit
			// decided again as ReadRecord.
			return allow(ReasonWorkforce)
		case ReadRecord, WriteNote, SendSignInLink:
			ok, err := p.rel.InCareTeam(ctx, s.AccountID, r.PatientID)
			if err != nil {
				return deny(ReasonLookupFailed)
			}
			if ok {
				return allow(ReasonAssigned)
			}
			return deny(ReasonNotInCareTeam)
		}
		return deny(ReasonRoleForbidden)
	}
	return deny(ReasonRoleForbidden)
}

func allow(reason string) Decision { return Decision{Allow: true, Reason: reason} }
func deny(reason string) Decision  { return Decision{Allow: false, Reason: reason} }

// PurposeOfUse is the HL7 v3 purpose of use recorded with an access by s: treatment for
// clinicians, the patient's own request, compliance for the privacy officer, operations for
// administrators.
func PurposeOfUse(s Subject) string {
	switch s.Role {
	case Clinician:
		return "TREAT"
	case Patient:
		return "PATRQT"
	case Auditor:
		return "HCOMPL"
	case Admin:
		return "HOPERAT"
	}
	return ""
}
