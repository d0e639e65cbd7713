package clinical

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
)

// NoteKind is what a note is.
type NoteKind string

// Note kinds, as stored in notes.kind.
const (
	NoteFree     NoteKind = "note"     // a free-text note, final when written
	NoteVisit    NoteKind = "visit"    // a visit's structured note: a draft, then signed
	NoteAddendum NoteKind = "addendum" // an addendum to a signed note, final when written
)

// Note statuses.
const (
	NoteDraft  = "draft"
	NoteSigned = "signed"
)

// Sensitive categories a note may be marked with, for later consent rules.
const (
	CategoryMentalHealth = "mental-health"
	CategorySubstanceUse = "substance-use"
	CategorySexualHealth = "sexual-health"
)

// Categories lists the sensitive categories, in the order a form offers them.
var Categories = []string{CategoryMentalHealth, CategorySubstanceUse, CategorySexualHealth}

// ReasonNotAuthor is recorded when someone other than a draft's author tries to change, sign or
// read it.
const ReasonNotAuthor = "not-note-author"

// Errors of visit notes. Their text is safe to show.
var (
	// ErrNoteSigned: a signed note is never changed; an addendum amends it.
	ErrNoteSigned = fault.New(fault.Conflict, "this note is signed and is never changed: add an addendum to it instead")
	// ErrNoteDraft: a draft is changed or signed by its author, not amended.
	ErrNoteDraft = fault.New(fault.Conflict, "this note is still a draft: its author finishes and signs it before an addendum can be added")
)

// SOAP is a visit note's structured content: what the patient said, what was found, the
// assessment and the plan (the plan is the summary the patient reads).
type SOAP struct {
	Subjective string `json:"subjective,omitempty"`
	Objective  string `json:"objective,omitempty"`
	Assessment string `json:"assessment,omitempty"`
	Plan       string `json:"plan,omitempty"`
}

// VisitNote is a visit note as its author writes it: the SOAP sections and, for a note in a
// sensitive category, that category (one of Categories).
type VisitNote struct {
	SOAP
	Category string `json:"category,omitempty"`
}

// noteBody is a visit note's sealed body.
type noteBody struct {
	SOAP
	Category string `json:"category,omitempty"`
}

func noteLocation(id string) keys.Location {
	return keys.Location{Table: "notes", Row: id, Field: "body"}
}

func (n *VisitNote) validate() error {
	for _, f := range []struct {
		name string
		v    *string
	}{{"subjective", &n.Subjective}, {"objective", &n.Objective}, {"assessment", &n.Assessment}, {"plan", &n.Plan}} {
		*f.v = strings.TrimSpace(*f.v)
		if !utf8.ValidString(*f.v) || utf8.RuneCountInString(*f.v) > MaxNoteLength {
			return fault.InvalidField(f.name, fmt.Sprintf("write up to %d characters", MaxNoteLength))
		}
	}
	if n.Category != "" && !slices.Contains(Categories, n.Category) {
		return fault.InvalidField("category", "choose mental health, substance use or sexual health, or none")
	}
	return nil
}

func (n VisitNote) empty() bool {
	return n.Subjective == "" && n.Objective == "" && n.Assessment == "" && n.Plan == ""
}

const (
	insertVisitNote = `INSERT INTO notes (id, patient_id, author_id, body_ct, created_at, kind, status, visit_id, sensitive, updated_at)
		VALUES ($1, $2, $3, $4, $5, 'visit', 'draft', $6, $7, $5)`
	updateDraft = `UPDATE notes SET body_ct = $1, sensitive = $2, updated_at = $3
		WHERE id = $4 AND author_id = $5 AND status = 'draft'`
	signDraft = `UPDATE notes SET status = 'signed', signed_at = $1, signed_by = $2, updated_at = $1
		WHERE id = $3 AND author_id = $2 AND status = 'draft'`
	insertAddendum = `INSERT INTO notes (id, patient_id, author_id, body_ct, created_at, kind, status, signed_at, signed_by, amends, updated_at)
		VALUES ($1, $2, $3, $4, $5, 'addendum', 'signed', $5, $3, $6, $5)`
	selectNoteRow  = `SELECT patient_id, author_id, kind, status, COALESCE(amends, '') FROM notes WHERE id = $1`
	selectVisitRow = `SELECT id, patient_id, author_id, kind, status, COALESCE(amends, '') FROM notes WHERE visit_id = $1 AND kind = 'visit'`
	selectOneNote  = `SELECT ` + noteColumns + ` FROM notes WHERE id = $1 AND patient_id = $2`
	selectAddenda  = `SELECT ` + noteColumns + ` FROM notes WHERE amends = $1 AND patient_id = $2 AND kind = 'addendum' ORDER BY created_at, id`
)

// noteRow is what decides an act on a note: whose record it is in, who wrote it, and whether
// it is signed.
type noteRow struct {
	id, patientID, authorID, status, amends string
	kind                                    NoteKind
}

// findNote looks note id up; one that does not exist has no patient, and the policy refuses
// it as it would another patient's note, so the answer never tells which identifiers exist.
func (r *Records) findNote(ctx context.Context, id string) (noteRow, error) {
	n := noteRow{id: id}
	err := r.db.QueryRowContext(ctx, selectNoteRow, id).Scan(&n.patientID, &n.authorID, &n.kind, &n.status, &n.amends)
	if errors.Is(err, sql.ErrNoRows) {
		return noteRow{}, nil
	}
	if err != nil {
		return noteRow{}, fmt.Errorf("clinical: find note: %w", err)
	}
	return n, nil
}

// SaveVisitNote writes the draft note of a visit (note.write): the first save creates it, the
// next ones replace its sections. Only its author changes a draft; a signed note is never
// changed (ErrNoteSigned).
func (r *Records) SaveVisitNote(ctx context.Context, by access.Subject, patientID, visitID string, n VisitNote, o Origin) (Note, error) {
	return r.saveVisitNote(ctx, by, patientID, visitID, n, false, o)
}

// saveVisitNote is SaveVisitNote; with merge, the sections n leaves empty keep the draft's.
func (r *Records) saveVisitNote(ctx context.Context, by access.Subject, patientID, visitID string, n VisitNote, merge bool, o Origin) (Note, error) {
	var cur noteRow
	err := r.db.QueryRowContext(ctx, selectVisitRow, visitID).Scan(&cur.id, &cur.patientID, &cur.authorID, &cur.kind, &cur.status, &cur.amends)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Note{}, fmt.Errorf("clinical: find visit note: %w", err)
	}
	id := cur.id
	if id == "" {
		id = ids.New()
	}
	a := act(by, access.WriteNote, "Note", id, patientID, o)
	if err := r.door.Admit(ctx, a); err != nil {
		return Note{}, err
	}
	switch {
	case cur.id != "" && cur.patientID != patientID:
		return Note{}, ErrNotFound
	case cur.status == NoteSigned:
		return Note{}, ErrNoteSigned
	case cur.id != "" && cur.authorID != by.AccountID:
		return Note{}, r.door.Refuse(ctx, a, ReasonNotAuthor)
	}
	if err := n.validate(); err != nil {
		return Note{}, err
	}
	return guard.Do(ctx, r.door, a, func(ctx context.Context) (Note, error) {
		if merge && cur.id != "" {
			draft, err := r.loadNote(ctx, patientID, id)
			if err != nil {
				return Note{}, err
			}
			if draft.SOAP != nil {
				n.Subjective = cmpOr(n.Subjective, draft.SOAP.Subjective)
				n.Objective = cmpOr(n.Objective, draft.SOAP.Objective)
				n.Assessment = cmpOr(n.Assessment, draft.SOAP.Assessment)
				n.Plan = cmpOr(n.Plan, draft.SOAP.Plan)
			}
			n.Category = cmpOr(n.Category, draft.Category)
		}
		plain, err := json.Marshal(noteBody(n))
		if err != nil {
			return Note{}, fmt.Errorf("clinical: encode note: %w", err)
		}
		ct, err := r.cipher.Seal(ctx, patientID, noteLocation(id), plain)
		if err != nil {
			return Note{}, fmt.Errorf("clinical: seal note: %w", err)
		}
		sensitive, now := boolInt(n.Category != ""), r.now().UnixNano()
		if cur.id == "" {
			if _, err := r.db.ExecContext(ctx, insertVisitNote, id, patientID, by.AccountID, ct, now, visitID, sensitive); err != nil {
				return Note{}, fmt.Errorf("clinical: insert visit note: %w", err)
			}
		} else if err := r.changedOne(ctx, ErrNoteSigned, updateDraft, ct, sensitive, now, id, by.AccountID); err != nil {
			return Note{}, err
		}
		return r.loadNote(ctx, patientID, id)
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// changedOne runs an update that must change exactly one row, or answers lost.
func (r *Records) changedOne(ctx context.Context, lost error, q string, args ...any) error {
	res, err := r.db.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("clinical: update note: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("clinical: update note: %w", err)
	}
	if n != 1 {
		return lost
	}
	return nil
}

// FinishVisitNote writes a visit's note and signs it, as a visit ends: the sections n gives
// replace the draft's (if its author kept one), the others stay. Two acts, each recorded:
// note.write, then note.sign.
func (r *Records) FinishVisitNote(ctx context.Context, by access.Subject, patientID, visitID string, n VisitNote, o Origin) (string, error) {
	if err := r.door.Admit(ctx, act(by, access.SignNote, "Note", "", patientID, o)); err != nil {
		return "", err
	}
	note, err := r.saveVisitNote(ctx, by, patientID, visitID, n, true, o)
	if err != nil {
		return "", err
	}
	if _, err := r.SignNote(ctx, by, note.ID, o); err != nil {
		return "", err
	}
	return note.ID, nil
}

// SignNote signs a draft note (note.sign): from then on it is never changed, only amended by
// an addendum. Only its author signs it.
func (r *Records) SignNote(ctx context.Context, by access.Subject, noteID string, o Origin) (Note, error) {
	cur, err := r.findNote(ctx, noteID)
	if err != nil {
		return Note{}, err
	}
	a := act(by, access.SignNote, "Note", noteID, cur.patientID, o)
	if err := r.door.Admit(ctx, a); err != nil {
		return Note{}, err
	}
	switch {
	case cur.status == NoteSigned:
		return Note{}, ErrNoteSigned
	case cur.authorID != by.AccountID:
		return Note{}, r.door.Refuse(ctx, a, ReasonNotAuthor)
	}
	return guard.Do(ctx, r.door, a, func(ctx context.Context) (Note, error) {
		draft, err := r.loadNote(ctx, cur.patientID, noteID)
		if err != nil {
			return Note{}, err
		}
		if draft.SOAP == nil || (VisitNote{SOAP: *draft.SOAP}).empty() {
			return Note{}, fault.InvalidField("plan", "write the note before signing it")
		}
		if err := r.changedOne(ctx, ErrNoteSigned, signDraft, r.now().UnixNano(), by.AccountID, noteID); err != nil {
			return Note{}, err
		}
		return r.loadNote(ctx, cur.patientID, noteID)
	})
}

// AddAddendum amends a signed note (note.addendum): the addendum is a note of its own, signed
// when written, that names the note it amends; the original is never touched. An addendum to
// an addendum amends the original note.
func (r *Records) AddAddendum(ctx context.Context, by access.Subject, noteID, text string, o Origin) (Note, error) {
	cur, err := r.findNote(ctx, noteID)
	if err != nil {
		return Note{}, err
	}
	id := ids.New()
	a := act(by, access.AddAddendum, "Note", id, cur.patientID, o)
	if err := r.door.Admit(ctx, a); err != nil {
		return Note{}, err
	}
	if cur.status != NoteSigned {
		return Note{}, ErrNoteDraft
	}
	parent := noteID
	if cur.kind == NoteAddendum {
		parent = cur.amends
	}
	text = strings.TrimSpace(text)
	if text == "" || !utf8.ValidString(text) || utf8.RuneCountInString(text) > MaxNoteLength {
		return Note{}, fault.InvalidField("body", fmt.Sprintf("write an addendum of 1 to %d characters", MaxNoteLength))
	}
	return guard.Do(ctx, r.door, a, func(ctx context.Context) (Note, error) {
		ct, err := r.cipher.Seal(ctx, cur.patientID, noteLocation(id), []byte(text))
		if err != nil {
			return Note{}, fmt.Errorf("clinical: seal addendum: %w", err)
		}
		if _, err := r.db.ExecContext(ctx, insertAddendum, id, cur.patientID, by.AccountID, ct, r.now().UnixNano(), parent); err != nil {
			return Note{}, fmt.Errorf("clinical: insert addendum: %w", err)
		}
		return r.loadNote(ctx, cur.patientID, parent)
	})
}

// NoteByID reads one note with its addenda (record.read). A draft is its author's alone.
func (r *Records) NoteByID(ctx context.Context, by access.Subject, noteID string, o Origin) (Note, error) {
	cur, err := r.findNote(ctx, noteID)
	if err != nil {
		return Note{}, err
	}
	a := act(by, access.ReadRecord, "Note", noteID, cur.patientID, o)
	if err := r.door.Admit(ctx, a); err != nil {
		return Note{}, err
	}
	if cur.status == NoteDraft && cur.authorID != by.AccountID {
		return Note{}, r.door.Refuse(ctx, a, ReasonNotAuthor)
	}
	return guard.Do(ctx, r.door, a, func(ctx context.Context) (Note, error) {
		return r.loadNote(ctx, cur.patientID, noteID)
	})
}

// VisitNote reads a visit's note (record.read), for its page: the draft to go on with (its
// author's alone), or the signed note with its addenda. A visit with no note yet is
// ErrNotFound.
func (r *Records) VisitNote(ctx context.Context, by access.Subject, patientID, visitID string, o Origin) (Note, error) {
	var cur noteRow
	err := r.db.QueryRowContext(ctx, selectVisitRow, visitID).Scan(&cur.id, &cur.patientID, &cur.authorID, &cur.kind, &cur.status, &cur.amends)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Note{}, fmt.Errorf("clinical: find visit note: %w", err)
	}
	a := act(by, access.ReadRecord, "Note", cur.id, patientID, o)
	if err := r.door.Admit(ctx, a); err != nil {
		return Note{}, err
	}
	if cur.id == "" || cur.patientID != patientID {
		return Note{}, ErrNotFound
	}
	if cur.status == NoteDraft && cur.authorID != by.AccountID {
		return Note{}, r.door.Refuse(ctx, a, ReasonNotAuthor)
	}
	return guard.Do(ctx, r.door, a, func(ctx context.Context) (Note, error) {
		return r.loadNote(ctx, patientID, cur.id)
	})
}

// loadNote reads one note of a patient's record with its addenda. The caller has passed the
// door.
func (r *Records) loadNote(ctx context.Context, patientID, noteID string) (Note, error) {
	n, err := r.scanNote(ctx, patientID, r.db.QueryRowContext(ctx, selectOneNote, noteID, patientID))
	if errors.Is(err, sql.ErrNoRows) {
		return Note{}, ErrNotFound
	}
	if err != nil {
		return Note{}, err
	}
	rows, err := r.db.QueryContext(ctx, selectAddenda, noteID, patientID)
	if err != nil {
		return Note{}, fmt.Errorf("clinical: load addenda: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		ad, err := r.scanNote(ctx, patientID, rows)
		if err != nil {
			return Note{}, err
		}
		n.Addenda = append(n.Addenda, ad.addendum())
	}
	if err := rows.Err(); err != nil {
		return Note{}, fmt.Errorf("clinical: load addenda: %w", err)
	}
	notes := []Note{n}
	if err := r.nameAuthors(ctx, notes); err != nil {
		return Note{}, err
	}
	return notes[0], nil
}

type scanner interface{ Scan(dest ...any) error }

// scanNote reads one row of noteColumns and opens its body.
func (r *Records) scanNote(ctx context.Context, patientID string, row scanner) (Note, error) {
	var n Note
	var ct []byte
	var created, signed, updated int64
	var sensitive int
	err := row.Scan(&n.ID, &n.AuthorID, &ct, &created, &n.Kind, &n.Status, &n.VisitID, &signed, &n.SignedBy, &sensitive, &n.Amends, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Note{}, err
	}
	if err != nil {
		return Note{}, fmt.Errorf("clinical: scan note: %w", err)
	}
	body, err := r.cipher.Open(ctx, patientID, noteLocation(n.ID), ct)
	if err != nil {
		return Note{}, r.unreadable(ctx, patientID, fmt.Errorf("clinical: open note: %w", err))
	}
	if n.Kind == NoteVisit {
		var b noteBody
		if err := json.Unmarshal(body, &b); err != nil {
			return Note{}, r.unreadable(ctx, patientID, fmt.Errorf("clinical: decode note: %w", err))
		}
		n.SOAP, n.Category, n.Body = &b.SOAP, b.Category, b.Plan
	} else {
		n.Body = string(body)
	}
	n.Sensitive = sensitive == 1
	n.CreatedAt, n.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	if signed != 0 {
		t := time.Unix(0, signed).UTC()
		n.SignedAt = &t
	}
	return n, nil
}

// AdmitToNote decides action on note noteID before a request's body is read, recording a
// refusal; the act itself is decided and recorded again when it runs.
func (r *Records) AdmitToNote(ctx context.Context, by access.Subject, action, noteID string, o Origin) error {
	cur, err := r.findNote(ctx, noteID)
	if err != nil {
		return err
	}
	return r.door.Admit(ctx, act(by, access.Action(action), "Note", noteID, cur.patientID, o))
}
