// Package principal names who is asking and where the request came from: the two facts every
// transport hands to the domain with each call. It is the one place a transport learns about
// roles, so transports need not import the policy (access) or the log (audit).
//
// It holds no behaviour beyond naming: what a role may do is decided by access.
package principal

import "time"

// Role is what an account is for.
type Role string

// Roles.
const (
	Admin     Role = "admin"
	Clinician Role = "clinician"
	Patient   Role = "patient"
	// Auditor is the privacy officer: reads the audit trail and reviews reports, never
	// clinical content.
	Auditor Role = "auditor"
	// FrontDesk books and manages the schedule: names, contact details and appointments,
	// never notes or other clinical content (minimum necessary).
	FrontDesk Role = "frontdesk"
	// Guest is an interpreter or a family member a clinician invited to one visit by a
	// single-use link: no password, no factor, and nothing to reach but that visit.
	Guest Role = "guest"
	// Nurse records vitals, allergies, medications and immunizations and reads the record of
	// patients in their care; never signs a prescription.
	Nurse Role = "nurse"
	// Billing sees charges and the demographics a claim needs, never notes, observations or
	// documents (minimum necessary).
	Billing Role = "billing"
	// Integration is a system connected by SMART Backend Services (a lab, an EHR, a billing
	// system): no person and no account, only a registered client whose bearer token carries
	// scopes. It is not an account role (Valid is false): no one can be invited as one.
	Integration Role = "integration"
)

// Workforce reports whether r is a staff role (which must always use a second factor).
func (r Role) Workforce() bool { return r != Patient && r != Guest && r != Integration }

// Label is the role as people read it: "Clinician", "Privacy officer", "Administrator",
// "Patient". An unknown role reads as itself.
func (r Role) Label() string {
	switch r {
	case Admin:
		return "Administrator"
	case Clinician:
		return "Clinician"
	case Patient:
		return "Patient"
	case Auditor:
		return "Privacy officer"
	case FrontDesk:
		return "Front desk"
	case Guest:
		return "Visit guest"
	case Nurse:
		return "Nurse"
	case Billing:
		return "Billing"
	case Integration:
		return "Connected system"
	}
	return string(r)
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case Admin, Clinician, Patient, Auditor, FrontDesk, Guest, Nurse, Billing:
		return true
	}
	return false
}

// Staff reports whether r is a role an administrator may give a staff member (invite, change
// to): every workforce role. A guest is never invited this way.
func (r Role) Staff() bool { return r.Valid() && r.Workforce() }

// Subject is who is asking.
type Subject struct {
	AccountID string
	Role      Role
	// PatientID is the patient record a patient account belongs to; empty for the workforce.
	PatientID string
	// FactorAt is when the caller's session last passed a second factor (zero if never): the
	// door lets a step-up act through only if it is recent.
	FactorAt time.Time
	// Scopes are the SMART scopes an integration's bearer token carries (nil for people), and
	// Interaction the FHIR interaction its request performs: the policy allows an integration
	// an act only if one of its scopes grants that interaction on the act's resource type.
	Scopes      Scopes
	Interaction Interaction
	// Purpose is the HL7 purpose of use an integration was registered for (TREAT, HPAYMT,
	// HOPERAT); empty for people, whose role gives theirs.
	Purpose string
}

// Origin is where a request came from, as every audit entry records it.
type Origin struct {
	Addr      string
	RequestID string
	UserAgent string // shown in the owner's session list; not written to audit entries
}
