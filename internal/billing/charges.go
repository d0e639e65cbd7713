package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"haven/internal/ids"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/keys"
	"haven/internal/store"
)

// MaxList bounds one list or export.
const MaxList = 1000

const (
	selectVisit  = `SELECT patient_id, clinician_id, state, start_at FROM appointments WHERE id = $1`
	insertCharge = `INSERT INTO charges (id, appointment_id, patient_id, clinician_id, status, amount, currency, codes_ct, visit_at, created_by, created_at, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10, $11)`
	chargeColumns = `id, appointment_id, patient_id, clinician_id, status, amount, currency, codes_ct, visit_at, created_at, updated_at`
	selectCharge  = `SELECT ` + chargeColumns + ` FROM charges WHERE id = $1`
	// updateCharge changes a charge only if no one changed it since it was read.
	updateCharge = `UPDATE charges SET status = $1, amount = $2, codes_ct = $3, updated_by = $4, updated_at = $5
		WHERE id = $6 AND status = $7 AND updated_at = $8`
)

// sealed is what codes_ct holds.
type sealed struct {
	Procedures []string `json:"p"`
	Diagnoses  []string `json:"d"`
	Note       string   `json:"n,omitempty"`
}

// row is a charge as stored, its codes still sealed.
type row struct {
	Charge
	ct      []byte
	updated int64
}

func loc(id string) keys.Location { return keys.Location{Table: "charges", Row: id, Field: "codes"} }

// Create records a charge for a visit that ended. The caller's right (charge.write on the
// visit's patient) is decided before the charge is looked at; the write is recorded once the
// charge is valid. A second live charge for the visit is refused by the database.
func (s *Service) Create(ctx context.Context, by access.Subject, in NewCharge, o Origin) (Charge, error) {
	id := ids.New()
	var c Charge
	var state string
	var start int64
	err := s.db.QueryRowPrepared(ctx, selectVisit, in.VisitID).Scan(&c.PatientID, &c.ClinicianID, &state, &start)
	if errors.Is(err, sql.ErrNoRows) || in.VisitID == "" {
		// Nothing names a patient: a role with no right to write charges is still refused.
		if err := s.door.Admit(ctx, act(by, access.WriteCharge, id, "", o)); err != nil {
			return Charge{}, err
		}
		return Charge{}, ErrNotFound
	}
	if err != nil {
		return Charge{}, fmt.Errorf("billing: look up visit: %w", err)
	}
	a := act(by, access.WriteCharge, id, c.PatientID, o)
	if err := s.door.Admit(ctx, a); err != nil {
		return Charge{}, err
	}
	if c.ProcedureCodes, err = procedureCodes(in.ProcedureCodes); err != nil {
		return Charge{}, err
	}
	if c.DiagnosisCodes, err = diagnosisCodes(in.DiagnosisCodes); err != nil {
		return Charge{}, err
	}
	if err := amount(in.Amount); err != nil {
		return Charge{}, err
	}
	if c.Currency, err = currency(in.Currency, s.currency); err != nil {
		return Charge{}, err
	}
	if c.Note, err = note(in.Note); err != nil {
		return Charge{}, err
	}
	if state != "ended" {
		return Charge{}, ErrVisitNotEnded
	}
	now := s.now().UTC()
	c.ID, c.VisitID, c.Amount, c.Status = id, in.VisitID, in.Amount, Draft
	c.VisitAt, c.CreatedAt, c.UpdatedAt = time.Unix(0, start).UTC(), now, now
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (Charge, error) {
		ct, err := s.seal(ctx, c)
		if err != nil {
			return Charge{}, err
		}
		_, err = s.db.ExecPrepared(ctx, insertCharge, c.ID, c.VisitID, c.PatientID, c.ClinicianID, string(c.Status), c.Amount, c.Currency, ct,
			start, by.AccountID, now.UnixNano())
		if store.IsUniqueViolation(err) {
			return Charge{}, ErrAlreadyCharged
		}
		if err != nil {
			return Charge{}, fmt.Errorf("billing: insert charge: %w", err)
		}
		return c, nil
	})
}

// Get reads one charge (charge.read on its patient). A patient sees their own charges once
// they are billed: a draft is the clinic's work in progress and a void charge was never owed.
func (s *Service) Get(ctx context.Context, by access.Subject, id string, o Origin) (Charge, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			if err := s.door.Admit(ctx, act(by, access.ReadCharges, id, "", o)); err != nil {
				return Charge{}, err
			}
		}
		return Charge{}, err
	}
	a := act(by, access.ReadCharges, id, r.PatientID, o)
	if by.Role == access.Patient && !patientSees(r.Status) {
		// Not shown, so not recorded as read; someone else's is still a recorded refusal.
		if err := s.door.Admit(ctx, a); err != nil {
			return Charge{}, err
		}
		return Charge{}, ErrNotFound
	}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (Charge, error) { return s.open(ctx, r) })
}

// Update changes a charge's status, or a draft's codes, amount or note (charge.write on its
// patient). A status may move only along the charge's life (draft → submitted → paid or
// denied; void from any but paid; denied back to draft); anything else is a conflict, said in
// words.
func (s *Service) Update(ctx context.Context, by access.Subject, id string, ch Change, o Origin) (Charge, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			if err := s.door.Admit(ctx, act(by, access.WriteCharge, id, "", o)); err != nil {
				return Charge{}, err
			}
		}
		return Charge{}, err
	}
	a := act(by, access.WriteCharge, id, r.PatientID, o)
	if err := s.door.Admit(ctx, a); err != nil {
		return Charge{}, err
	}
	if ch.Status != "" && !ch.Status.Valid() {
		return Charge{}, fault.InvalidField("status", "choose a status: draft, submitted, paid, denied or void")
	}
	edits := ch.ProcedureCodes != nil || ch.DiagnosisCodes != nil || ch.Amount != 0 || ch.Note != nil
	var procs, diags []string
	if ch.ProcedureCodes != nil {
		if procs, err = procedureCodes(ch.ProcedureCodes); err != nil {
			return Charge{}, err
		}
	}
	if ch.DiagnosisCodes != nil {
		if diags, err = diagnosisCodes(ch.DiagnosisCodes); err != nil {
			return Charge{}, err
		}
	}
	if ch.Amount != 0 {
		if err := amount(ch.Amount); err != nil {
			return Charge{}, err
		}
	}
	var text string
	if ch.Note != nil {
		if text, err = note(*ch.Note); err != nil {
			return Charge{}, err
		}
	}
	if !edits && ch.Status == "" {
		return Charge{}, fault.InvalidField("status", "send a new status, or codes, an amount or a note to change")
	}
	if edits && r.Status != Draft {
		return Charge{}, ErrNotDraft
	}
	if ch.Status != "" && ch.Status != r.Status && !slices.Contains(next[r.Status], ch.Status) {
		return Charge{}, fault.New(fault.Conflict, transitionWords(r.Status, ch.Status))
	}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) (Charge, error) {
		c, err := s.open(ctx, r)
		if err != nil {
			return Charge{}, err
		}
		if procs != nil {
			c.ProcedureCodes = procs
		}
		if diags != nil {
			c.DiagnosisCodes = diags
		}
		if ch.Amount != 0 {
			c.Amount = ch.Amount
		}
		if ch.Note != nil {
			c.Note = text
		}
		if ch.Status != "" {
			c.Status = ch.Status
		}
		ct, err := s.seal(ctx, c)
		if err != nil {
			return Charge{}, err
		}
		now := s.now().UTC()
		if !now.After(r.UpdatedAt) {
			now = r.UpdatedAt.Add(time.Nanosecond) // a change is always later than the last one
		}
		res, err := s.db.ExecPrepared(ctx, updateCharge, string(c.Status), c.Amount, ct, by.AccountID, now.UnixNano(), id, string(r.Status), r.updated)
		if err != nil {
			return Charge{}, fmt.Errorf("billing: update charge: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return Charge{}, ErrChanged
		}
		c.UpdatedAt = now
		return c, nil
	})
}

// transitionWords says why a status cannot move from one to another, and what to do instead.
func transitionWords(from, to Status) string {
	switch from {
	case Paid:
		return "this charge is paid, so its status cannot change"
	case Void:
		return "this charge is void, so its status cannot change; add a new charge for the visit"
	}
	switch to {
	case Paid, Denied:
		return "only a submitted charge can be marked paid or denied; submit it first"
	case Submitted:
		return "only a draft can be submitted; move a denied charge back to draft to correct it first"
	case Draft:
		return "only a denied charge can go back to draft"
	}
	return "this charge cannot move to that status"
}

// List returns charges: a patient their own (once billed); the billing role every charge; a
// clinician those of the patients in their care. Each patient shown is recorded once.
func (s *Service) List(ctx context.Context, by access.Subject, f Filter, o Origin) ([]Charge, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	if by.Role == access.Patient {
		f.PatientID = by.PatientID
	}
	if f.PatientID != "" {
		return s.listOne(ctx, by, f, o)
	}
	if by.Role == access.Clinician {
		return s.listInCare(ctx, by, f, o)
	}
	return guard.List(ctx, s.door, act(by, access.ReadCharges, "", "", o), func(ctx context.Context) ([]Charge, []guard.Disclosed, error) {
		rs, err := s.query(ctx, f)
		if err != nil {
			return nil, nil, err
		}
		return s.disclose(ctx, by, access.ReadCharges, rs)
	})
}

// listOne is one patient's charges, one decision and one entry.
func (s *Service) listOne(ctx context.Context, by access.Subject, f Filter, o Origin) ([]Charge, error) {
	return guard.Do(ctx, s.door, act(by, access.ReadCharges, "", f.PatientID, o), func(ctx context.Context) ([]Charge, error) {
		rs, err := s.query(ctx, f)
		if err != nil {
			return nil, err
		}
		out := []Charge{}
		for _, r := range rs {
			if by.Role == access.Patient && !patientSees(r.Status) {
				continue
			}
			c, err := s.open(ctx, r)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		if by.Role != access.Patient && len(out) > 0 {
			names, err := s.records.OpenNames(ctx, []string{f.PatientID})
			if err != nil {
				return nil, fmt.Errorf("billing: patient's name: %w", err)
			}
			for i := range out {
				out[i].PatientName = names[f.PatientID]
			}
		}
		return out, nil
	})
}

// listInCare is a clinician's list: the candidates' patients are filtered in one care-team
// lookup, then each patient in their care is read through the door on its own, so each is
// decided and recorded as a read of that patient's charges.
func (s *Service) listInCare(ctx context.Context, by access.Subject, f Filter, o Origin) ([]Charge, error) {
	rs, err := s.query(ctx, f)
	if err != nil {
		return nil, err
	}
	var patients []string
	for _, r := range rs {
		if !slices.Contains(patients, r.PatientID) {
			patients = append(patients, r.PatientID)
		}
	}
	resources := make([]access.Resource, len(patients))
	for i, id := range patients {
		resources[i] = access.Resource{Type: "Charge", PatientID: id}
	}
	out := []Charge{}
	for i, d := range s.door.MayEach(ctx, by, access.ReadCharges, resources) {
		if !d.Allow {
			continue
		}
		one := f
		one.PatientID = patients[i]
		cs, err := s.listOne(ctx, by, one, o)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	slices.SortStableFunc(out, func(a, b Charge) int { return b.VisitAt.Compare(a.VisitAt) })
	return out, nil
}

// disclose keeps the rows whose patient by may see for action, opens them, names their
// patients and says whom it showed, with the reason.
func (s *Service) disclose(ctx context.Context, by access.Subject, action access.Action, rs []row) ([]Charge, []guard.Disclosed, error) {
	var patients []string
	for _, r := range rs {
		if !slices.Contains(patients, r.PatientID) {
			patients = append(patients, r.PatientID)
		}
	}
	resources := make([]access.Resource, len(patients))
	for i, id := range patients {
		resources[i] = access.Resource{Type: "Charge", PatientID: id}
	}
	reason := map[string]string{}
	var shown []guard.Disclosed
	for i, d := range s.door.MayEach(ctx, by, action, resources) {
		if d.Allow {
			reason[patients[i]] = d.Reason
			shown = append(shown, guard.Disclosed{PatientID: patients[i], Reason: d.Reason})
		}
	}
	out := []Charge{}
	if len(shown) == 0 {
		return out, nil, nil
	}
	ids := make([]string, len(shown))
	for i, d := range shown {
		ids[i] = d.PatientID
	}
	names, err := s.records.OpenNames(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("billing: patients' names: %w", err)
	}
	for _, r := range rs {
		if _, ok := reason[r.PatientID]; !ok {
			continue
		}
		c, err := s.open(ctx, r)
		if err != nil {
			return nil, nil, err
		}
		c.PatientName = names[r.PatientID]
		out = append(out, c)
	}
	return out, shown, nil
}

func (f Filter) check() error {
	if f.Status != "" && !f.Status.Valid() {
		return fault.InvalidField("status", "choose a status: draft, submitted, paid, denied or void")
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return fault.InvalidField("to", "the end of the period must be after its start")
	}
	return nil
}

// query reads the rows f selects, newest visit first, at most MaxList.
func (s *Service) query(ctx context.Context, f Filter) ([]row, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Status != "" {
		add("status = $%d", string(f.Status))
	}
	if f.PatientID != "" {
		add("patient_id = $%d", f.PatientID)
	}
	if !f.From.IsZero() {
		add("visit_at >= $%d", f.From.UnixNano())
	}
	if !f.To.IsZero() {
		add("visit_at < $%d", f.To.UnixNano())
	}
	q := `SELECT ` + chargeColumns + ` FROM charges`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(` ORDER BY visit_at DESC, id LIMIT %d`, MaxList)
	rows, err := s.db.QueryPrepared(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("billing: list charges: %w", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("billing: list charges: %w", err)
	}
	return out, nil
}

func (s *Service) load(ctx context.Context, id string) (row, error) {
	rows, err := s.db.QueryPrepared(ctx, selectCharge, id)
	if err != nil {
		return row{}, fmt.Errorf("billing: load charge: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return row{}, fmt.Errorf("billing: load charge: %w", err)
		}
		return row{}, ErrNotFound
	}
	return scan(rows)
}

func scan(rows *sql.Rows) (row, error) {
	var r row
	var status string
	var visit, created int64
	if err := rows.Scan(&r.ID, &r.VisitID, &r.PatientID, &r.ClinicianID, &status, &r.Amount, &r.Currency, &r.ct, &visit, &created, &r.updated); err != nil {
		return row{}, fmt.Errorf("billing: scan charge: %w", err)
	}
	r.Status = Status(status)
	r.VisitAt, r.CreatedAt, r.UpdatedAt = time.Unix(0, visit).UTC(), time.Unix(0, created).UTC(), time.Unix(0, r.updated).UTC()
	return r, nil
}

// open unseals a row's codes and note.
func (s *Service) open(ctx context.Context, r row) (Charge, error) {
	pt, err := s.cipher.Open(ctx, r.PatientID, loc(r.ID), r.ct)
	if err != nil {
		return Charge{}, fault.Wrap(fault.Unavailable, ErrUnreadable.Message, errors.Join(ErrUnreadable, fmt.Errorf("billing: open charge %s: %w", r.ID, err)))
	}
	var b sealed
	if err := json.Unmarshal(pt, &b); err != nil {
		return Charge{}, fault.Wrap(fault.Unavailable, ErrUnreadable.Message, errors.Join(ErrUnreadable, fmt.Errorf("billing: decode charge %s: %w", r.ID, err)))
	}
	c := r.Charge
	c.ProcedureCodes, c.DiagnosisCodes, c.Note = b.Procedures, b.Diagnoses, b.Note
	return c, nil
}

func (s *Service) seal(ctx context.Context, c Charge) ([]byte, error) {
	pt, err := json.Marshal(sealed{Procedures: c.ProcedureCodes, Diagnoses: c.DiagnosisCodes, Note: c.Note})
	if err != nil {
		return nil, fmt.Errorf("billing: encode charge: %w", err)
	}
	ct, err := s.cipher.Seal(ctx, c.PatientID, loc(c.ID), pt)
	if err != nil {
		return nil, fmt.Errorf("billing: seal charge: %w", err)
	}
	return ct, nil
}

func note(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxNoteLength {
		return "", fault.InvalidField("note", fmt.Sprintf("write a note of at most %d characters", MaxNoteLength))
	}
	return s, nil
}

// patientSees reports whether a patient is shown a charge in this status.
func patientSees(s Status) bool { return s != Draft && s != Void }
