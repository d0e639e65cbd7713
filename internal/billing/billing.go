// Package billing owns charges: one per visit, with the procedure and diagnosis codes as
// entered, an amount and a status, and their export for a billing system (CSV and FHIR Claim
// JSON). The billing role sees charges and the demographics a claim needs, never notes,
// observations or documents (minimum necessary). Every act passes the one door.
//
// A charge is for a visit that ended (an appointment is its visit): a booked, cancelled or
// missed visit has nothing to bill. A visit has at most one live charge, held by a unique index
// in the database; voiding it makes room for a corrected one. The codes and any note say what
// the patient was treated for, so they are sealed under the patient's key; the amount, the
// currency, the status, the visit, the patient and the times are in clear, for the billing list.
//
// It refuses to look codes up (there is no code database here: a code's shape is checked, and
// a well-shaped code that does not exist is the billing system's to refuse), and it never reads
// the clinical record: a claim's name and birth date come from the record's own guarded
// demographics read, as the caller.
package billing

import (
	"context"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/keys"
	"haven/internal/store"
)

// DefaultCurrency is the currency of a charge that names none.
const DefaultCurrency = "USD"

// Errors. Their text is safe to show to the user.
var (
	// ErrNotFound: no such charge or visit, or none the caller may know of.
	ErrNotFound = fault.New(fault.NotFound, "no such charge or visit")
	// ErrVisitNotEnded: only a visit that ended is charged.
	ErrVisitNotEnded = fault.New(fault.Conflict, "this visit has not ended, so there is nothing to charge yet; add the charge once the visit is over")
	// ErrAlreadyCharged: the visit has a live charge; change it, or void it first.
	ErrAlreadyCharged = fault.New(fault.Conflict, "this visit already has a charge; change that one, or void it and add a new one")
	// ErrNotDraft: codes, amount and note change only while the charge is a draft.
	ErrNotDraft = fault.New(fault.Conflict, "only a draft charge can be changed; void it and add a new one to correct it")
	// ErrChanged: the charge changed while this change was being made.
	ErrChanged = fault.New(fault.Conflict, "this charge was changed by someone else just now; reload it and try again")
	// ErrUnreadable: a charge's sealed codes did not open.
	ErrUnreadable = fault.New(fault.Unavailable, "this charge cannot be opened right now; try again later")
)

// Origin is where a request came from, for the audit log.
type Origin = audit.Origin

// Cipher seals and opens the PHI this package keeps (codes and notes) under the patient's key
// (package keys).
type Cipher interface {
	Seal(ctx context.Context, patientID string, loc keys.Location, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, patientID string, loc keys.Location, ciphertext []byte) ([]byte, error)
}

// Records is what billing needs of the patient record (package clinical).
type Records interface {
	// OpenNames opens the names of ids for a guarded list that has decided and records each
	// patient it shows; it is called only inside such a list's op.
	OpenNames(ctx context.Context, ids []string) (map[string]string, error)
	// Demographics reads a patient's name and birth date through the record's own guarded path
	// (patient.demographics-read), as the caller: what a claim needs, no clinical content.
	Demographics(ctx context.Context, by access.Subject, patientID string, o Origin) (clinical.Patient, error)
}

// Service is the billing service.
type Service struct {
	db       *store.DB
	door     *guard.Door
	cipher   Cipher
	records  Records
	currency string
	now      func() time.Time
}

// New builds the billing service; charges that name no currency are in DefaultCurrency.
func New(db *store.DB, door *guard.Door, c Cipher, records Records, now func() time.Time) *Service {
	return &Service{db: db, door: door, cipher: c, records: records, currency: DefaultCurrency, now: now}
}

// Status is where a charge stands.
type Status string

// Statuses: draft → submitted → paid or denied; a draft, submitted or denied charge may be
// voided, and a denied one goes back to draft to be corrected. Paid and void are final.
const (
	Draft     Status = "draft"
	Submitted Status = "submitted"
	Paid      Status = "paid"
	Denied    Status = "denied"
	Void      Status = "void"
)

var next = map[Status][]Status{
	Draft:     {Submitted, Void},
	Submitted: {Paid, Denied, Void},
	Denied:    {Draft, Void},
}

// Valid reports whether s is a status.
func (s Status) Valid() bool {
	switch s {
	case Draft, Submitted, Paid, Denied, Void:
		return true
	}
	return false
}

// Words says the status as a patient reads it.
func (s Status) Words() string {
	switch s {
	case Draft:
		return "Being prepared"
	case Submitted:
		return "Billed, waiting for payment"
	case Paid:
		return "Paid"
	case Denied:
		return "Not paid: the clinic will contact you"
	case Void:
		return "Cancelled: nothing to pay"
	}
	return "Unknown"
}

// Charge is one visit's charge.
type Charge struct {
	ID          string `json:"id"`
	VisitID     string `json:"visitId"`
	PatientID   string `json:"patientId"`
	PatientName string `json:"patientName,omitempty"`
	ClinicianID string `json:"clinicianId"`
	// VisitAt is when the visit was scheduled to start.
	VisitAt        time.Time `json:"visitAt"`
	ProcedureCodes []string  `json:"procedureCodes"`
	DiagnosisCodes []string  `json:"diagnosisCodes"`
	Note           string    `json:"note,omitempty"`
	// Amount is in minor units of Currency (cents for USD).
	Amount    int64     `json:"amount"`
	Currency  string    `json:"currency"`
	Status    Status    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// NewCharge is a charge to record for a visit.
type NewCharge struct {
	VisitID        string   `json:"visitId"`
	ProcedureCodes []string `json:"procedureCodes"`
	DiagnosisCodes []string `json:"diagnosisCodes"`
	Amount         int64    `json:"amount"`
	// Currency is an ISO 4217 code; empty is DefaultCurrency.
	Currency string `json:"currency,omitempty"`
	Note     string `json:"note,omitempty"`
}

// Change is a change to a charge: the fields left out stay as they are. Codes, amount and note
// change only on a draft.
type Change struct {
	Status         Status   `json:"status,omitempty"`
	ProcedureCodes []string `json:"procedureCodes,omitempty"`
	DiagnosisCodes []string `json:"diagnosisCodes,omitempty"`
	Amount         int64    `json:"amount,omitempty"`
	Note           *string  `json:"note,omitempty"`
}

// Filter narrows a list or an export. Zero fields do not narrow.
type Filter struct {
	Status Status
	// PatientID: one patient's charges.
	PatientID string
	// From and To bound the visit's time, [From, To).
	From, To time.Time
}

// act names an act on one patient's charge for the door.
func act(by access.Subject, a access.Action, id, patientID string, o Origin) guard.Act {
	return guard.Act{By: by, Action: a, Resource: access.Resource{Type: "Charge", ID: id, PatientID: patientID}, Origin: o}
}

// Next is the statuses a charge in s may move to.
func (s Status) Next() []Status { return next[s] }
