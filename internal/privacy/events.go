package privacy

import (
	"context"
	"strconv"

	"haven/internal/access"
	"haven/internal/audit"
)

// The trail as FHIR AuditEvents (package fhir) for the privacy officer's own systems: the
// transport asks for entries here, through the door (audit.review), and codes them with the
// same rules as the trail's NDJSON export, so both say the same of an entry.

// EventAction is the FHIR AuditEvent action code (C, R, U, D or E) of a Haven action.
func EventAction(action string) string { return audit.FHIRAction(action) }

// EventOutcome is the FHIR AuditEvent outcome code ("0" success, "4" minor failure) of an
// entry's outcome.
func EventOutcome(outcome string) string { return audit.FHIROutcome(outcome) }

// TrailEntryAt returns the entry at index seq of the trail (audit.review, recorded as a read of
// that entry). An index the trail does not hold is ErrNotFound.
func (s *Service) TrailEntryAt(ctx context.Context, by access.Subject, seq int64, o audit.Origin) (Entry, error) {
	if err := s.decide(ctx, by, access.ReviewAudit, "", strconv.FormatInt(seq, 10), o); err != nil {
		return Entry{}, err
	}
	if seq <= 0 {
		return Entry{}, ErrNotFound
	}
	es, err := audit.Search(ctx, s.db, audit.Filter{Before: seq + 1, Limit: 1})
	if err != nil {
		return Entry{}, wrap("trail entry", err)
	}
	if len(es) == 0 || es[0].Seq != seq {
		return Entry{}, ErrNotFound
	}
	return es[0], nil
}
