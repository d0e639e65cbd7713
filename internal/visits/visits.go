// Package visits owns scheduling and the visit around the video: a clinician's availability and
// the slots computed from it, appointments (booked once, whatever races for a slot), the care
// relationship a booking gives for a bounded window, reminders that carry no PHI, a private
// calendar feed, the telehealth consent, check-in, intake, the live waiting room, the
// on-demand queue and guests.
//
// Every act passes the one door (package guard), like every other domain service: the policy
// decides, the entry is written, then the act runs or the answer is released. The only PHI this
// package holds (intake answers, a guest's name) is sealed under the patient's key; an
// appointment row holds identifiers, times and a state. The video itself belongs to the
// consultation (package consult, later); a visit here is the appointment and its states.
package visits

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/keys"
	"haven/internal/mail"
	"haven/internal/store"
)

// Origin is where a request came from, for the audit log.
type Origin = audit.Origin

// Config is the clinic's scheduling policy. Zero fields take DefaultConfig's values.
type Config struct {
	// CareDays is how long after a visit the appointment relationship lasts (from booking).
	CareDays int
	// OpenBooking lets a patient book a clinician not (yet) in their care who accepts new
	// patients; otherwise a patient books only the clinicians caring for them.
	OpenBooking bool
	// CancelCutoff: a patient may not cancel or move an appointment closer to its start than
	// this (the front desk and the clinician still may).
	CancelCutoff time.Duration
	// Horizon is how far ahead a patient may book.
	Horizon time.Duration
	// OpensBefore is how long before its start a visit's page opens for check-in.
	OpensBefore time.Duration
	// BaseURL starts the links in reminders and guest invitations.
	BaseURL string
	// Zone is the clinic's time zone: a reminder tells the time in the clinician's own zone
	// (from their hours), or in this one when they have set none; UTC if nil.
	Zone *time.Location
	// GuestGrace is how long after a visit's scheduled end a guest's link and session still
	// hold, if the clinician has not ended the visit (ending it ends them at once).
	GuestGrace time.Duration
	// OnDemandLength is the scheduled length of a visit taken from the on-demand queue.
	OnDemandLength time.Duration
	// ConsentTexts adds telehealth consent versions to those shipped in the binary, or replaces
	// them (version → text); the newest version is the one in force. For a clinic's own text,
	// and for tests that publish a new version.
	ConsentTexts map[string]string
}

// DefaultConfig is a clinic's usual policy: care for 30 days after a visit, booking within the
// care team, no patient cancellation in the last 2 hours, booking up to 90 days ahead, check-in
// from 15 minutes before, guests until 30 minutes after the scheduled end, on-demand visits of
// 30 minutes.
func DefaultConfig() Config {
	return Config{CareDays: 30, CancelCutoff: 2 * time.Hour, Horizon: 90 * 24 * time.Hour, OpensBefore: 15 * time.Minute,
		GuestGrace: 30 * time.Minute, OnDemandLength: 30 * time.Minute}
}

// Cipher seals and opens the PHI this package keeps (intake answers, a guest's name) under the
// patient's key (package keys).
type Cipher interface {
	Seal(ctx context.Context, patientID string, loc keys.Location, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, patientID string, loc keys.Location, ciphertext []byte) ([]byte, error)
}

// Records is what visits needs of the patient record (package clinical).
type Records interface {
	// FinishVisitNote writes a visit's note and signs it, through the record's own guarded
	// path (note.write, then note.sign).
	FinishVisitNote(ctx context.Context, by access.Subject, patientID, visitID string, n clinical.VisitNote, o Origin) (string, error)
	// SaveVisitNote writes a visit's draft note (note.write); VisitNote reads it (record.read).
	SaveVisitNote(ctx context.Context, by access.Subject, patientID, visitID string, n clinical.VisitNote, o Origin) (clinical.Note, error)
	VisitNote(ctx context.Context, by access.Subject, patientID, visitID string, o Origin) (clinical.Note, error)
	// OpenNames opens the names of ids for a guarded list that has decided and records each
	// patient it shows; it is called only inside such a list's op.
	OpenNames(ctx context.Context, ids []string) (map[string]string, error)
	// ContactEmail reads a patient's address as Haven itself (patient.contact-read, audited).
	ContactEmail(ctx context.Context, patientID, why string, o Origin) (string, error)
	// Note reads one note of the patient's record through the record's own guarded path
	// (record.read): a visit's summary, as its patient or clinician reads it.
	Note(ctx context.Context, by access.Subject, patientID, noteID string, o Origin) (clinical.Note, error)
}

// People is what visits needs of identity: staff names, and the principal behind a guest.
type People interface {
	// DisplayNames names staff accounts by identifier.
	DisplayNames(ctx context.Context, accountIDs []string) (map[string]string, error)
	// CreateGuest creates the account a guest's session runs under (role guest, no password,
	// no factor), in the caller's transaction.
	CreateGuest(ctx context.Context, q store.Execer) (accountID string, err error)
	// StartGuestSession opens a full session for a guest account and returns its token.
	StartGuestSession(ctx context.Context, accountID string, o Origin) (token string, err error)
	// EndGuest disables a guest account and ends its sessions.
	EndGuest(ctx context.Context, accountID string) error
}

// Mailer sends e-mail (package mail).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Service is the scheduling and visit service.
type Service struct {
	db      *store.DB
	door    *guard.Door
	cipher  Cipher
	records Records
	people  People
	mail    Mailer // nil: no reminders are sent
	cfg     Config
	now     func() time.Time
	hub     *Hub
	// onEnd is told each visit that ends (OnEnd): the call's signalling sockets close.
	onEnd atomic.Pointer[func(visitID string)]
	// consents are the telehealth consent texts by version (consent.go).
	consents map[string]Consent
	// zones caches loaded time zones by name (zone).
	zones sync.Map
}

// New builds the service. mailer may be nil (no e-mail configured).
func New(db *store.DB, door *guard.Door, c Cipher, records Records, people People, mailer Mailer, cfg Config, now func() time.Time) *Service {
	def := DefaultConfig()
	if cfg.CareDays == 0 {
		cfg.CareDays = def.CareDays
	}
	if cfg.CancelCutoff == 0 {
		cfg.CancelCutoff = def.CancelCutoff
	}
	if cfg.Horizon == 0 {
		cfg.Horizon = def.Horizon
	}
	if cfg.OpensBefore == 0 {
		cfg.OpensBefore = def.OpensBefore
	}
	if cfg.GuestGrace == 0 {
		cfg.GuestGrace = def.GuestGrace
	}
	if cfg.OnDemandLength == 0 {
		cfg.OnDemandLength = def.OnDemandLength
	}
	consents, err := loadConsents(cfg.ConsentTexts)
	if err != nil {
		// The texts are embedded at build time: a binary without them is a build mistake.
		panic(err)
	}
	return &Service{db: db, door: door, cipher: c, records: records, people: people, mail: mailer, cfg: cfg, now: now, hub: NewHub(),
		consents: consents}
}

// Errors. Their text is safe to show to the user.
var (
	ErrNotFound = fault.New(fault.NotFound, "no such appointment")
	// ErrSlotTaken: someone else booked the slot first.
	ErrSlotTaken = fault.New(fault.Conflict, "this time has just been booked by someone else; choose another time")
	// ErrStale: the appointment changed since the version the caller read (FHIR's If-Match).
	ErrStale = fault.New(fault.Conflict, "this appointment changed since you read it; read it again and apply your change to the new version")
)

// States of an appointment (its visit).
const (
	StateBooked     = "booked"      // booked, not yet checked in
	StateWaiting    = "waiting"     // the patient checked in and waits in the waiting room
	StateInProgress = "in-progress" // admitted: the visit runs
	StateEnded      = "ended"       // the clinician ended the visit
	StateCancelled  = "cancelled"
	StateNoShow     = "no-show"
)

// Kinds of appointment.
const (
	KindScheduled = "scheduled"
	KindOnDemand  = "on-demand"
)

// Availability is a clinician's weekly hours in their own time zone, with exceptions.
type Availability struct {
	TimeZone      string  `json:"timeZone"`
	SlotMinutes   int     `json:"slotMinutes"`
	BufferMinutes int     `json:"bufferMinutes,omitempty"`
	Weekly        []Hours `json:"weekly"`
	// Exceptions are dated: time off (a day, a range of days, or hours of a day) and extra
	// hours on a date.
	Exceptions []Exception `json:"exceptions,omitempty"`
	// AcceptsNewPatients: with open booking, patients not in this clinician's care may book.
	AcceptsNewPatients bool `json:"acceptsNewPatients,omitempty"`
}

// Hours is one weekly range: day is mon…sun, start and end are HH:MM local time.
type Hours struct {
	Day   string `json:"day"`
	Start string `json:"start"`
	End   string `json:"end"`
}

// Exception kinds.
const (
	ExceptionOff   = "off"   // no slots in the range
	ExceptionExtra = "extra" // slots in the range, on top of the weekly hours
)

// Exception is time off or extra hours. Date is YYYY-MM-DD local; Until (optional, inclusive)
// makes time off span several days; Start and End (HH:MM, optional for time off) bound it
// within each day.
type Exception struct {
	Kind  string `json:"kind"`
	Date  string `json:"date"`
	Until string `json:"until,omitempty"`
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Slot is a bookable time.
type Slot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// MarshalJSON writes the slot as encoding/json would ({"start":RFC 3339,"end":RFC 3339}),
// without reflection: a month of slots is one answer of hundreds of them.
func (s Slot) MarshalJSON() ([]byte, error) {
	if s.Start.Year() < 0 || s.Start.Year() > 9999 || s.End.Year() < 0 || s.End.Year() > 9999 {
		type plain Slot
		return json.Marshal(plain(s)) // the standard error for a year JSON cannot hold
	}
	b := make([]byte, 0, 72)
	b = append(b, `{"start":"`...)
	b = s.Start.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","end":"`...)
	b = s.End.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...), nil
}

// Booking asks for a slot. PatientID is set by the front desk and by a clinician booking a
// follow-up; a patient books for themselves.
type Booking struct {
	ClinicianID string    `json:"clinicianId"`
	PatientID   string    `json:"patientId,omitempty"`
	Start       time.Time `json:"start"`
}

// Appointment is a booking and its visit's state. Names are filled for the people allowed to
// see them (the patient sees their clinician's name; staff see the patient's).
type Appointment struct {
	ID            string    `json:"appointmentId"`
	ClinicianID   string    `json:"clinicianId"`
	ClinicianName string    `json:"clinicianName,omitempty"`
	PatientID     string    `json:"patientId"`
	PatientName   string    `json:"patientName,omitempty"`
	Kind          string    `json:"kind"`
	State         string    `json:"state"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	// Version counts the row's changes (1 when booked): FHIR's versionId and If-Match. The
	// JSON API does not show it.
	Version int64 `json:"-"`
}

// Clinician is someone a patient can book.
type Clinician struct {
	ID   string `json:"clinicianId"`
	Name string `json:"name"`
	// InCare: the clinician cares for the patient already (otherwise: accepts new patients).
	InCare bool `json:"inCare"`
}

// act names an act on one patient's resource for the door.
func act(by access.Subject, a access.Action, typ, id, patientID string, o Origin) guard.Act {
	return guard.Act{By: by, Action: a, Resource: access.Resource{Type: typ, ID: id, PatientID: patientID}, Origin: o}
}
