package privacy

import (
	"context"
	"strconv"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
)

// Review statuses.
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
	// StatusDuplicate closed a second open review of the same entry, opened before the database
	// kept one open review per entry (migration 0013).
	StatusDuplicate = "duplicate"
)

// Review is a patient's report of an access they do not recognise, with the entry it is about.
type Review struct {
	ID        string      `json:"id"`
	Entry     audit.Entry `json:"entry"`
	ActorName string      `json:"actorName"`
	Status    string      `json:"status"`
	Created   time.Time   `json:"created"`
}

const (
	// insertReview opens a review unless the entry has one open already: the partial unique
	// index audit_reviews_one_open keeps one open review per entry, and a second report,
	// however concurrent, finds it and adds nothing.
	insertReview = `INSERT INTO audit_reviews (id, entry_seq, patient_id, reported_by, status, created_at)
		VALUES ($1, $2, $3, $4, 'open', $5) ON CONFLICT (entry_seq) WHERE status = 'open' DO NOTHING`
	selectReported = `SELECT entry_seq FROM audit_reviews WHERE patient_id = $1`
	selectOpen     = `SELECT id, entry_seq, status, created_at FROM audit_reviews WHERE status = 'open' ORDER BY created_at LIMIT 500`
	resolveReview  = `UPDATE audit_reviews SET status = 'resolved', resolved_by = $1, resolved_at = $2 WHERE id = $3 AND status = 'open'`
)

func (s *Service) reportedSeqs(ctx context.Context, patientID string) (map[int64]bool, error) {
	rows, err := s.db.QueryContext(ctx, selectReported, patientID)
	if err != nil {
		return nil, wrap("reported entries", err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, wrap("reported entries", err)
		}
		out[seq] = true
	}
	return out, wrap("reported entries", rows.Err())
}

// Report records that the patient does not recognise the access in entry seq, and queues it for
// the privacy officer. It is idempotent: reporting an entry that already waits for review
// succeeds and leaves the one open review as it is.
//
// An entry that does not exist is decided as one about no patient, so it is refused (and
// recorded) exactly as another patient's entry is: the answer tells no one which entries exist.
func (s *Service) Report(ctx context.Context, by access.Subject, seq int64, o audit.Origin) error {
	e, err := audit.EntryAt(ctx, s.db, seq)
	if err != nil {
		e = audit.Entry{}
	}
	if err := s.decide(ctx, by, access.ReportAccess, e.PatientID, strconv.FormatInt(seq, 10), o); err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, insertReview, newID(), seq, e.PatientID, by.AccountID, s.now().UnixNano())
	return wrap("report", err)
}

// OpenReviews lists the reports waiting for the privacy officer.
func (s *Service) OpenReviews(ctx context.Context, by access.Subject, o audit.Origin) ([]Review, error) {
	if err := s.decide(ctx, by, access.ReviewAudit, "", "reviews", o); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, selectOpen)
	if err != nil {
		return nil, wrap("reviews", err)
	}
	var out []Review
	var seqs []int64
	for rows.Next() {
		var r Review
		var seq, ns int64
		if err := rows.Scan(&r.ID, &seq, &r.Status, &ns); err != nil {
			rows.Close()
			return nil, wrap("reviews", err)
		}
		r.Created = time.Unix(0, ns).UTC()
		out = append(out, r)
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("reviews", err)
	}
	for i := range out {
		if out[i].Entry, err = audit.EntryAt(ctx, s.db, seqs[i]); err != nil {
			return nil, wrap("reviews", err)
		}
		if out[i].ActorName, err = s.names.DisplayName(ctx, out[i].Entry.ActorID); err != nil {
			out[i].ActorName = out[i].Entry.ActorID
		}
	}
	return out, nil
}

// Resolve closes a report.
func (s *Service) Resolve(ctx context.Context, by access.Subject, id string, o audit.Origin) error {
	if err := s.decide(ctx, by, access.ReviewAudit, "", "review:"+id, o); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, resolveReview, by.AccountID, s.now().UnixNano(), id)
	if err != nil {
		return wrap("resolve", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	return nil
}

// SearchTrail is the auditor's search of the audit trail.
func (s *Service) SearchTrail(ctx context.Context, by access.Subject, f audit.Filter, o audit.Origin) ([]audit.Entry, error) {
	if err := s.decide(ctx, by, access.ReviewAudit, f.PatientID, "search", o); err != nil {
		return nil, err
	}
	return audit.Search(ctx, s.db, f)
}
