// Package clinical owns patient records: demographics, care-team assignments and clinical notes.
//
// Every method that touches PHI passes the one door (package guard): the policy decides, a
// refusal is recorded and returned, an allowed read commits its audit entry while the record
// is read and opened, and an allowed write is recorded before it is made. If the entry cannot
// be written, nothing is returned (fail closed). PHI is sealed field by field under the
// patient's own key, and searched only through keyed blind indexes and search tokens
// (tokens.go); no plaintext PHI is ever stored, logged or put in an error.
package clinical

import (
	"context"
	"errors"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/identity"
	"haven/internal/keys"
	"haven/internal/store"
)

// Errors. Their text is safe to show to the user.
var (
	ErrForbidden = guard.ErrForbidden
	ErrNotFound  = fault.New(fault.NotFound, "no such record")
	// ErrUnreadable means a record's ciphertext did not open: it is reported for that record
	// alone, and raised as an integrity alert.
	ErrUnreadable = fault.New(fault.Unavailable, "this record cannot be opened right now; the privacy officer has been alerted")
	// ErrErased means the patient's record was erased at their request (the keyset was
	// destroyed): it can never be opened again. It is reported, not alarmed.
	ErrErased = fault.New(fault.Gone, "this record was erased at the patient's request and can no longer be opened")
	// ErrNoAuthor means a note names an author with no account: the record is withheld, as
	// when the author could not be looked up.
	ErrNoAuthor = errors.New("clinical: note author has no account")
)

// Cipher seals and opens PHI and computes blind indexes (package keys).
type Cipher interface {
	CreatePatientKey(ctx context.Context, q store.Execer, patientID string) (keys.FieldSealer, error)
	Seal(ctx context.Context, patientID string, loc keys.Location, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, patientID string, loc keys.Location, ciphertext []byte) ([]byte, error)
	BlindIndex(kind keys.IndexKind, value string) ([]byte, error)
}

// Accounts creates patient accounts, keeps their sign-in names in step with the record, and
// names staff (package identity).
type Accounts interface {
	CreatePatientAccount(ctx context.Context, q store.Execer, by access.Subject, patientID, email, phone string) (accountID, inviteToken string, err error)
	SetPatientPhone(ctx context.Context, q store.Execer, patientID, phone string) error
	SetPatientEmail(ctx context.Context, q store.Execer, patientID, email string) error
	RequestPatientEmailChange(ctx context.Context, by access.Subject, patientID, email string, sealed []byte, old string, o Origin) error
	MailOn() bool
	// RequireStepUpIfFactor asks for a recent second factor when the account has one.
	RequireStepUpIfFactor(ctx context.Context, by access.Subject) error
	DeliverInvite(ctx context.Context, by access.Subject, accountID, to, token string, o Origin) (identity.Link, error)
	ResetPatientPassword(ctx context.Context, by access.Subject, patientID, to string, o Origin) (identity.Link, error)
	// DisplayNames names staff accounts by identifier, all in one lookup; an identifier with no
	// account is absent from the map.
	DisplayNames(ctx context.Context, accountIDs []string) (map[string]string, error)
}

// Origin describes where a request came from, for the audit log.
type Origin = audit.Origin

// Alarm raises an integrity alert for the privacy officer (package monitor). It is told the
// patient identifier only.
type Alarm interface {
	Unreadable(ctx context.Context, patientID string, err error)
}

// Records is the patient-record service.
type Records struct {
	db       *store.DB
	cipher   Cipher
	door     *guard.Door
	accounts Accounts
	alarm    Alarm
	now      func() time.Time
}

// New builds the record service.
func New(db *store.DB, c Cipher, door *guard.Door, acc Accounts, alarm Alarm, now func() time.Time) *Records {
	return &Records{db: db, cipher: c, door: door, accounts: acc, alarm: alarm, now: now}
}

// Patient is a patient's demographics.
type Patient struct {
	ID string `json:"id"`
	// PatientID is ID again, under the name the rest of the API gives a patient's identifier.
	PatientID string    `json:"patientId"`
	Name      string    `json:"name"`
	BirthDate string    `json:"birthDate"`
	Phone     string    `json:"phone"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"createdAt"`
	// Unreadable marks a record whose ciphertext did not open: only its ID is shown, and the
	// privacy officer has an integrity alert.
	Unreadable bool `json:"unreadable,omitempty"`
}

// Note is a clinical note: a free-text note, a visit's structured note, or an addendum to a
// signed note (Kind). A visit note's Body is its plan, the summary the patient reads.
type Note struct {
	ID         string    `json:"id"`
	AuthorID   string    `json:"authorId"`
	AuthorName string    `json:"authorName"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"createdAt"`
	Kind       NoteKind  `json:"kind"`
	// Status is NoteDraft (its author may still change it) or NoteSigned (never changed again).
	Status   string     `json:"status"`
	VisitID  string     `json:"visitId,omitempty"`
	SOAP     *SOAP      `json:"soap,omitempty"`
	SignedAt *time.Time `json:"signedAt,omitempty"`
	SignedBy string     `json:"signedBy,omitempty"`
	// Sensitive marks a note in a sensitive category (Category), for later consent rules.
	Sensitive bool   `json:"sensitive"`
	Category  string `json:"category,omitempty"`
	// Amends is, for an addendum, the note it amends.
	Amends    string    `json:"amends,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
	// Addenda are a signed note's addenda, oldest first.
	Addenda []Addendum `json:"addenda,omitempty"`
}

// Addendum amends a signed note; the note itself is never changed.
type Addendum struct {
	ID         string    `json:"id"`
	AuthorID   string    `json:"authorId"`
	AuthorName string    `json:"authorName"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"createdAt"`
}

func (n Note) addendum() Addendum {
	return Addendum{ID: n.ID, AuthorID: n.AuthorID, AuthorName: n.AuthorName, Body: n.Body, CreatedAt: n.CreatedAt}
}

// Record is everything one patient's record holds in this release.
type Record struct {
	Patient Patient `json:"patient"`
	Notes   []Note  `json:"notes"`
}

// act names an act on one patient's resource for the door.
func act(by access.Subject, a access.Action, typ, id, patientID string, o Origin) guard.Act {
	return guard.Act{By: by, Action: a, Resource: access.Resource{Type: typ, ID: id, PatientID: patientID}, Origin: o}
}
