package governance

import (
	"context"
	"time"

	"haven/internal/guard"
	"haven/internal/store"
)

// Keys destroys a patient's data keyset (package keys).
type Keys interface {
	Shred(ctx context.Context, patientID string) error
}

// Accounts closes an erased patient's account: it can no longer sign in and its sessions end
// (package identity).
type Accounts interface {
	CloseErasedPatient(ctx context.Context, patientID string) error
}

// Deps are what the governance service needs from the rest of Haven.
type Deps struct {
	Keys     Keys
	Accounts Accounts
	// DataDir holds the root key file and, beside it, the erasure ledger (LedgerName).
	DataDir string
	// Retention is how long each record type is kept; DefaultRetention() if nil.
	Retention Retention
}

// Service is the governance service acts on patients pass through: legal holds, erasure
// requests and their approval, and the retention purge. Every act passes the one door.
type Service struct {
	db        *store.DB
	door      *guard.Door
	keys      Keys
	accounts  Accounts
	dataDir   string
	retention Retention
	now       func() time.Time
}

// New builds the governance service.
func New(db *store.DB, door *guard.Door, d Deps, now func() time.Time) *Service {
	r := d.Retention
	if r == nil {
		r = DefaultRetention()
	}
	return &Service{db: db, door: door, keys: d.Keys, accounts: d.Accounts, dataDir: d.DataDir, retention: r, now: now}
}
