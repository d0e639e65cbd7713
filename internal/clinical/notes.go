package clinical

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/keys"
)

// MaxNoteLength bounds a note, in characters.
const MaxNoteLength = 20000

const (
	insertNote  = `INSERT INTO notes (id, patient_id, author_id, body_ct, created_at) VALUES ($1, $2, $3, $4, $5)`
	selectNotes = `SELECT id, author_id, body_ct, created_at FROM notes WHERE patient_id = $1 ORDER BY created_at, id`
)

// AddNote writes a clinical note to a patient's record. The caller's right is decided before
// the note is looked at, and the allowed write is recorded only once the note is valid.
func (r *Records) AddNote(ctx context.Context, by access.Subject, patientID, body string, o Origin) (string, error) {
	id := newID()
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

func (r *Records) loadNotes(ctx context.Context, patientID string) ([]Note, error) {
	rows, err := r.db.QueryPrepared(ctx, selectNotes, patientID)
	if err != nil {
		return nil, fmt.Errorf("clinical: load notes: %w", err)
	}
	defer rows.Close()
	notes := []Note{}
	for rows.Next() {
		var n Note
		var ct []byte
		var created int64
		if err := rows.Scan(&n.ID, &n.AuthorID, &ct, &created); err != nil {
			return nil, fmt.Errorf("clinical: scan note: %w", err)
		}
		body, err := r.cipher.Open(ctx, patientID, keys.Location{Table: "notes", Row: n.ID, Field: "body"}, ct)
		if err != nil {
			return nil, r.unreadable(ctx, patientID, fmt.Errorf("clinical: open note: %w", err))
		}
		n.Body = string(body)
		n.CreatedAt = time.Unix(0, created).UTC()
		notes = append(notes, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clinical: load notes: %w", err)
	}
	if len(notes) == 0 {
		return notes, nil
	}
	authors := make([]string, len(notes))
	for i, n := range notes {
		authors[i] = n.AuthorID
	}
	names, err := r.accounts.DisplayNames(ctx, authors)
	if err != nil {
		return nil, fmt.Errorf("clinical: note authors: %w", err)
	}
	for i := range notes {
		name, ok := names[notes[i].AuthorID]
		if !ok {
			return nil, fmt.Errorf("clinical: note %s: author %s: %w", notes[i].ID, notes[i].AuthorID, ErrNoAuthor)
		}
		notes[i].AuthorName = name
	}
	return notes, nil
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

const selectNote = `SELECT id, author_id, body_ct, created_at FROM notes WHERE id = $1 AND patient_id = $2`

// Note returns one note of a patient's record: a visit's summary, as its patient or its
// clinician reads it from the visit's page. It is a read of the record (record.read), decided
// and recorded like Get; a note of another patient's record is ErrNotFound.
func (r *Records) Note(ctx context.Context, by access.Subject, patientID, noteID string, o Origin) (Note, error) {
	return guard.Do(ctx, r.door, act(by, access.ReadRecord, "Note", noteID, patientID, o), func(ctx context.Context) (Note, error) {
		var n Note
		var ct []byte
		var created int64
		err := r.db.QueryRowContext(ctx, selectNote, noteID, patientID).Scan(&n.ID, &n.AuthorID, &ct, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return Note{}, ErrNotFound
		}
		if err != nil {
			return Note{}, fmt.Errorf("clinical: load note: %w", err)
		}
		body, err := r.cipher.Open(ctx, patientID, keys.Location{Table: "notes", Row: n.ID, Field: "body"}, ct)
		if err != nil {
			return Note{}, r.unreadable(ctx, patientID, fmt.Errorf("clinical: open note: %w", err))
		}
		n.Body, n.CreatedAt = string(body), time.Unix(0, created).UTC()
		names, err := r.accounts.DisplayNames(ctx, []string{n.AuthorID})
		if err != nil {
			return Note{}, fmt.Errorf("clinical: note author: %w", err)
		}
		name, ok := names[n.AuthorID]
		if !ok {
			return Note{}, fmt.Errorf("clinical: note %s: author %s: %w", n.ID, n.AuthorID, ErrNoAuthor)
		}
		n.AuthorName = name
		return n, nil
	})
}
