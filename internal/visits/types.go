package visits

import "time"

// Consent is the telehealth consent text of one version. SHA256 is the hex digest of Text, the
// exact words shown; the record of an acceptance keeps version and digest.
type Consent struct {
	Version string `json:"version"`
	Text    string `json:"text"`
	SHA256  string `json:"sha256"`
}

// ConsentStatus is what a patient accepted. Current is true when the accepted version is the
// one in force; a visit cannot start otherwise.
type ConsentStatus struct {
	Accepted   bool      `json:"accepted"`
	Version    string    `json:"version,omitempty"`
	SHA256     string    `json:"sha256,omitempty"`
	AcceptedAt time.Time `json:"acceptedAt,omitzero"`
	Current    bool      `json:"current"`
	// Text is the version the patient accepted, word for word, so they can read it again.
	Text string `json:"text,omitempty"`
}

// Intake is the patient's answers before a visit, sealed under their key.
type Intake struct {
	Reason      string `json:"reason"`
	Symptoms    string `json:"symptoms,omitempty"`
	Medications string `json:"medications,omitempty"`
	Questions   string `json:"questions,omitempty"`
}

// Participant is someone in a visit: the patient, the clinician, or a guest.
type Participant struct {
	Role string `json:"role"` // "patient", "clinician", "guest"
	Name string `json:"name"`
	// Relation is a guest's ("interpreter", "family").
	Relation string `json:"relation,omitempty"`
}

// Visit is an appointment seen from its visit page.
type Visit struct {
	Appointment
	// Opens is when check-in opens (OpensBefore the start).
	Opens time.Time `json:"opens"`
	// Place is the patient's place among those waiting for the same clinician (1 = next),
	// while they wait.
	Place int `json:"place,omitempty"`
	// ClinicianStatus is "with-another-patient", "online", "not-yet-online" or "in-this-visit".
	ClinicianStatus string        `json:"clinicianStatus,omitempty"`
	Participants    []Participant `json:"participants,omitempty"`
	ConsentCurrent  bool          `json:"consentCurrent"`
	IntakeDone      bool          `json:"intakeDone"`
	GuestsAllowed   bool          `json:"guestsAllowed"`
	CheckedInAt     time.Time     `json:"checkedInAt,omitzero"`
	AdmittedAt      time.Time     `json:"admittedAt,omitzero"`
	EndedAt         time.Time     `json:"endedAt,omitzero"`
	// Summary is the visit summary note, once ended (the patient reads it).
	Summary string `json:"summary,omitempty"`
	// FollowUpID is the follow-up appointment booked at the end, if any.
	FollowUpID string `json:"followUpId,omitempty"`
	// Receipt says, in plain words, what Haven keeps about this visit (once ended).
	Receipt []string `json:"receipt,omitempty"`
}

// Waiting is one patient in a waiting room or in the on-demand queue.
type Waiting struct {
	AppointmentID string    `json:"appointmentId,omitempty"`
	QueueID       string    `json:"queueId,omitempty"`
	PatientID     string    `json:"patientId"`
	PatientName   string    `json:"patientName"`
	ClinicianID   string    `json:"clinicianId,omitempty"`
	Start         time.Time `json:"start,omitzero"`
	Since         time.Time `json:"since"`
	State         string    `json:"state"`
	// Intake is shown to the clinician of the visit (never to the front desk).
	Intake *Intake `json:"intake,omitempty"`
}

// Ending is how a clinician ends a visit: the summary note, and an optional follow-up slot.
type Ending struct {
	Summary  string    `json:"summary"`
	FollowUp time.Time `json:"followUp,omitzero"`
	// The visit note's other sections, optional: the summary is its plan. Sections left out
	// keep what the clinician's draft holds. Category marks the note sensitive (mental-health,
	// substance-use, sexual-health).
	Subjective string `json:"subjective,omitempty"`
	Objective  string `json:"objective,omitempty"`
	Assessment string `json:"assessment,omitempty"`
	Category   string `json:"category,omitempty"`
}

// QueuePlace is a patient's place in the on-demand queue.
type QueuePlace struct {
	QueueID string    `json:"queueId"`
	Place   int       `json:"place"`
	Since   time.Time `json:"since"`
	// AppointmentID is set once a clinician has taken the patient: their visit.
	AppointmentID string `json:"appointmentId,omitempty"`
}

// GuestInvite names the guest a clinician invites to one visit.
type GuestInvite struct {
	Name     string `json:"name"`
	Relation string `json:"relation"` // "interpreter" or "family"
}

// GuestLink is the single-use link for a guest, valid until the visit ends.
type GuestLink struct {
	GuestID   string    `json:"guestId"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
}
