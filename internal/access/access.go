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
	FrontDesk = principal.FrontDesk
	Guest     = principal.Guest
	Nurse     = principal.Nurse
	Billing   = principal.Billing
	// Integration is a connected system (SMART Backend Services): its token's scopes decide.
	Integration = principal.Integration
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

	// Scheduling: availability, slots and appointments (package visits).
	SetAvailability       Action = "availability.set"          // set a clinician's weekly hours and exceptions (no PHI)
	ReadSlots             Action = "slots.read"                // see a clinician's free slots (no PHI)
	BookAppointment       Action = "appointment.book"          // book a slot for a patient
	RescheduleAppointment Action = "appointment.reschedule"    // move a booking to another slot
	CancelAppointment     Action = "appointment.cancel"        // cancel a booking
	MarkNoShow            Action = "appointment.no-show"       // record that the patient did not come
	ListAppointments      Action = "appointment.list"          // one's own appointments, or the schedule
	ManageCalendarFeed    Action = "calendar.feed"             // make or revoke one's private calendar feed
	ReadDemographics      Action = "patient.demographics-read" // name, birth date and contact details, no clinical content

	// Visits: consent, check-in, intake, the waiting room, the on-demand queue and guests.
	AcceptConsent   Action = "consent.accept"   // accept the telehealth consent text
	ReadConsent     Action = "consent.read"     // which consent version a patient accepted, and when
	ReadVisit       Action = "visit.read"       // a visit's page: state, times, who takes part
	CheckIn         Action = "visit.check-in"   // the patient says they are here and waits
	WriteIntake     Action = "intake.write"     // the patient's answers before the visit
	ReadIntake      Action = "intake.read"      // read those answers
	ReadWaitingRoom Action = "waitingroom.read" // who is waiting, for whom
	AdmitPatient    Action = "visit.admit"      // let the patient in: the visit starts
	EndVisit        Action = "visit.end"        // end the visit (and write its summary)
	JoinQueue       Action = "queue.join"       // ask to see the next available clinician
	LeaveQueue      Action = "queue.leave"      // stop waiting in that queue
	ReadQueue       Action = "queue.read"       // who is waiting in the on-demand queue
	TakeFromQueue   Action = "queue.take"       // a clinician on duty takes the next patient
	AllowGuests     Action = "guest.allow"      // the patient agrees that guests may join their visit
	InviteGuest     Action = "guest.invite"     // invite an interpreter or a family member to one visit

	// The structured record (package clinical): each item sealed under the patient's key.
	WriteCondition    Action = "condition.write"    // record, update or resolve a problem
	WriteAllergy      Action = "allergy.write"      // record, update or remove an allergy or intolerance
	WriteMedication   Action = "medication.write"   // record, update or stop a medication the patient takes
	WriteObservation  Action = "observation.write"  // record a vital sign or a measurement (a patient's own is patient-reported)
	WriteImmunization Action = "immunization.write" // record an immunization
	UploadDocument    Action = "document.upload"    // add a document or an image to the record
	ReadDocument      Action = "document.read"      // list and download a record's documents
	SignNote          Action = "note.sign"          // sign a visit note: from then on it is never edited
	AddAddendum       Action = "note.addendum"      // amend a signed note by an addendum that keeps the original

	// Prescriptions (package clinical): written, reviewed, signed by the prescriber, verified by
	// a pharmacy with the printed code.
	WritePrescription    Action = "prescription.write"    // write or change an unsigned prescription, or renew one as a new draft
	SignPrescription     Action = "prescription.sign"     // sign with the prescriber's passkey or key
	CancelPrescription   Action = "prescription.cancel"   // cancel a signed prescription
	ReadPrescription     Action = "prescription.read"     // read a patient's prescriptions
	VerifyPrescription   Action = "prescription.verify"   // a pharmacy checks a prescription with its printed code
	DispensePrescription Action = "prescription.dispense" // a pharmacy marks it dispensed, once

	// Billing (package billing): charges per visit, minimum necessary.
	WriteCharge  Action = "charge.write"  // record or change a visit's charge
	ReadCharges  Action = "charge.read"   // read charges (a patient their own)
	ExportCharge Action = "charge.export" // export charges for the billing system (CSV, FHIR Claim)

	// Governance (package governance): the patient's own export, erasure by crypto-shredding,
	// legal holds, retention purges, the compliance report.
	ExportRecord   Action = "record.export"   // a patient downloads their whole record
	RequestErasure Action = "erasure.request" // ask that a patient's record be erased
	ApproveErasure Action = "erasure.approve" // the privacy officer approves: the patient's keyset is destroyed
	RefuseErasure  Action = "erasure.refuse"  // the privacy officer refuses: nothing is destroyed
	SetLegalHold   Action = "legalhold.set"   // place or lift a legal hold on a patient's records
	PurgeExpired   Action = "retention.purge" // Haven deletes a record whose retention period has passed
	ReadCompliance Action = "compliance.read" // the compliance report (no PHI)

	// Consultations (package consult): device keys, the visit's call and chat, secure messaging.
	RegisterDevice Action = "device.register" // add one's own device's public keys to the key directory
	RemoveDevice   Action = "device.remove"   // take one's own device out of the key directory
	JoinConsult    Action = "consult.join"    // join a visit's call: its signalling, its participants' keys, a TURN credential
	SendMessage    Action = "message.send"    // send an end-to-end encrypted message or attachment in a visit's chat or a patient's thread
	ReadMessages   Action = "message.read"    // fetch a thread's encrypted messages and attachments, and its members' keys

	// Integrations (package smart): systems connected by SMART Backend Services.
	ManageIntegrations Action = "integration.manage" // register, change or revoke a connected system (no PHI)

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
	// ReasonAppointment: a clinician's care relationship from a booking, from the moment it is
	// made until the configured number of days after the visit, unless it was cancelled.
	ReasonAppointment = "appointment"
	// ReasonFrontDesk: the front desk's grant (names, contact details and the schedule).
	ReasonFrontDesk = "front-desk"
	// ReasonGuest: a guest invited to this visit; ReasonNotGuest: any other visit or resource.
	ReasonGuest    = "visit-guest"
	ReasonNotGuest = "not-visit-guest"
	// ReasonBilling: the billing role's grant (charges and the demographics a claim needs).
	ReasonBilling = "billing"
	// ReasonVerificationCode: Haven itself, for a pharmacy holding a prescription's printed
	// identifier and one-time code (the public verification endpoint).
	ReasonVerificationCode = "verification-code"
	// ReasonScope: a connected system whose token's SMART scope grants the interaction on the
	// resource type; ReasonOutsideScope: one whose scopes do not.
	ReasonScope        = "smart-scope"
	ReasonOutsideScope = "outside-scope"
)

// Relationships answers, from the store, whether a clinician has a care relationship with a
// patient, and which: the reason names it (ReasonAssigned for the care team, ReasonAppointment
// for a booking's window). "" means none holds.
type Relationships interface {
	CareRelation(ctx context.Context, clinicianID, patientID string) (reason string, err error)
}

// CareRelations is what Relationships may also answer: the relationship of one clinician with
// many patients, in one lookup. DecideMany uses it when the store offers it.
type CareRelations interface {
	// CareRelationMany maps each patientID with a relationship to its reason; the others are absent.
	CareRelationMany(ctx context.Context, clinicianID string, patientIDs []string) (map[string]string, error)
}

// Guests answers whether a guest account was invited to a visit.
type Guests interface {
	GuestOf(ctx context.Context, guestAccountID, visitID string) (bool, error)
}

// Relations is several relationship sources asked in order: the first that holds gives the
// reason. It answers the many-patient question in one lookup per source that can.
type Relations []Relationships

// CareRelation implements Relationships.
func (rs Relations) CareRelation(ctx context.Context, clinicianID, patientID string) (string, error) {
	for _, r := range rs {
		reason, err := r.CareRelation(ctx, clinicianID, patientID)
		if err != nil || reason != "" {
			return reason, err
		}
	}
	return "", nil
}

// GuestOf implements Guests: a guest of the visit by any source that knows guests.
func (rs Relations) GuestOf(ctx context.Context, guestAccountID, visitID string) (bool, error) {
	for _, r := range rs {
		if g, ok := r.(Guests); ok {
			if in, err := g.GuestOf(ctx, guestAccountID, visitID); err != nil || in {
				return in, err
			}
		}
	}
	return false, nil
}

// CareRelationMany implements CareRelations.
func (rs Relations) CareRelationMany(ctx context.Context, clinicianID string, patientIDs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, r := range rs {
		var left []string
		for _, id := range patientIDs {
			if out[id] == "" {
				left = append(left, id)
			}
		}
		if len(left) == 0 {
			break
		}
		if many, ok := r.(CareRelations); ok {
			got, err := many.CareRelationMany(ctx, clinicianID, left)
			if err != nil {
				return nil, err
			}
			for id, reason := range got {
				out[id] = reason
			}
			continue
		}
		for _, id := range left {
			reason, err := r.CareRelation(ctx, clinicianID, id)
			if err != nil {
				return nil, err
			}
			if reason != "" {
				out[id] = reason
			}
		}
	}
	return out, nil
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
// reads every relationship in one lookup when the store offers it (CareRelations). A failed
// lookup denies every resource it was for.
func (p *Policy) DecideMany(ctx context.Context, s Subject, a Action, rs []Resource) []Decision {
	out := make([]Decision, len(rs))
	d, grant, ok := p.grant(s, a)
	many, batched := p.rel.(CareRelations)
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
	var in map[string]string
	var err error
	if len(ids) > 0 {
		in, err = many.CareRelationMany(ctx, s.AccountID, ids)
	}
	for i, r := range rs {
		out[i] = d
		switch {
		case r.PatientID == "":
			out[i].Reason = ReasonNotInCareTeam
		case err != nil:
			out[i].Reason = ReasonLookupFailed
		case in[r.PatientID] != "":
			out[i].Allow, out[i].Reason = true, in[r.PatientID]
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
	if s.AccountID == "" || !(s.Role.Valid() || s.Role == System || s.Role == Integration) {
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
		reason, err := p.rel.CareRelation(ctx, s.AccountID, r.PatientID)
		if err != nil {
			return false, ReasonLookupFailed
		}
		if reason != "" {
			return true, reason
		}
		return false, ReasonNotInCareTeam
	case Scoped:
		if s.Scopes.Allow(FHIRType(r.Type), s.Interaction) {
			return true, ReasonScope
		}
		return false, ReasonOutsideScope
	case VisitGuest:
		g, ok := p.rel.(Guests)
		if !ok || r.ID == "" {
			return false, ReasonNotGuest
		}
		in, err := g.GuestOf(ctx, s.AccountID, r.ID)
		if err != nil {
			return false, ReasonLookupFailed
		}
		if in {
			return true, ReasonGuest
		}
		return false, ReasonNotGuest
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
	FrontDesk: ReasonFrontDesk,
	Billing:   ReasonBilling,
	Nurse:     ReasonWorkforce,
	Guest:     ReasonGuest,
}

// FHIRType is the FHIR R4 resource type of a resource the domain names by type: most domain
// types are FHIR's already ("Patient", "Observation", "Appointment"); the rest are mapped here.
// A type with no FHIR counterpart (a visit note's "Note") maps to "", which no scope allows.
func FHIRType(domainType string) string {
	switch domainType {
	case "Prescription":
		return "MedicationRequest"
	case "Document":
		return "DocumentReference"
	case "Availability":
		return "Schedule"
	case "Clinician":
		return "Practitioner"
	case "Charge":
		return "Claim"
	case "Visit":
		return "Encounter"
	case "Note", "CareTeam", "Queue", "Account", "PrescriberKey":
		return ""
	}
	return domainType
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
	case Clinician, Nurse:
		return "TREAT"
	case Patient:
		return "PATRQT"
	case Auditor:
		return "HCOMPL"
	case Admin, FrontDesk:
		return "HOPERAT"
	case Guest:
		return "PATRQT"
	case Billing:
		return "HPAYMT"
	case System:
		return "PATADMIN"
	case Integration:
		if s.Purpose != "" {
			return s.Purpose
		}
		return "HOPERAT"
	}
	return ""
}
