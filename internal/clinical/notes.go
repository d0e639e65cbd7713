package clinical

import (
	"context"
	"fmt"
	"haven/internal/ids"
	"strings"
	"unicode/utf8"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/keys"
)

// MaxNoteLength bounds a note, in characters.
const MaxNoteLength = 20000

const (
	insertNote = `INSERT INTO notes (id, patient_id, author_id, body_ct, created_at, kind, status, signed_at, signed_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, 'note', 'signed', $5, $3, $5)`
	noteColumns = `id, author_id, body_ct, created_at, kind, status, COALESCE(visit_id, ''), COALESCE(signed_at, 0),
		COALESCE(signed_by, ''), sensitive, COALESCE(amends, ''), COALESCE(updated_at, created_at)`
	selectNotes = `SELECT ` + noteColumns + ` FROM notes WHERE patient_id = $1 AND status = 'signed' ORDER BY created_at, id`
)

// AddNote writes a clinical note to a patient's record. The caller's right is decided before
// the note is looked at, and the allowed write is recorded only once the note is valid.
func (r *Records) AddNote(ctx context.Context, by access.Subject, patientID, body string, o Origin) (string, error) {
	id := ids.New()
	a := act(by, access.WriteNote, "Note", id, patientID, o)
	if err := r.door.Admit(ctx, a); err != nil {
		return "", err
	}
	body = strings.TrimSpace(body)
	if body == "" || utf8.RuneCountInString(body) > MaxNoteLength || !utf8.ValidString(body) {
		return "", fault.InvalidField("body", fmt.Sprintf("write a note of 1 to %d characters", MaxNoteLength))
	}
	return guard.Do(ctx, r.door, a, func(ctx context.Context) (string, error) {
		ct, err := r.cipher.Seal(ctx, patientID, keys.Location{Table: "notes", Row: id, Field: "body"}, []byte(body))
		if err != nil {
			return "", fmt.Errorf("clinical: seal note: %w", err)
		}
		if _, err := r.db.ExecContext(ctx, insertNote, id, patientID, by.AccountID, ct, r.now().UnixNano()); err != nil {
			return "", fmt.Errorf("clinical: insert note: %w", err)
		}
		return id, nil
	})
}

// loadNotes reads a patient's signed notes in the order they were written, each with its
// addenda in theirs. Drafts are their author's alone, on the visit's page (VisitNote).
func (r *Records) loadNotes(ctx context.Context, patientID string) ([]Note, error) {
	rows, err := r.db.QueryPrepared(ctx, selectNotes, patientID)
	if err != nil {
		return nil, fmt.Errorf("clinical: load notes: %w", err)
	}
	defer rows.Close()
	all := []Note{}
	for rows.Next() {
		n, err := r.scanNote(ctx, patientID, rows)
		if err != nil {
			return nil, err
		}
		all = append(all, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clinical: load notes: %w", err)
	}
	if err := r.nameAuthors(ctx, all); err != nil {
		return nil, err
	}
	return nestAddenda(all), nil
}

// nestAddenda puts each addendum under the note it amends, keeping the order of both.
func nestAddenda(all []Note) []Note {
	notes := []Note{}
	at := map[string]int{}
	for _, n := range all {
		if n.Kind != NoteAddendum {
			at[n.ID] = len(notes)
			notes = append(notes, n)
		}
	}
	for _, n := range all {
		if i, ok := at[n.Amends]; ok && n.Kind == NoteAddendum {
			notes[i].Addenda = append(notes[i].Addenda, n.addendum())
		}
	}
	return notes
}

// nameAuthors names the authors of notes (and of their addenda).
func (r *Records) nameAuthors(ctx context.Context, notes []Note) error {
	if len(notes) == 0 {
		return nil
	}
	var authors []string
	for _, n := range notes {
		authors = append(authors, n.AuthorID)
		for _, a := range n.Addenda {
			authors = append(authors, a.AuthorID)
		}
	}
	names, err := r.accounts.DisplayNames(ctx, authors)
	if err != nil {
		return fmt.Errorf("clinical: note authors: %w", err)
	}
	for i := range notes {
		name, ok := names[notes[i].AuthorID]
		if !ok {
			return fmt.Errorf("clinical: note %s: author %s: %w", notes[i].ID, notes[i].AuthorID, ErrNoAuthor)
		}
		notes[i].AuthorName = name
		for j := range notes[i].Addenda {
			notes[i].Addenda[j].AuthorName = names[notes[i].Addenda[j].AuthorID]
		}
	}
	return nil
}

// Note returns one note of a patient's record: a visit's summary, as its patient or its
// clinician reads it from the visit's page. It is a read of the record (record.read), decided
// and recorded like Get; a note of another patient's record is ErrNotFound.
func (r *Records) Note(ctx context.Context, by access.Subject, patientID, noteID string, o Origin) (Note, error) {
	return guard.Do(ctx, r.door, act(by, access.ReadRecord, "Note", noteID, patientID, o), func(ctx context.Context) (Note, error) {
		return r.loadNote(ctx, patientID, noteID)
	})
}
