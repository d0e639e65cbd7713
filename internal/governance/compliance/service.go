package compliance

import (
	"context"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/store"
)

// Service serves the report to administrators and the privacy officer through the one door.
type Service struct {
	db       *store.DB
	door     *guard.Door
	settings Settings
	now      func() time.Time
}

// NewService builds the report service over the installation's database and settings.
func NewService(db *store.DB, door *guard.Door, s Settings, now func() time.Time) *Service {
	return &Service{db: db, door: door, settings: s, now: now}
}

// Report gathers the facts and evaluates every check (compliance.read: one audit entry).
func (s *Service) Report(ctx context.Context, by access.Subject, o audit.Origin) (Report, error) {
	a := guard.Act{By: by, Action: access.ReadCompliance, Resource: access.Resource{Type: "ComplianceReport"}, Origin: o}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (Report, error) {
		f, err := Gather(ctx, s.db, s.settings, s.now())
		if err != nil {
			return Report{}, err
		}
		return Evaluate(f), nil
	})
}
