package governance

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"haven/internal/access"
	"haven/internal/guard"
	"haven/internal/principal"
)

// Year is the retention unit: 365 days (a period counts whole years, leap days aside).
const Year = 365 * 24 * time.Hour

// Retention is how long each record type is kept after the patient's last encounter.
type Retention map[string]time.Duration

// DefaultRetention is what Haven keeps without --retention. These are defaults to review with
// counsel (docs/operations.md, "Retention and legal holds"): adult medical records 10 years
// after the last encounter (the longest common US state rule), billing records 7 years (tax
// and claims look-back). Audit metadata is never purged here (HIPAA §164.316(b)(2): 6 years
// at least; Haven keeps the hash-chained log whole).
func DefaultRetention() Retention {
	return Retention{
		"record_items":  10 * Year,
		"documents":     10 * Year,
		"notes":         10 * Year,
		"prescriptions": 10 * Year,
		"appointments":  10 * Year,
		"charges":       7 * Year,
	}
}

// ParseRetention reads a --retention value such as "documents=10y,charges=7y" over the
// defaults: each named record type gets its period; the others keep theirs. A period is whole
// years (y) or days (d), at least one day and at most 100 years.
func ParseRetention(s string) (Retention, error) {
	r := DefaultRetention()
	if strings.TrimSpace(s) == "" {
		return r, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if _, known := r[name]; !ok || !known {
			return nil, fmt.Errorf("retention: %q is not type=period with a type among %s", part, strings.Join(r.Types(), ", "))
		}
		d, err := parsePeriod(val)
		if err != nil {
			return nil, fmt.Errorf("retention: %s: %w", name, err)
		}
		r[name] = d
	}
	return r, nil
}

func parsePeriod(v string) (time.Duration, error) {
	if len(v) < 2 {
		return 0, fmt.Errorf("period %q is not a number of years (10y) or days (30d)", v)
	}
	n, err := strconv.Atoi(v[:len(v)-1])
	if err != nil || n < 1 {
		return 0, fmt.Errorf("period %q is not a number of years (10y) or days (30d)", v)
	}
	var d time.Duration
	switch v[len(v)-1] {
	case 'y':
		if n > 100 {
			return 0, fmt.Errorf("period %q is longer than 100 years", v)
		}
		d = time.Duration(n) * Year
	case 'd':
		if n > 100*365 {
			return 0, fmt.Errorf("period %q is longer than 100 years", v)
		}
		d = time.Duration(n) * 24 * time.Hour
	default:
		return 0, fmt.Errorf("period %q is not a number of years (10y) or days (30d)", v)
	}
	return d, nil
}

// Types lists the record types, sorted.
func (r Retention) Types() []string {
	out := make([]string, 0, len(r))
	for t := range r {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// String is the retention in --retention form, sorted by type.
func (r Retention) String() string {
	var parts []string
	for _, t := range r.Types() {
		d := r[t]
		if d%Year == 0 {
			parts = append(parts, fmt.Sprintf("%s=%dy", t, d/Year))
		} else {
			parts = append(parts, fmt.Sprintf("%s=%dd", t, d/(24*time.Hour)))
		}
	}
	return strings.Join(parts, ",")
}

// purgeable is one record type the purge deletes: its table, the audit resource type, the
// time its age counts from, and what else must hold before a row may go.
type purgeable struct {
	table, resource, at, extra string
	before                     []string // deletions of dependent rows first ($1 = the row's id)
}

// purgeables are the record types in the order they are purged: rows that others point at go
// after them (charges before appointments, addenda before the notes they amend).
var purgeables = []purgeable{
	{table: "record_items", resource: "RecordItem", at: "t.updated_at"},
	{table: "documents", resource: "Document", at: "t.created_at"},
	{table: "notes", resource: "Note", at: "COALESCE(t.updated_at, t.created_at)",
		extra: "AND NOT EXISTS (SELECT 1 FROM notes n2 WHERE n2.amends = t.id)"},
	{table: "prescriptions", resource: "Prescription", at: "t.updated_at"},
	{table: "charges", resource: "Charge", at: "t.updated_at"},
	{table: "appointments", resource: "Appointment", at: "t.end_at",
		extra:  "AND NOT EXISTS (SELECT 1 FROM charges c WHERE c.appointment_id = t.id) AND NOT EXISTS (SELECT 1 FROM visit_guests g WHERE g.appointment_id = t.id)",
		before: []string{`DELETE FROM appointment_reminders WHERE appointment_id = $1`}},
}

// expiredWhere selects the rows of p older than the cutoff ($1) whose patient had no
// encounter since it and is under no legal hold.
func (p purgeable) expiredWhere() string {
	return ` WHERE ` + p.at + ` < $1 ` + p.extra + `
		AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = t.patient_id AND a.start_at >= $1)
		AND NOT EXISTS (SELECT 1 FROM legal_holds h WHERE h.patient_id = t.patient_id AND h.lifted_at IS NULL)`
}

// PurgeResult counts what one purge did.
type PurgeResult struct {
	Deleted int // rows deleted, each audited
	Held    int // expired rows kept because their patient is under a legal hold
}

// purgeBatch bounds the rows one pass reads per type; the next pass goes on.
const purgeBatch = 500

// Purge deletes every record past its retention period, except those of a patient under a
// legal hold. Each deletion is an act of Haven itself through the door (access.PurgeExpired),
// in that patient's access log, durable before the row goes. The run is recorded
// (governance_runs, RunPurge).
func (s *Service) Purge(ctx context.Context) (PurgeResult, error) {
	runID, err := StartRun(ctx, s.db, RunPurge, s.now())
	if err != nil {
		return PurgeResult{}, err
	}
	res, err := s.purge(ctx)
	detail := fmt.Sprintf("deleted %d, kept under legal hold %d", res.Deleted, res.Held)
	if ferr := FinishRun(context.WithoutCancel(ctx), s.db, runID, s.now(), err == nil, detail); ferr != nil && err == nil {
		err = ferr
	}
	return res, err
}

func (s *Service) purge(ctx context.Context) (PurgeResult, error) {
	var res PurgeResult
	now := s.now()
	for _, p := range purgeables {
		period, ok := s.retention[p.table]
		if !ok {
			continue
		}
		cutoff := now.Add(-period).UnixNano()
		held, err := s.countHeld(ctx, p, cutoff)
		if err != nil {
			return res, err
		}
		res.Held += held
		type row struct{ id, patientID string }
		var rows []row
		q := `SELECT t.id, t.patient_id FROM ` + p.table + ` t` + p.expiredWhere() + ` ORDER BY t.id LIMIT ` + strconv.Itoa(purgeBatch)
		rs, err := s.db.QueryContext(ctx, q, cutoff)
		if err != nil {
			return res, fmt.Errorf("governance: find expired %s: %w", p.table, err)
		}
		for rs.Next() {
			var r row
			if err := rs.Scan(&r.id, &r.patientID); err != nil {
				rs.Close()
				return res, fmt.Errorf("governance: find expired %s: %w", p.table, err)
			}
			rows = append(rows, r)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return res, fmt.Errorf("governance: find expired %s: %w", p.table, err)
		}
		for _, r := range rows {
			n, err := s.purgeOne(ctx, p, r.id, r.patientID, cutoff)
			if err != nil {
				return res, err
			}
			res.Deleted += n
		}
	}
	return res, nil
}

func (s *Service) countHeld(ctx context.Context, p purgeable, cutoff int64) (int, error) {
	q := `SELECT COUNT(*) FROM ` + p.table + ` t WHERE ` + p.at + ` < $1 ` + p.extra + `
		AND EXISTS (SELECT 1 FROM legal_holds h WHERE h.patient_id = t.patient_id AND h.lifted_at IS NULL)`
	var n int
	if err := s.db.QueryRowContext(ctx, q, cutoff).Scan(&n); err != nil {
		return 0, fmt.Errorf("governance: count held %s: %w", p.table, err)
	}
	return n, nil
}

// purgeOne deletes one expired row as Haven itself, through the door. The deletion checks
// expiry and holds again in the same statement, so a hold placed meanwhile still wins.
func (s *Service) purgeOne(ctx context.Context, p purgeable, id, patientID string, cutoff int64) (int, error) {
	act := guard.Act{By: access.SystemSubject(), Action: access.PurgeExpired,
		Resource: access.Resource{Type: p.resource, ID: id, PatientID: patientID},
		Origin:   principal.Origin{RequestID: "retention-purge"}}
	n := 0
	err := guard.Run(ctx, s.door, act, func(ctx context.Context) error {
		return s.db.InTx(ctx, func(tx *sql.Tx) error {
			for _, q := range p.before {
				if _, err := tx.ExecContext(ctx, q, id); err != nil {
					return fmt.Errorf("governance: purge %s dependants: %w", p.table, err)
				}
			}
			r, err := tx.ExecContext(ctx, `DELETE FROM `+p.table+` WHERE id IN (SELECT t.id FROM `+p.table+` t`+p.expiredWhere()+` AND t.id = $2)`, cutoff, id)
			if err != nil {
				return fmt.Errorf("governance: purge %s: %w", p.table, err)
			}
			k, err := r.RowsAffected()
			if err != nil {
				return fmt.Errorf("governance: purge %s: %w", p.table, err)
			}
			n = int(k)
			return nil
		})
	})
	return n, err
}
