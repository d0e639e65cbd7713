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

// Action is what the subject wants to do. Its value is what the audit entry records.
type Action string

// Actions. Every one has exactly one rule in the policy table (policy.go).
const (
	ReadRecord      Action = "record.read"          // demographics and notes of one patient
	WriteNote       Action = "note.write"           // add a clinical note
	SearchPatients  Action = "patient.search"       // find patients by blind index
	RegisterPatient Action = "patient.register"     // create a patient record
	AssignPatient   Action = "careteam.assign"      // put a clinician in a patient's care team (no PHI)
	UnassignPatient Action = "careteam.remove"      // take a clinician out of a patient's care team (no PHI)
	ListCareTeam    Action = "careteam.list-own"    // list the patients in one's own care
	ManageAccounts  Action = "accounts.manage"      // list accounts and patient identifiers (no PHI)
	InviteStaff     Action = "account.invite"       // create a staff account with a role
	DisableStaff    Action = "account.disable"      // disable a staff account, ending its sessions
	ChangeRole      Action = "account.role-change"  // give a staff member another role
	IssueStaffReset Action = "account.reset-issue"  // issue a staff member a password-reset link
	PublishAudit    Action = "audit.checkpoint"     // sign and publish an audit checkpoint now
	ReadAccessLog   Action = "accesslog.read"       // who opened a patient's record, when and why
	ReportAccess    Action = "accesslog.report"     // a patient flags an access they do not recognise
	ReviewAudit     Action = "audit.review"         // search the audit trail, handle reports
	ExportAudit     Action = "audit.export"         // download the audit trail
	SendSignInLink  Action = "patient.sign-in-link" // send a patient a password-reset link
	// ReachPatient is Haven itself opening the e-mail address on a patient's record to send
	// them a notice or a link, or to check a new password against it.
	ReachPatient Action = "patient.contact-read"
	// IdentifyPatient is the privacy officer reading a patient's name beside the trail: their
	// work is to identify who was accessed, and each name they see is an entry in that
	// patient's access log.
	IdentifyPatient Action = "patient.identify"
	// UpdateContact is a patient changing the phone number and e-mail address on their own
	// record, which are also how they sign in and are reached.
	UpdateContact Action = "record.contact-update"

	// Undoing and repeating administrative acts.
	EnableStaff  Action = "account.enable"        // let a disabled staff account sign in again
	ResendInvite Action = "account.invite-resend" // re-issue a staff invitation, voiding the earlier link

	// Acts on one's own account that change how it signs in.
	ChangePassword   Action = "account.password-change"
	ChangeEmail      Action = "account.email-change"
	NewRecoveryCodes Action = "auth.recovery-codes"
	RemovePasskey    Action = "auth.passkey-remove"
	RemoveTOTP       Action = "auth.totp-remove"
)

// Resource is what the action is on.
type Resource struct {
	Type      string // "Patient", "Note", "Account", …
	ID        string // the resource's identifier, if any
	PatientID string // the patient the resource belongs to, if any
}

// Decision is the answer, with a reason id the audit entry keeps.
type Decision struct {
	Allow  bool
	Reason string
	// StepUp: allowed only after a second factor within the step-up window.
	StepUp bool
	// Writes: the action changes state, so its entry is written before the act (a read's
	// entry may commit while the read runs).
	Writes bool
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
	ReasonUnknownAction  = "unknown-action"
	ReasonPrivacyOfficer = "privacy-officer"
	ReasonSystem         = "system"
	ReasonOwnAccount     = "own-account"
	ReasonNotOwnAccount  = "not-own-account"
)

// Relationships answers care-team questions from the store.
type Relationships interface {
	InCareTeam(ctx context.Context, clinicianID, patientID string) (bool, error)
}

// CareTeams is what Relationships may also answer: which of many patients have the clinician
// in their care team, in one lookup. DecideMany uses it when the store offers it.
type CareTeams interface {
	// InCareTeamMany returns the set of patientIDs whose care team includes the clinician.
	InCareTeamMany(ctx context.Context, clinicianID string, patientIDs []string) (map[string]bool, error)
}

// Policy is the decision point.
type Policy struct {
	rel   Relationships
	rules map[Action]Rule
}

// New returns the policy over the built-in rule table, reading care-team relationships
// through rel. It panics if the table is inconsistent: that is a programming error caught by
// every test, never a runtime condition.
func New(rel Relationships) *Policy {
	rules, err := compile(Rules())
	if err != nil {
		panic(err)
	}
	return &Policy{rel: rel, rules: rules}
}

// Decide answers whether s may do a to r. Every answer carries a reason id; a lookup failure
// is a deny.
func (p *Policy) Decide(ctx context.Context, s Subject, a Action, r Resource) Decision {
	d, grant, ok := p.grant(s, a)
	if !ok {
		return d
	}
	d.Allow, d.Reason = p.check(ctx, s, grant, r)
	return d
}

// DecideMany is Decide for each of rs in turn, by the same subject for the same action, for a
// list that filters its candidates: the answers are those Decide gives, but a care-team grant
// reads every relationship in one lookup when the store offers it (CareTeams). A failed
// lookup denies every resource it was for.
func (p *Policy) DecideMany(ctx context.Context, s Subject, a Action, rs []Resource) []Decision {
	out := make([]Decision, len(rs))
	d, grant, ok := p.grant(s, a)
	many, batched := p.rel.(CareTeams)
	if !ok || grant != CareTeam || !batched {
		for i, r := range rs {
			out[i] = p.Decide(ctx, s, a, r)
		}
		return out
	}
	var ids []string
	for _, r := range rs {
		if r.PatientID != "" {
			ids = append(ids, r.PatientID)
		}
	}
	var in map[string]bool
	var err error
	if len(ids) > 0 {
		in, err = many.InCareTeamMany(ctx, s.AccountID, ids)
	}
	for i, r := range rs {
		out[i] = d
		switch {
		case r.PatientID == "":
			out[i].Reason = ReasonNotInCareTeam
		case err != nil:
			out[i].Reason = ReasonLookupFailed
		case in[r.PatientID]:
			out[i].Allow, out[i].Reason = true, ReasonAssigned
		default:
			out[i].Reason = ReasonNotInCareTeam
		}
	}
	return out
}

// grant finds the rule's grant for s's role. If there is none, ok is false and d is the
// refusal; otherwise d carries the rule's flags, to be completed by the grant's check.
func (p *Policy) grant(s Subject, a Action) (d Decision, g Grant, ok bool) {
	rule, ok := p.rules[a]
	if !ok {
		return Decision{Reason: ReasonUnknownAction}, "", false
	}
	d = Decision{StepUp: rule.StepUp, Writes: rule.Writes}
	if s.AccountID == "" || !(s.Role.Valid() || s.Role == System) {
		d.Reason = ReasonUnknownSubject
		return d, "", false
	}
	g, ok = rule.Grants[s.Role]
	if !ok {
		d.Reason = ReasonRoleForbidden
		return d, "", false
	}
	return d, g, true
}

func (p *Policy) check(ctx context.Context, s Subject, g Grant, r Resource) (bool, string) {
	switch g {
	case Always:
		return true, grantReason[s.Role]
	case OwnRecord:
		if s.PatientID != "" && s.PatientID == r.PatientID {
			return true, ReasonSelf
		}
		return false, ReasonNotOwnRecord
	case OwnAccount:
		if r.ID != "" && r.ID == s.AccountID {
			return true, ReasonOwnAccount
		}
		return false, ReasonNotOwnAccount
	case CareTeam:
		if r.PatientID == "" {
			return false, ReasonNotInCareTeam
		}
		ok, err := p.rel.InCareTeam(ctx, s.AccountID, r.PatientID)
		if err != nil {
			return false, ReasonLookupFailed
		}
		if ok {
			return true, ReasonAssigned
		}
		return false, ReasonNotInCareTeam
	}
	return false, ReasonRoleForbidden
}

// grantReason is the reason an Always grant records, by role.
var grantReason = map[Role]string{
	Admin:     ReasonAdministrative,
	Auditor:   ReasonPrivacyOfficer,
	Clinician: ReasonWorkforce,
	Patient:   ReasonSelf,
	System:    ReasonSystem,
}

// System is Haven itself acting without a person: sending a patient a notice, checking a
// password against the person's own details. Only rules that name it let it through.
const System Role = "system"

// SystemSubject is the subject of Haven's own reads.
func SystemSubject() Subject { return Subject{AccountID: "haven", Role: System} }

// PurposeOfUse is the HL7 v3 purpose of use recorded with an access by s: treatment for
// clinicians, the patient's own request, compliance for the privacy officer, operations for
// administrators, patient administration for Haven reaching a patient.
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
	case System:
		return "PATADMIN"
	}
	return ""
}
