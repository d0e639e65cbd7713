package privacy

import (
	"context"
	"database/sql"
	"errors"
	"haven/internal/ids"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/keys"
)

// Review statuses.
const (
	StatusOpen     = "open"
	StatusResolved = "resolved"
	// StatusDuplicate closed a second open review of the same entry, opened before the database
	// kept one open review per entry (migration 0013).
	StatusDuplicate = "duplicate"
)

// What the privacy officer found when they closed a report.
const (
	// OutcomeJustified: the access had a reason the patient may not have known of.
	OutcomeJustified = "justified"
	// OutcomeUnjustified: it had none; the privacy officer takes it up.
	OutcomeUnjustified = "unjustified"
)

// MaxNoteLength bounds the privacy officer's note to the patient, in characters.
const MaxNoteLength = 2000

// Review is a patient's report of an access they do not recognise, with the entry it is about.
type Review struct {
	ID        string      `json:"id"`
	Entry     audit.Entry `json:"entry"`
	ActorName string      `json:"actorName"`
	Status    string      `json:"status"`
	Created   time.Time   `json:"created"`
}

// Closing is how the privacy officer closes a report: a finding, and a note the patient reads
// beside the entry they reported.
type Closing struct {
	Outcome string // OutcomeJustified or OutcomeUnjustified
	Note    string
}

// validate refuses a closing without a finding or a note. The zero Closing is the API's close
// without a body, kept for clients written before findings: the report is closed, no finding.
func (c Closing) validate() error {
	if c == (Closing{}) {
		return nil
	}
	if c.Outcome != OutcomeJustified && c.Outcome != OutcomeUnjustified {
		return fault.InvalidField("outcome", "say whether the access was justified")
	}
	if n := strings.TrimSpace(c.Note); n == "" || utf8.RuneCountInString(n) > MaxNoteLength || !utf8.ValidString(n) {
		return fault.InvalidField("note", "write a note for the patient (at most "+strconv.Itoa(MaxNoteLength)+" characters)")
	}
	return nil
}

const (
	// insertReview opens a review unless the entry has one open already: the partial unique
	// index audit_reviews_one_open keeps one open review per entry, and a second report,
	// however concurrent, finds it and adds nothing.
	insertReview = `INSERT INTO audit_reviews (id, entry_seq, patient_id, reported_by, status, created_at)
		VALUES ($1, $2, $3, $4, 'open', $5) ON CONFLICT (entry_seq) WHERE status = 'open' DO NOTHING`
	// selectReviewStates lists a patient's reports oldest first, so the latest of an entry's
	// reports is the one kept.
	selectReviewStates = `SELECT id, entry_seq, status, outcome, outcome_note_ct, resolved_at FROM audit_reviews
		WHERE patient_id = $1 ORDER BY created_at, id`
	selectOpen    = `SELECT id, entry_seq, status, created_at FROM audit_reviews WHERE status = 'open' ORDER BY created_at LIMIT 500`
	selectReview  = `SELECT id, entry_seq, patient_id, status, created_at, outcome, outcome_note_ct, resolved_at FROM audit_reviews WHERE id = $1`
	selectOpenFor = `SELECT patient_id FROM audit_reviews WHERE id = $1 AND status = 'open'`
	resolveReview = `UPDATE audit_reviews SET status = 'resolved', resolved_by = $1, resolved_at = $2, outcome = $3, outcome_note_ct = $4
		WHERE id = $5 AND status = 'open'`
)

// noteAt is where a review's note is sealed: bound to its row, so it opens nowhere else.
func noteAt(reviewID string) keys.Location {
	return keys.Location{Table: "audit_reviews", Row: reviewID, Field: "outcome_note"}
}

// openNote opens a review's note, or says it cannot be read (the report's finding still shows).
func (s *Service) openNote(ctx context.Context, patientID, reviewID string, ct []byte) string {
	if len(ct) == 0 || s.deps.Notes == nil {
		return ""
	}
	pt, err := s.deps.Notes.Open(ctx, patientID, noteAt(reviewID), ct)
	if err != nil {
		return "(this note cannot be read right now)"
	}
	return string(pt)
}

// reviewStates returns where each of the patient's reported entries stands, by entry index.
func (s *Service) reviewStates(ctx context.Context, patientID string) (map[int64]*ReviewState, error) {
	rows, err := s.db.QueryContext(ctx, selectReviewStates, patientID)
	if err != nil {
		return nil, wrap("reported entries", err)
	}
	type row struct {
		id   string
		seq  int64
		st   ReviewState
		note []byte
		at   sql.NullInt64
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.seq, &r.st.Status, &r.st.Outcome, &r.note, &r.at); err != nil {
			rows.Close()
			return nil, wrap("reported entries", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("reported entries", err)
	}
	out := map[int64]*ReviewState{}
	for _, r := range all {
		st := r.st
		if r.at.Valid && st.Status != StatusOpen {
			closed := time.Unix(0, r.at.Int64).UTC()
			st.Closed = &closed
		}
		st.Note = s.openNote(ctx, patientID, r.id, r.note)
		if prev, ok := out[r.seq]; ok && prev.Status == StatusOpen && st.Status == StatusDuplicate {
			continue // a duplicate closed beside the open one says nothing new
		}
		out[r.seq] = &st
	}
	return out, nil
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
	_, err = s.db.ExecContext(ctx, insertReview, ids.New(), seq, e.PatientID, by.AccountID, s.now().UnixNano())
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
	names := map[string]string{}
	for i := range out {
		if out[i].Entry, err = audit.EntryAt(ctx, s.db, seqs[i]); err != nil {
			return nil, wrap("reviews", err)
		}
		out[i].ActorName = out[i].Entry.ActorID
		if n := s.staffName(ctx, names, out[i].Entry.ActorID); n != unknownStaff {
			out[i].ActorName = n
		}
	}
	return out, nil
}

// Resolve closes a report with the privacy officer's finding and their note to the patient,
// sealed under the patient's key. The zero Closing closes it without a finding (API clients
// written before findings). A report that is not open is ErrNotFound.
func (s *Service) Resolve(ctx context.Context, by access.Subject, id string, c Closing, o audit.Origin) error {
	a := act(by, access.ReviewAudit, "", "review:"+id, o)
	// The caller's right is decided first; the finding is checked before anything is recorded,
	// so the entry carries only one of the fixed words.
	if err := s.door.Admit(ctx, a); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	a.Detail = c.Outcome
	return guard.Run(ctx, s.door, a, func(ctx context.Context) error {
		var patientID string
		err := s.db.QueryRowContext(ctx, selectOpenFor, id).Scan(&patientID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return wrap("resolve", err)
		}
		var note []byte
		if n := strings.TrimSpace(c.Note); n != "" {
			if s.deps.Notes == nil {
				return wrap("resolve", errors.New("no sealer for notes"))
			}
			if note, err = s.deps.Notes.Seal(ctx, patientID, noteAt(id), []byte(n)); err != nil {
				return wrap("resolve: seal note", err)
			}
		}
		res, err := s.db.ExecContext(ctx, resolveReview, by.AccountID, s.now().UnixNano(), c.Outcome, note, id)
		if err != nil {
			return wrap("resolve", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound // closed meanwhile by someone else
		}
		return nil
	})
}

// SearchTrail is the auditor's search of the audit trail.
func (s *Service) SearchTrail(ctx context.Context, by access.Subject, q TrailQuery, o audit.Origin) ([]audit.Entry, error) {
	if err := s.decide(ctx, by, access.ReviewAudit, q.PatientID, "search", o); err != nil {
		return nil, err
	}
	f := q.Filter
	if name := strings.TrimSpace(q.PatientName); name != "" {
		// Each patient the name finds is identified through the door, in their own log.
		if s.deps.Patients == nil {
			return []audit.Entry{}, nil
		}
		ids, err := s.deps.Patients.PatientsNamed(ctx, by, name, o)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return []audit.Entry{}, nil
		}
		f.PatientIDs = ids
	}
	return audit.Search(ctx, s.db, f)
}
