// Package billing owns charges: one per visit, with the procedure and diagnosis codes as
// entered, an amount and a status, and their export for a billing system (CSV and FHIR Claim
// JSON). The billing role sees charges and the demographics a claim needs, never notes,
// observations or documents (minimum necessary). Every act passes the one door.
package billing

import (
	"time"

	"haven/internal/guard"
	"haven/internal/store"
)

// Service is the billing service.
type Service struct {
	db   *store.DB
	door *guard.Door
	now  func() time.Time
}

// New builds the billing service.
func New(db *store.DB, door *guard.Door, now func() time.Time) *Service {
	return &Service{db: db, door: door, now: now}
}
