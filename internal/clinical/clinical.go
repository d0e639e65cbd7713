// Package clinical owns patient records: demographics, care-team assignments and clinical notes.
//
// Every method that touches PHI follows one path: ask access.Decide; on deny, audit and refuse;
// on allow, read and open ciphertext through the key service, audit, and only then return. A
// write is audited before it is made. If the audit entry cannot be written, nothing is returned
// (fail closed). PHI is sealed field by field under the patient's own key, and searched only
// through blind indexes; no plaintext PHI is ever stored, logged or put in an error.
package clinical

import (
	"context"
	"errors"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/identity"
	"haven/internal/keys"
	"haven/internal/store"
)

// Errors. Their text is safe to show to the user.
var (
	ErrForbidden    = errors.New("you are not permitted to do this")
	ErrNotFound     = errors.New("no such record")
	ErrInvalidInput = errors.New("invalid input")
)

// Cipher seals and opens PHI and computes blind indexes (package keys).
type Cipher interface {
	CreatePatientKey(ctx context.Context, q store.Execer, patientID string) (keys.FieldSealer, error)
	Seal(ctx context.Context, patientID string, loc keys.Location, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, patientID string, loc keys.Location, ciphertext []byte) ([]byte, error)
	BlindIndex(kind keys.IndexKind, value string) ([]byte, error)
}

// Decider is the policy decision point (package access).
type Decider interface {
	Decide(ctx context.Context, s access.Subject, a access.Action, r access.Resource) access.Decision
}

// Auditor appends audit entries (package audit).
type Auditor interface {
	Append(ctx context.Context, e audit.Entry) (int64, error)
}

// Accounts creates patient accounts and names staff (package identity).
type Accounts interface {
	CreatePatientAccount(ctx context.Context, q store.Execer, by access.Subject, patientID, email string) (accountID, inviteToken string, err error)
	DeliverInvite(ctx context.Context, by access.Subject, accountID, to, token string, o Origin) (identity.Link, error)
	ResetPatientPassword(ctx context.Context, by access.Subject, patientID, to string, o Origin) (identity.Link, error)
	DisplayName(ctx context.Context, accountID string) (string, error)
}

// Origin describes where a request came from, for the audit log.
type Origin = audit.Origin

// Records is the patient-record service.
type Records struct {
	db       *store.DB
	cipher   Cipher
	policy   Decider
	audit    Auditor
	accounts Accounts
	now      func() time.Time
}

// New builds the record service.
func New(db *store.DB, c Cipher, p Decider, a Auditor, acc Accounts, now func() time.Time) *Records {
	return &Records{db: db, cipher: c, policy: p, audit: a, accounts: acc, now: now}
}

// Patient is a patient's demographics.
type Patient struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	BirthDate string    `json:"birthDate"`
	Phone     string    `json:"phone"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"createdAt"`
}

// Note is a clinical note.
type Note struct {
	ID         string    `json:"id"`
	AuthorID   string    `json:"authorId"`
	AuthorName string    `json:"authorName"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"createdAt"`
}

// Record is everything one patient's record holds in this release.
type Record struct {
	Patient Patient `json:"patient"`
	Notes   []Note  `json:"notes"`
}

// decideAndAudit asks the policy and records the decision. It returns ErrForbidden on deny and
// the audit error if the entry could not be written.
func (r *Records) decideAndAudit(ctx context.Context, by access.Subject, a access.Action, res access.Resource, resourceID string, o Origin) error {
	d := r.policy.Decide(ctx, by, a, res)
	outcome := audit.Deny
	if d.Allow {
		outcome = audit.Allow
	}
	if err := r.record(ctx, by, string(a), res, resourceID, outcome, d.Reason, o); err != nil {
		return err
	}
	if !d.Allow {
		return ErrForbidden
	}
	return nil
}

// record appends one entry for a PHI operation.
func (r *Records) record(ctx context.Context, by access.Subject, action string, res access.Resource, resourceID, outcome, reason string, o Origin) error {
	_, err := r.audit.Append(ctx, audit.Entry{
		ActorID: by.AccountID, ActorRole: string(by.Role), Action: action,
		ResourceType: res.Type, ResourceID: resourceID, PatientID: res.PatientID,
		Outcome: outcome, Reason: reason, SourceAddr: o.Addr, RequestID: o.RequestID, Purpose: access.PurposeOfUse(by),
	})
	return err
}

// decideOnly asks the policy without recording, for filtering candidates that are never shown.
func (r *Records) decideOnly(ctx context.Context, by access.Subject, a access.Action, res access.Resource) bool {
	return r.policy.Decide(ctx, by, a, res).Allow
}
