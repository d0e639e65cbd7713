package privacy

import (
	"sort"
	"strings"

	"haven/internal/access"
	"haven/internal/audit"
)

// Words. A person never reads an audit action's code ("record.read"): patients read what was
// done to them, the privacy officer what each person did, both in plain words. Every action in
// the policy (access.Rules) and every sign-in and account event identity records has words in
// both maps; a test keeps it so. An action with no words still never shows its code.

// forPatient says what an action did, as the patient whose record it touched reads it after
// the person's name ("Dr Hopper opened your record", "You signed in", "Haven read your …").
var forPatient = map[string]string{
	"record.read":          "opened your record",
	"note.write":           "wrote a note in your record",
	"patient.search":       "found you in a search",
	"careteam.list-own":    "saw you in their list of patients",
	"patient.register":     "registered you",
	"patient.sign-in-link": "made you a link to choose a new password",
	"patient.contact-read": "read your e-mail address to send you a message or check a new password against it",
	"patient.identify":     "saw your name while reviewing who opened records",
	"patient.search-index": "prepared your record to be found by name, phone or birth date",
	"careteam.assign":      "added a clinician to your care team",
	"careteam.remove":      "took a clinician out of your care team",
	"accounts.manage":      "listed accounts",
	"account.invite":       "invited a staff member",
	"account.disable":      "disabled an account",
	"account.role-change":  "changed a staff member's role",
	"account.reset-issue":  "made a link to choose a new password",
	"audit.checkpoint":     "sealed the access log",
	"accesslog.read":       "read your access log",
	"accesslog.report":     "reported an access",
	"audit.review":         "reviewed the access log",
	"audit.export":         "downloaded the access log",

	"record.contact-update": "changed your phone number or e-mail address",

	"availability.set":          "set a clinician's hours",
	"slots.read":                "looked at free appointment times",
	"appointment.book":          "booked you an appointment",
	"appointment.reschedule":    "moved your appointment",
	"appointment.cancel":        "cancelled your appointment",
	"appointment.no-show":       "noted that you did not come to your appointment",
	"appointment.list":          "saw your appointment in the schedule",
	"appointment.reminder":      "sent you an appointment reminder",
	"calendar.feed":             "changed a private calendar link",
	"calendar.feed-read":        "read a private calendar",
	"patient.demographics-read": "read your name, birth date and contact details",
	"consent.accept":            "accepted the video visit consent",
	"consent.read":              "checked which video visit consent you accepted",
	"visit.read":                "opened your visit",
	"visit.check-in":            "checked in for your visit",
	"intake.write":              "answered the questions before your visit",
	"intake.read":               "read your answers before your visit",
	"waitingroom.read":          "saw you in the waiting room",
	"visit.admit":               "let you in and started your visit",
	"visit.end":                 "ended your visit",
	"queue.join":                "asked to see the next available clinician",
	"queue.leave":               "stopped waiting for the next available clinician",
	"queue.read":                "saw you waiting for the next available clinician",
	"queue.take":                "took you from the queue and started a visit",
	"guest.allow":               "agreed that a guest may join your visit",
	"guest.invite":              "invited a guest to your visit",
	"visit.guest-join":          "joined your visit as a guest",

	"condition.write":       "recorded a health problem in your record",
	"allergy.write":         "recorded an allergy in your record",
	"medication.write":      "recorded a medicine you take",
	"observation.write":     "recorded a measurement such as blood pressure",
	"immunization.write":    "recorded a vaccination",
	"document.upload":       "added a document to your record",
	"document.read":         "looked at your documents",
	"note.sign":             "signed a visit note",
	"note.addendum":         "added to a signed note",
	"prescription.write":    "wrote a prescription for you",
	"prescription.sign":     "signed your prescription",
	"prescription.cancel":   "cancelled your prescription",
	"prescription.read":     "read your prescriptions",
	"prescription.verify":   "answered a pharmacy checking your prescription",
	"prescription.dispense": "recorded that a pharmacy gave out your prescription",
	"prescriber.key-add":    "recorded a prescriber's signing key",
	"charge.write":          "recorded a charge for your visit",
	"charge.read":           "looked at your charges",
	"charge.export":         "sent your charges to the billing system",
	"record.export":         "downloaded your whole record",
	"erasure.request":       "asked for your record to be erased",
	"erasure.approve":       "erased your record: it can no longer be opened",
	"erasure.refuse":        "refused the request to erase your record",
	"legalhold.set":         "placed or lifted a legal hold on your records",
	"retention.purge":       "deleted a record kept longer than the law requires",
	"compliance.read":       "read the compliance report",
	"integration.manage":    "changed a connected system's registration",
	"device.register":       "added a device's keys for end-to-end encrypted visits and messages",
	"device.remove":         "removed a device's keys",
	"device.key-add":        "published a device's public keys in the key directory",
	"device.key-remove":     "withdrew a device's public keys from the key directory",
	"consult.join":          "joined the video call of a visit",
	"message.send":          "sent an encrypted message",
	"message.read":          "fetched encrypted messages",

	"account.password-change":      "changed the password",
	"account.email-change":         "changed the e-mail address",
	"account.email-change-request": "asked to change the e-mail address",
	"account.activate":             "activated the account",
	"account.invite-link":          "sent an invitation link",
	"account.reset-link":           "sent a link to choose a new password",
	"account.invite-resend":        "sent an invitation again",
	"account.enable":               "enabled a staff account again",
	"account.reset-request":        "asked for a link to choose a new password",
	"account.reset":                "chose a new password with a link",
	"account.lock":                 "had the account locked after too many failed attempts",
	"auth.login":                   "signed in",
	"auth.logout":                  "signed out",
	"auth.oidc":                    "signed in with the organisation's account",
	"auth.second-factor":           "confirmed a sign-in with a second factor",
	"auth.step-up":                 "confirmed a sensitive step with a second factor",
	"auth.totp-enrol":              "set up an authenticator app",
	"auth.totp-remove":             "removed an authenticator app",
	"auth.passkey-register":        "added a passkey",
	"auth.passkey-rename":          "renamed a passkey",
	"auth.passkey-remove":          "removed a passkey",
	"auth.recovery-codes":          "made new recovery codes",
	"auth.new-device":              "signed in on a new device",
	"session.revoke":               "signed out another device",
	"setup.complete":               "set up Haven",
}

// forOfficer says what an action did, as the privacy officer reads it after the person's name.
var forOfficer = map[string]string{
	"record.read":          "opened a patient's record",
	"note.write":           "wrote a clinical note",
	"patient.search":       "searched for patients",
	"careteam.list-own":    "listed their patients",
	"patient.register":     "registered a patient",
	"patient.sign-in-link": "made a patient a link to choose a new password",
	"patient.contact-read": "read a patient's e-mail address to send a notice or check a password",
	"patient.identify":     "saw a patient's name while reviewing the trail",
	"patient.search-index": "prepared records to be found by name, phone or birth date",
	"careteam.assign":      "put a clinician in a patient's care team",
	"careteam.remove":      "took a clinician out of a patient's care team",
	"accounts.manage":      "listed staff accounts and patient identifiers",
	"account.invite":       "invited a staff member",
	"account.disable":      "disabled a staff account",
	"account.role-change":  "changed a staff member's role",
	"account.reset-issue":  "made a staff member a link to choose a new password",
	"audit.checkpoint":     "signed an audit checkpoint",
	"accesslog.read":       "read a patient's access log",
	"accesslog.report":     "reported an access they do not recognise",
	"audit.review":         "reviewed the audit trail",
	"audit.export":         "downloaded the audit trail",

	"record.contact-update": "changed their phone number or e-mail address",

	"availability.set":          "set a clinician's hours",
	"slots.read":                "looked at a clinician's free times",
	"appointment.book":          "booked an appointment",
	"appointment.reschedule":    "moved an appointment",
	"appointment.cancel":        "cancelled an appointment",
	"appointment.no-show":       "marked a patient as not having come",
	"appointment.list":          "read a schedule",
	"appointment.reminder":      "sent an appointment reminder",
	"calendar.feed":             "made or revoked a private calendar link",
	"calendar.feed-read":        "read a private calendar",
	"patient.demographics-read": "read a patient's name, birth date and contact details",
	"consent.accept":            "accepted the video visit consent",
	"consent.read":              "checked a patient's video visit consent",
	"visit.read":                "opened a visit",
	"visit.check-in":            "checked in for a visit",
	"intake.write":              "answered the questions before a visit",
	"intake.read":               "read a patient's answers before a visit",
	"waitingroom.read":          "looked at the waiting room",
	"visit.admit":               "let a patient in and started a visit",
	"visit.end":                 "ended a visit",
	"queue.join":                "asked to see the next available clinician",
	"queue.leave":               "stopped waiting for the next available clinician",
	"queue.read":                "looked at the queue for the next available clinician",
	"queue.take":                "took a patient from the queue and started a visit",
	"guest.allow":               "agreed that a guest may join their visit",
	"guest.invite":              "invited a guest to a visit",
	"visit.guest-join":          "joined a visit as a guest",

	"condition.write":       "recorded or changed a patient's health problem",
	"allergy.write":         "recorded or changed a patient's allergy",
	"medication.write":      "recorded or changed a medicine a patient takes",
	"observation.write":     "recorded a measurement (a vital sign)",
	"immunization.write":    "recorded a vaccination",
	"document.upload":       "added a document to a patient's record",
	"document.read":         "looked at a patient's documents",
	"note.sign":             "signed a visit note",
	"note.addendum":         "added an addendum to a signed note",
	"prescription.write":    "wrote or changed an unsigned prescription",
	"prescription.sign":     "signed a prescription",
	"prescription.cancel":   "cancelled a prescription",
	"prescription.read":     "read a patient's prescriptions",
	"prescription.verify":   "answered a pharmacy checking a prescription",
	"prescription.dispense": "recorded a prescription as dispensed by a pharmacy",
	"prescriber.key-add":    "recorded a prescriber's public signing key",
	"charge.write":          "recorded or changed a visit's charge",
	"charge.read":           "read charges",
	"charge.export":         "exported charges for the billing system",
	"record.export":         "downloaded their whole record",
	"erasure.request":       "asked for a patient's record to be erased",
	"erasure.approve":       "approved an erasure: the patient's keyset was destroyed",
	"erasure.refuse":        "refused a request to erase a patient's record",
	"legalhold.set":         "placed or lifted a legal hold on a patient's records",
	"retention.purge":       "deleted a record past its retention period",
	"compliance.read":       "read the compliance report",
	"integration.manage":    "changed a connected system's registration",
	"device.register":       "added a device's keys for end-to-end encrypted visits and messages",
	"device.remove":         "removed a device's keys",
	"device.key-add":        "published a device's public keys in the key directory",
	"device.key-remove":     "withdrew a device's public keys from the key directory",
	"consult.join":          "joined the video call of a visit",
	"message.send":          "sent an encrypted message",
	"message.read":          "fetched encrypted messages",
	"integration.token":     "asked for an access token for the FHIR API",
	"integration.access":    "used an access token for the FHIR API",

	"account.password-change":      "changed their password",
	"account.email-change":         "changed their e-mail address",
	"account.email-change-request": "asked to change their e-mail address",
	"account.activate":             "activated their account",
	"account.invite-link":          "sent an invitation link",
	"account.reset-link":           "sent a link to choose a new password",
	"account.invite-resend":        "sent an invitation again",
	"account.enable":               "enabled a staff account again",
	"account.reset-request":        "asked for a link to choose a new password",
	"account.reset":                "chose a new password with a link",
	"account.lock":                 "was locked out after too many failed attempts",
	"auth.login":                   "signed in",
	"auth.logout":                  "signed out",
	"auth.oidc":                    "signed in with the organisation's account",
	"auth.second-factor":           "confirmed a sign-in with a second factor",
	"auth.step-up":                 "confirmed a sensitive step with a second factor",
	"auth.totp-enrol":              "set up an authenticator app",
	"auth.totp-remove":             "removed their authenticator app",
	"auth.passkey-register":        "added a passkey",
	"auth.passkey-rename":          "renamed a passkey",
	"auth.passkey-remove":          "removed a passkey",
	"auth.recovery-codes":          "made new recovery codes",
	"auth.new-device":              "signed in on a new device",
	"session.revoke":               "signed out another of their devices",
	"setup.complete":               "set up Haven",
}

// Fallbacks for an action with no words yet: vague, never the code.
const (
	somethingForPatient = "used your record"
	somethingForOfficer = "did something Haven has no words for yet"
)

// explain says why an access was allowed or refused, as the patient reads it.
var explain = map[string]string{
	access.ReasonAssigned:         "in your care team",
	access.ReasonSelf:             "you",
	access.ReasonWorkforce:        "as a member of staff",
	access.ReasonNotInCareTeam:    "refused: not in your care team",
	access.ReasonNotOwnRecord:     "refused",
	access.ReasonRoleForbidden:    "refused",
	access.ReasonPrivacyOfficer:   "privacy review",
	access.ReasonAdministrative:   "administration",
	access.ReasonSystem:           "automatic",
	"registration-check":          "registering someone with your name and birth date, told only that your record exists",
	"step-up-required":            "refused: a second factor was needed first",
	"break-glass":                 "emergency access",
	access.ReasonAppointment:      "you have an appointment with them",
	access.ReasonFrontDesk:        "the front desk, for your appointments",
	access.ReasonGuest:            "invited to your visit",
	access.ReasonNotGuest:         "refused",
	"guests-not-agreed":           "refused: you had not agreed to guests in that visit",
	"not-own-visit":               "refused: not their visit (another clinician's)",
	"clinician-not-bookable":      "refused: not a clinician you can book online",
	"not-own-schedule":            "refused: not in their own schedule",
	"cancel-cutoff":               "refused: too close to the appointment to do online",
	access.ReasonBilling:          "billing, for your charges",
	access.ReasonVerificationCode: "a pharmacy with the code printed on your prescription",
	access.ReasonScope:            "a connected system your clinic registered, within what it may read",
	access.ReasonOutsideScope:     "refused: a connected system asked for more than it may read",
}

// reasons says why, as the privacy officer reads it: policy reasons and the reasons identity
// records for sign-in and account events. A reason not listed is read with its dashes as
// spaces ("no-browser-binding" → "no browser binding").
var reasons = map[string]string{
	access.ReasonAssigned:         "in the patient's care team",
	access.ReasonSelf:             "the patient's own record",
	access.ReasonWorkforce:        "allowed to staff in this role",
	access.ReasonNotInCareTeam:    "not in the patient's care team",
	access.ReasonNotOwnRecord:     "not the patient's own record",
	access.ReasonRoleForbidden:    "their role may not do this",
	access.ReasonPrivacyOfficer:   "privacy review",
	access.ReasonAdministrative:   "administration",
	access.ReasonSystem:           "Haven itself",
	"registration-check":          "registering someone with the same name and birth date, told only that the record exists",
	"duplicate-check":             "checking whether the patient was already registered",
	access.ReasonOwnAccount:       "their own account",
	access.ReasonNotOwnAccount:    "not their own account",
	access.ReasonLookupFailed:     "the care team could not be checked, so it was refused",
	access.ReasonUnknownSubject:   "not a known person",
	access.ReasonUnknownAction:    "not an action the policy knows",
	"step-up-required":            "a fresh second factor was needed first",
	"break-glass":                 "emergency access",
	access.ReasonAppointment:      "the patient has an appointment with them",
	access.ReasonFrontDesk:        "the front desk (names, contact details and the schedule)",
	access.ReasonGuest:            "a guest invited to this visit",
	access.ReasonNotGuest:         "not a guest of this visit",
	"guests-not-agreed":           "the patient had not agreed to guests in that visit",
	"not-own-visit":               "another clinician's visit: only its own clinician lets the patient in and ends it",
	"clinician-not-bookable":      "the clinician neither cares for the patient nor takes new patients online",
	"not-own-schedule":            "not an appointment in the clinician's own schedule",
	"cancel-cutoff":               "too close to the appointment for the patient to change it online",
	access.ReasonBilling:          "billing (charges and the details a claim needs)",
	access.ReasonVerificationCode: "a pharmacy holding the prescription's printed code",
	access.ReasonScope:            "a connected system within its registered scopes",
	access.ReasonOutsideScope:     "a connected system asked outside its registered scopes",

	"password-ok":                      "right password",
	"wrong-password":                   "wrong password",
	"unknown-account":                  "no account with that e-mail address or phone number",
	"malformed-input":                  "the form was not filled in properly",
	"throttled":                        "too many attempts",
	"setup-pending":                    "Haven is not set up yet",
	"account-not-active":               "the account is not active",
	"totp-ok":                          "right code from the authenticator app",
	"invalid-or-replayed-code":         "wrong or reused code",
	"passkey":                          "with a passkey",
	"recovery-code":                    "with a recovery code",
	"address-in-use":                   "the address belongs to another account",
	"phone-in-use":                     "another account signs in with that phone number",
	"link-emailed":                     "the link was e-mailed",
	"link-shown-to-issuer":             "the link was shown to hand over",
	"mail-failed-link-shown-to-issuer": "the e-mail failed, so the link was shown to hand over",
	"idp-mfa":                          "the organisation's sign-in confirmed a second factor",
	"idp-first-factor":                 "Haven's own second factor followed",
	"idp-error":                        "the organisation's sign-in answered with an error",
	"security-notice":                  "to send a security notice",
	"password-check":                   "to check that a new password does not contain it",
	"notice-queued":                    "a notice was e-mailed",
	"no-mail":                          "no e-mail is set up, so no notice was sent",
	"regenerated":                      "the old codes stopped working",
	"applied":                          "applied at once",
	"confirmed":                        "confirmed from the new address",
	"owner":                            "by the account's owner",
	"emailed":                          "the link was e-mailed",

	// What a patient's change of contact details changed (record.contact-update).
	"unchanged":                 "the same details, perhaps written differently",
	"phone":                     "the phone number",
	"email":                     "the e-mail address",
	"phone-and-email":           "the phone number and the e-mail address",
	"email-requested":           "a new e-mail address, once confirmed from it",
	"phone-and-email-requested": "the phone number, and a new e-mail address once confirmed from it",
	"email-confirmed":           "the new e-mail address, confirmed from it",

	// Reminders and the calendar feed (package visits).
	"appointment-reminder": "to send an appointment reminder",
	"day-before":           "a day before the appointment",
	"hour-before":          "an hour before the appointment",
	"feed-made":            "a new link; any earlier one stopped working",
	"feed-revoked":         "the link stopped working",
	"calendar-link":        "through their private calendar link",

	// Connected systems (package smart): the registry and the token endpoint.
	"client-registered":     "a connected system was registered",
	"client-updated":        "a connected system's registration was changed",
	"client-enabled":        "the connected system was enabled again",
	"client-disabled":       "the connected system is disabled",
	"clients-listed":        "the list of connected systems",
	"token-issued":          "a signed request from its registered key: a token was issued",
	"bad-token-request":     "the token request was not a client-credentials request with a signed assertion",
	"malformed-assertion":   "the signed assertion could not be read",
	"algorithm-not-allowed": "the assertion was signed with an algorithm Haven does not accept",
	"unknown-client":        "no connected system is registered under that identifier",
	"keys-unavailable":      "the system's public keys could not be fetched",
	"bad-signature":         "the signature did not match the system's registered keys",
	"wrong-audience":        "the assertion was meant for another server",
	"assertion-expired":     "the assertion had expired",
	"assertion-too-long":    "the assertion was valid for longer than five minutes",
	"no-jti":                "the assertion had no unique identifier",
	"jti-replayed":          "the same signed assertion was used again (a replay)",
	"agreement-lapsed":      "its business associate agreement was not in force",
	"scope-malformed":       "it asked for scopes Haven does not grant",
	"scope-not-registered":  "it asked for more than it was registered for",
}

// outcomes says how an entry ended, as the privacy officer reads it.
var outcomes = map[string]string{
	audit.Allow:   "allowed",
	audit.Deny:    "refused",
	audit.Success: "done",
	audit.Failure: "failed",
}

// roles names each role as people say it.
var roles = map[string]string{
	string(access.Patient):     "patient",
	string(access.Clinician):   "clinician",
	string(access.Auditor):     "privacy officer",
	string(access.Admin):       "administrator",
	string(access.FrontDesk):   "front desk",
	string(access.Guest):       "visit guest",
	string(access.Nurse):       "nurse",
	string(access.Billing):     "billing",
	string(access.System):      "Haven",
	string(access.Integration): "connected system",
}

// RoleWords names a role as people say it ("auditor" is a "privacy officer").
func RoleWords(role string) string {
	if w, ok := roles[role]; ok {
		return w
	}
	return strings.ReplaceAll(role, "-", " ")
}

// ActionWords says what an action did, as the privacy officer reads it after a name.
func ActionWords(action string) string {
	if w, ok := forOfficer[action]; ok {
		return w
	}
	return somethingForOfficer
}

// OutcomeWords says how an entry ended, in a word.
func OutcomeWords(outcome string) string {
	if w, ok := outcomes[outcome]; ok {
		return w
	}
	return strings.ReplaceAll(outcome, "-", " ")
}

// ReasonWords says why, as the privacy officer reads it. A reason id may carry a detail after
// a space (a role change's "clinician->auditor", Haven's occasion for reading an address).
func ReasonWords(reason string) string {
	id, detail, _ := strings.Cut(reason, " ")
	w := phrase(id)
	if detail == "" {
		return w
	}
	if from, to, ok := strings.Cut(detail, "->"); ok {
		return "from " + RoleWords(from) + " to " + RoleWords(to)
	}
	d := phrase(detail)
	if w == "" {
		return d
	}
	return w + ": " + d
}

// phrase words one reason id.
func phrase(id string) string {
	if w, ok := reasons[id]; ok {
		return w
	}
	if words, ok := forOfficer[id]; ok {
		return words
	}
	return strings.ReplaceAll(id, "-", " ")
}

// Choice is one option of a filter: the value a form sends and the words a person reads.
type Choice struct {
	Value string
	Words string
}

// ActionChoices lists every action with words, by its words, for the privacy officer's filter.
func ActionChoices() []Choice {
	out := make([]Choice, 0, len(forOfficer))
	for a, w := range forOfficer {
		out = append(out, Choice{Value: a, Words: w})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Words < out[j].Words })
	return out
}

// Vocabulary lists every action code Haven has words for: what a page must never show.
func Vocabulary() []string {
	out := make([]string, 0, len(forOfficer))
	for a := range forOfficer {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// InWords replaces every action code in s with its words, for text built elsewhere with codes
// in it (an alert's detail: "record.read at 21:04"). Longer codes go first, so that one code
// that starts another ("account.email-change") never replaces part of it.
func InWords(s string) string {
	codes := Vocabulary()
	sort.SliceStable(codes, func(i, j int) bool { return len(codes[i]) > len(codes[j]) })
	for _, a := range codes {
		if strings.Contains(s, a) {
			s = strings.ReplaceAll(s, a, ActionWords(a))
		}
	}
	return s
}
