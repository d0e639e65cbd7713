package access

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Grant is how a role is allowed an action.
type Grant string

// Grants.
const (
	// Always: the role may, whatever the resource (the domain filters what it shows).
	Always Grant = "always"
	// OwnRecord: a patient, on their own record only.
	OwnRecord Grant = "own-record"
	// CareTeam: a clinician or a nurse, on patients whose care team they are in.
	CareTeam Grant = "care-team"
	// OwnAccount: anyone, on their own account only (the resource's ID is their account).
	OwnAccount Grant = "own-account"
	// VisitGuest: a guest, on the one visit they were invited to (the resource's ID is the visit).
	VisitGuest Grant = "visit-guest"
	// Scoped: a connected system, on the resource types and interactions its token's SMART
	// scopes grant (principal.Scopes.Allow with FHIRType of the resource).
	Scoped Grant = "smart-scope"
)

// Rule is one row of the policy: who may do an action, and how it is guarded. A role not in
// Grants is refused with role-forbidden.
type Rule struct {
	Action  Action
	Summary string // what the action is, in words a privacy officer reads
	Grants  map[Role]Grant
	// PHI: the action reads or writes protected health information.
	PHI bool
	// StepUp: the act needs a second factor within the last five minutes.
	StepUp bool
	// Writes: the action changes state; its audit entry is durable before the act runs.
	Writes bool
}

// Rules is the whole policy, one row per action. It is data: the decision point interprets
// it, docs/security.md prints it (WritePolicyTable), and the authorization matrix tests it.
func Rules() []Rule {
	return []Rule{
		{Action: ReadRecord, Summary: "open a patient's record (demographics, notes and the structured record: problems, allergies, medications, observations, immunizations)", PHI: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, Nurse: CareTeam, Integration: Scoped}},
		{Action: WriteNote, Summary: "write a clinical note", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam}},
		{Action: SearchPatients, Summary: "search patients (a clinician sees the patients in their care, the front desk every patient's demographics)", PHI: true,
			Grants: map[Role]Grant{Clinician: Always, Nurse: Always, FrontDesk: Always, Integration: Scoped}},
		{Action: ListCareTeam, Summary: "list one's own patients", PHI: true,
			Grants: map[Role]Grant{Clinician: Always, Nurse: Always}},
		{Action: RegisterPatient, Summary: "register a patient", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: Always, FrontDesk: Always}},
		{Action: SendSignInLink, Summary: "issue a patient a sign-in (password-reset) link", PHI: true, Writes: true, StepUp: true,
			Grants: map[Role]Grant{Clinician: CareTeam}},
		{Action: UpdateContact, Summary: "change one's own phone number and e-mail address (a new address is confirmed from it when Haven sends e-mail)", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord}},
		{Action: ReachPatient, Summary: "Haven reads a patient's e-mail address to send a notice or check a password", PHI: true,
			Grants: map[Role]Grant{System: Always}},
		{Action: AssignPatient, Summary: "put a clinician in a patient's care team (identifiers only)", Writes: true,
			Grants: map[Role]Grant{Admin: Always}},
		{Action: UnassignPatient, Summary: "take a clinician out of a patient's care team (identifiers only)", Writes: true,
			Grants: map[Role]Grant{Admin: Always}},
		{Action: ManageAccounts, Summary: "list staff accounts and patient identifiers (no PHI)",
			Grants: map[Role]Grant{Admin: Always}},
		{Action: InviteStaff, Summary: "invite a staff member with a role", Writes: true, StepUp: true,
			Grants: map[Role]Grant{Admin: Always}},
		{Action: DisableStaff, Summary: "disable a staff account", Writes: true, StepUp: true,
			Grants: map[Role]Grant{Admin: Always}},
		{Action: EnableStaff, Summary: "re-enable a disabled staff account", Writes: true, StepUp: true,
			Grants: map[Role]Grant{Admin: Always}},
		{Action: ResendInvite, Summary: "send a staff member's invitation again (the earlier link stops working)", Writes: true, StepUp: true,
			Grants: map[Role]Grant{Admin: Always}},
		{Action: ChangeRole, Summary: "change a staff member's role", Writes: true, StepUp: true,
			Grants: map[Role]Grant{Admin: Always}},
		{Action: IssueStaffReset, Summary: "issue a staff member a password-reset link", Writes: true, StepUp: true,
			Grants: map[Role]Grant{Admin: Always}},
		{Action: PublishAudit, Summary: "sign and publish an audit checkpoint now", Writes: true,
			Grants: map[Role]Grant{Admin: Always}},
		{Action: ReadAccessLog, Summary: "read who opened a patient's record", PHI: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Auditor: Always}},
		{Action: ReportAccess, Summary: "report an access the patient does not recognise", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord}},
		{Action: IdentifyPatient, Summary: "see a patient's name beside the audit trail, or find a patient's entries by name", PHI: true,
			Grants: map[Role]Grant{Auditor: Always}},
		{Action: ReviewAudit, Summary: "search the audit trail, see alerts, handle reports",
			Grants: map[Role]Grant{Auditor: Always, Integration: Scoped}},
		{Action: ExportAudit, Summary: "download the audit trail", StepUp: true,
			Grants: map[Role]Grant{Auditor: Always}},

		// Scheduling. Availability and slots carry no PHI; an appointment names a patient.
		{Action: SetAvailability, Summary: "set a clinician's weekly hours, exceptions and slot length", Writes: true,
			Grants: map[Role]Grant{Clinician: OwnAccount, FrontDesk: Always}},
		{Action: ReadSlots, Summary: "see a clinician's free slots",
			Grants: map[Role]Grant{Patient: Always, Clinician: Always, FrontDesk: Always, Integration: Scoped}},
		{Action: BookAppointment, Summary: "book an appointment for a patient", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, FrontDesk: Always, Integration: Scoped}},
		{Action: RescheduleAppointment, Summary: "move an appointment to another time", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, FrontDesk: Always, Integration: Scoped}},
		{Action: CancelAppointment, Summary: "cancel an appointment", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, FrontDesk: Always, Integration: Scoped}},
		{Action: MarkNoShow, Summary: "record that a patient did not come to an appointment", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam, FrontDesk: Always}},
		{Action: ListAppointments, Summary: "list one's own appointments, or the clinic's schedule (a clinician sees their own)", PHI: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: Always, FrontDesk: Always, Integration: Scoped}},
		{Action: ManageCalendarFeed, Summary: "make or revoke one's private calendar feed (times only, no patient names)", Writes: true,
			Grants: map[Role]Grant{Clinician: OwnAccount}},
		{Action: ReadDemographics, Summary: "read a patient's name, birth date and contact details (no clinical content)", PHI: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, Nurse: CareTeam, FrontDesk: Always, Billing: Always, Integration: Scoped}},

		// Visits.
		{Action: AcceptConsent, Summary: "accept the telehealth consent", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord}},
		{Action: ReadConsent, Summary: "see which telehealth consent a patient accepted, and when", PHI: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, Integration: Scoped}},
		{Action: ReadVisit, Summary: "open a visit's page (state, times, who takes part)", PHI: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, Guest: VisitGuest, Integration: Scoped}},
		{Action: CheckIn, Summary: "check in for a visit and wait", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord}},
		{Action: WriteIntake, Summary: "answer the questions before a visit", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord}},
		{Action: ReadIntake, Summary: "read a patient's answers before a visit", PHI: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam}},
		{Action: ReadWaitingRoom, Summary: "see who is waiting (a clinician sees their own visits)", PHI: true,
			Grants: map[Role]Grant{Clinician: Always, FrontDesk: Always}},
		{Action: AdmitPatient, Summary: "let a waiting patient in and start the visit", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam}},
		{Action: EndVisit, Summary: "end a visit and write its summary", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam}},
		{Action: JoinQueue, Summary: "ask to see the next available clinician", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord}},
		{Action: LeaveQueue, Summary: "stop waiting for the next available clinician", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord}},
		{Action: ReadQueue, Summary: "see who is waiting for the next available clinician", PHI: true,
			Grants: map[Role]Grant{Clinician: Always, FrontDesk: Always}},
		{Action: TakeFromQueue, Summary: "take the next patient waiting for any clinician, starting a visit", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: Always}},
		{Action: AllowGuests, Summary: "agree that the clinician may invite an interpreter or a family member to a visit", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord}},
		{Action: InviteGuest, Summary: "invite an interpreter or a family member to one visit", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam}},

		// The structured record, documents and visit notes.
		{Action: WriteCondition, Summary: "record, update or resolve a patient's problem (condition)", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam, Integration: Scoped}},
		{Action: WriteAllergy, Summary: "record, update or remove an allergy or intolerance", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam, Nurse: CareTeam, Integration: Scoped}},
		{Action: WriteMedication, Summary: "record, update or stop a medication the patient takes", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam, Nurse: CareTeam}},
		{Action: WriteObservation, Summary: "record a vital sign or measurement (a patient's own are marked patient-reported)", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, Nurse: CareTeam, Integration: Scoped}},
		{Action: WriteImmunization, Summary: "record an immunization", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam, Nurse: CareTeam}},
		{Action: UploadDocument, Summary: "add a document or an image (lab report, letter, photo) to a record", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, Nurse: CareTeam}},
		{Action: ReadDocument, Summary: "list and download a record's documents and images", PHI: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, Nurse: CareTeam, Integration: Scoped}},
		{Action: SignNote, Summary: "sign a visit note (from then on it is never edited, only amended)", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam}},
		{Action: AddAddendum, Summary: "amend a signed note by an addendum that keeps the original", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam}},

		// Prescriptions.
		{Action: WritePrescription, Summary: "write or change an unsigned prescription, or renew one as a new draft", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam}},
		{Action: SignPrescription, Summary: "sign a prescription with the prescriber's own passkey or key", PHI: true, Writes: true, StepUp: true,
			Grants: map[Role]Grant{Clinician: CareTeam}},
		{Action: CancelPrescription, Summary: "cancel a prescription", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam}},
		{Action: ReadPrescription, Summary: "read a patient's prescriptions", PHI: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, Nurse: CareTeam, Integration: Scoped}},
		{Action: VerifyPrescription, Summary: "Haven answers a pharmacy holding a prescription's printed code: valid, cancelled or dispensed, and whether the signature verifies", PHI: true,
			Grants: map[Role]Grant{System: Always}},
		{Action: DispensePrescription, Summary: "Haven marks a prescription dispensed for a pharmacy holding its printed code (once)", PHI: true, Writes: true,
			Grants: map[Role]Grant{System: Always}},

		// Billing: charges and the demographics a claim needs, never clinical content.
		{Action: WriteCharge, Summary: "record or change a visit's charge (procedure and diagnosis codes, amount, status)", PHI: true, Writes: true,
			Grants: map[Role]Grant{Clinician: CareTeam, Billing: Always}},
		{Action: ReadCharges, Summary: "read charges (a patient their own)", PHI: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, Billing: Always, Integration: Scoped}},
		{Action: ExportCharge, Summary: "export charges for the billing system (CSV, FHIR Claim)", PHI: true, StepUp: true,
			Grants: map[Role]Grant{Billing: Always}},

		// Governance.
		{Action: ExportRecord, Summary: "download one's whole record (a readable document and machine-readable JSON)", PHI: true, StepUp: true,
			Grants: map[Role]Grant{Patient: OwnRecord}},
		{Action: RequestErasure, Summary: "ask that a patient's record be erased (the privacy officer decides)", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Auditor: Always}},
		{Action: ApproveErasure, Summary: "approve an erasure request: the patient's keyset is destroyed and their records can no longer be opened anywhere", PHI: true, Writes: true, StepUp: true,
			Grants: map[Role]Grant{Auditor: Always}},
		{Action: RefuseErasure, Summary: "refuse an erasure request: nothing is destroyed, and the patient can read the decision in their access log", PHI: true, Writes: true,
			Grants: map[Role]Grant{Auditor: Always}},
		{Action: SetLegalHold, Summary: "place or lift a legal hold on a patient's records (no purge or erasure while it holds)", PHI: true, Writes: true, StepUp: true,
			Grants: map[Role]Grant{Auditor: Always}},
		{Action: PurgeExpired, Summary: "Haven deletes a record whose retention period has passed", PHI: true, Writes: true,
			Grants: map[Role]Grant{System: Always}},
		// Consultations: the server relays ciphertext; who meets whom, when and how much is what
		// these acts disclose (PHI as metadata), never a message's or a call's content.
		{Action: RegisterDevice, Summary: "add one's own device's public keys to the key directory (each addition is a leaf of the audit log)", Writes: true,
			Grants: allPeople(Always)},
		{Action: RemoveDevice, Summary: "take one of one's own devices out of the key directory", Writes: true,
			Grants: allPeople(Always)},
		{Action: JoinConsult, Summary: "join a visit's video call: its signalling, its participants' device keys and a relay credential (the media is end to end encrypted)", PHI: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, Guest: VisitGuest}},
		{Action: SendMessage, Summary: "send an end-to-end encrypted message or attachment (a visit's chat, or a patient's thread with their care team)", PHI: true, Writes: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, Nurse: CareTeam, Guest: VisitGuest}},
		{Action: ReadMessages, Summary: "fetch a thread's end-to-end encrypted messages and attachments, and its members' device keys", PHI: true,
			Grants: map[Role]Grant{Patient: OwnRecord, Clinician: CareTeam, Nurse: CareTeam, Guest: VisitGuest}},
		{Action: ManageIntegrations, Summary: "register, change or revoke a connected system (SMART Backend Services: its keys, scopes and business associate agreement; no PHI)", Writes: true, StepUp: true,
			Grants: map[Role]Grant{Admin: Always}},
		{Action: ReadCompliance, Summary: "read the compliance report (live checks of this installation, no PHI)",
			Grants: map[Role]Grant{Admin: Always, Auditor: Always}},

		{Action: ChangePassword, Summary: "change one's own password", Writes: true, StepUp: true, Grants: everyoneOwnAccount()},
		{Action: ChangeEmail, Summary: "move one's own staff account to another e-mail address", Writes: true, StepUp: true,
			Grants: map[Role]Grant{Clinician: OwnAccount, Auditor: OwnAccount, Admin: OwnAccount, FrontDesk: OwnAccount, Nurse: OwnAccount, Billing: OwnAccount}},
		{Action: NewRecoveryCodes, Summary: "replace one's own recovery codes", Writes: true, StepUp: true, Grants: everyoneOwnAccount()},
		{Action: RemovePasskey, Summary: "remove one of one's own passkeys", Writes: true, StepUp: true, Grants: everyoneOwnAccount()},
		{Action: RemoveTOTP, Summary: "remove one's own authenticator app", Writes: true, StepUp: true, Grants: everyoneOwnAccount()},
	}
}

// allPeople grants every person's role (visit guests included) the grant g.
func allPeople(g Grant) map[Role]Grant {
	return map[Role]Grant{Patient: g, Clinician: g, Auditor: g, Admin: g, FrontDesk: g, Nurse: g, Billing: g, Guest: g}
}

// everyoneOwnAccount grants every person an act on their own account.
func everyoneOwnAccount() map[Role]Grant {
	return map[Role]Grant{Patient: OwnAccount, Clinician: OwnAccount, Auditor: OwnAccount, Admin: OwnAccount, FrontDesk: OwnAccount, Nurse: OwnAccount, Billing: OwnAccount}
}

// compile indexes rules by action, refusing a duplicate, an unknown role or grant, and a
// grant that cannot apply to its role.
func compile(rules []Rule) (map[Action]Rule, error) {
	out := make(map[Action]Rule, len(rules))
	for _, r := range rules {
		if r.Action == "" {
			return nil, fmt.Errorf("access: a rule has no action")
		}
		if _, dup := out[r.Action]; dup {
			return nil, fmt.Errorf("access: two rules for %s", r.Action)
		}
		for role, g := range r.Grants {
			if !role.Valid() && role != System && role != Integration {
				return nil, fmt.Errorf("access: %s: unknown role %q", r.Action, role)
			}
			switch {
			case g == Always:
			case g == OwnRecord && role == Patient:
			case g == CareTeam && (role == Clinician || role == Nurse):
			case g == OwnAccount && role != System && role != Guest:
			case g == VisitGuest && role == Guest:
			case g == Scoped && role == Integration:
			default:
				return nil, fmt.Errorf("access: %s: grant %q cannot apply to %s", r.Action, g, role)
			}
		}
		if r.Grants[Admin] != "" && r.PHI {
			return nil, fmt.Errorf("access: %s: administrators see no PHI", r.Action)
		}
		out[r.Action] = r
	}
	return out, nil
}

// Rule returns the rule for a, if there is one.
func (p *Policy) Rule(a Action) (Rule, bool) {
	r, ok := p.rules[a]
	return r, ok
}

// Known reports whether a is an action the policy has a rule for.
func (p *Policy) Known(a Action) bool {
	_, ok := p.rules[a]
	return ok
}

// WritePolicyTable prints the rules as a Markdown table, for docs/security.md.
func WritePolicyTable(w io.Writer) error {
	roles := []Role{Patient, Clinician, Nurse, FrontDesk, Billing, Guest, Auditor, Admin, System, Integration}
	var b strings.Builder
	b.WriteString("| action | what it is | patient | clinician | nurse | front desk | billing | visit guest | privacy officer | administrator | Haven itself | connected system | step-up | PHI |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	rules := Rules()
	sort.SliceStable(rules, func(i, j int) bool { return rules[i].PHI && !rules[j].PHI })
	for _, r := range rules {
		fmt.Fprintf(&b, "| `%s` | %s |", r.Action, r.Summary)
		for _, role := range roles {
			g := r.Grants[role]
			if g == "" {
				g = "—"
			}
			fmt.Fprintf(&b, " %s |", g)
		}
		fmt.Fprintf(&b, " %s | %s |\n", yesNo(r.StepUp), yesNo(r.PHI))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
