package clinical

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"haven/internal/ids"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"haven/internal/access"
	"haven/internal/clinical/upload"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/keys"
)

// MaxDocumentBytes bounds one document or image, as sent.
const MaxDocumentBytes = 10 << 20

// maxDocumentName bounds a document's file name and title, in characters.
const maxDocumentName = 200

// Document is a document or an image in a patient's record, without its content.
type Document struct {
	ID          string `json:"id"`
	PatientID   string `json:"patientId"`
	FileName    string `json:"fileName"`
	Title       string `json:"title,omitempty"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	UploadedBy  string `json:"uploadedBy"`
	// UploadedByName names the staff member who added it; empty when the patient did
	// (ByPatient).
	UploadedByName string    `json:"uploadedByName,omitempty"`
	ByPatient      bool      `json:"byPatient"`
	CreatedAt      time.Time `json:"createdAt"`
}

// NewDocument is a document as sent: its bytes, the type the sender declared (may be empty),
// its file name and an optional title.
type NewDocument struct {
	FileName     string
	Title        string
	DeclaredType string
	Content      []byte
}

// documentMeta is the sealed part of a document's row besides its content.
type documentMeta struct {
	FileName string `json:"fileName"`
	Title    string `json:"title,omitempty"`
}

func documentLocation(id, field string) keys.Location {
	return keys.Location{Table: "documents", Row: id, Field: field}
}

const (
	insertDocument = `INSERT INTO documents (id, patient_id, uploaded_by, by_patient, content_type, size_bytes, meta_ct, content_ct, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	selectDocuments = `SELECT id, uploaded_by, by_patient, content_type, size_bytes, meta_ct, created_at
		FROM documents WHERE patient_id = $1 ORDER BY created_at DESC, id`
	selectDocument = `SELECT id, uploaded_by, by_patient, content_type, size_bytes, meta_ct, created_at, content_ct
		FROM documents WHERE id = $1 AND patient_id = $2`
)

// UploadDocument adds a document or an image to a patient's record (document.upload). The
// caller's right is decided before the content is looked at. The type is sniffed from the
// bytes and must be on the allow-list and agree with the declared one; an image loses its
// metadata (location, device, comments) before it is sealed.
func (r *Records) UploadDocument(ctx context.Context, by access.Subject, patientID string, d NewDocument, o Origin) (Document, error) {
	id := ids.New()
	a := act(by, access.UploadDocument, "Document", id, patientID, o)
	if err := r.door.Admit(ctx, a); err != nil {
		return Document{}, err
	}
	if len(d.Content) > MaxDocumentBytes {
		return Document{}, fault.InvalidField("file", fmt.Sprintf("the file is over %d MiB: send a smaller one", MaxDocumentBytes>>20))
	}
	typ, err := upload.Check(d.Content, d.DeclaredType)
	if err != nil {
		return Document{}, fieldError("file", err)
	}
	content, err := upload.Clean(typ, d.Content)
	if err != nil {
		return Document{}, fieldError("file", err)
	}
	title := strings.TrimSpace(d.Title)
	if !utf8.ValidString(title) || utf8.RuneCountInString(title) > maxDocumentName {
		return Document{}, fault.InvalidField("title", fmt.Sprintf("write a title of up to %d characters", maxDocumentName))
	}
	meta := documentMeta{FileName: cleanFileName(d.FileName, typ), Title: title}
	return guard.Do(ctx, r.door, a, func(ctx context.Context) (Document, error) {
		plain, err := json.Marshal(meta)
		if err != nil {
			return Document{}, fmt.Errorf("clinical: encode document: %w", err)
		}
		mct, err := r.cipher.Seal(ctx, patientID, documentLocation(id, "meta"), plain)
		if err != nil {
			return Document{}, fmt.Errorf("clinical: seal document: %w", err)
		}
		cct, err := r.cipher.Seal(ctx, patientID, documentLocation(id, "content"), content)
		if err != nil {
			return Document{}, fmt.Errorf("clinical: seal document: %w", err)
		}
		now := r.now()
		byPatient := 0
		if by.Role == access.Patient {
			byPatient = 1
		}
		if _, err := r.db.ExecContext(ctx, insertDocument, id, patientID, by.AccountID, byPatient, typ, int64(len(content)),
			mct, cct, now.UnixNano()); err != nil {
			return Document{}, fmt.Errorf("clinical: insert document: %w", err)
		}
		doc := Document{ID: id, PatientID: patientID, FileName: meta.FileName, Title: meta.Title, ContentType: typ,
			Size: int64(len(content)), UploadedBy: by.AccountID, ByPatient: byPatient == 1, CreatedAt: now.UTC()}
		if err := r.nameUploaders(ctx, []Document{doc}); err != nil {
			return Document{}, err
		}
		return doc, nil
	})
}

// fieldError gives a safe refusal from package upload the field it is about.
func fieldError(field string, err error) error {
	if fe := fault.As(err); fe != nil && fe.Kind == fault.Invalid {
		return fault.InvalidField(field, fe.Message)
	}
	return err
}

// Documents lists a patient's documents, newest first, without their content (document.read).
// The act is on the patient's documents (type Document, no one document), so a connected
// system needs a DocumentReference scope for it, not a Patient one.
func (r *Records) Documents(ctx context.Context, by access.Subject, patientID string, o Origin) ([]Document, error) {
	return guard.Do(ctx, r.door, act(by, access.ReadDocument, "Document", "", patientID, o), func(ctx context.Context) ([]Document, error) {
		return r.loadDocuments(ctx, patientID)
	})
}

// loadDocuments reads a patient's documents, newest first, without their content, their
// uploaders named. The caller has passed the door.
func (r *Records) loadDocuments(ctx context.Context, patientID string) ([]Document, error) {
	rows, err := r.db.QueryContext(ctx, selectDocuments, patientID)
	if err != nil {
		return nil, fmt.Errorf("clinical: load documents: %w", err)
	}
	defer rows.Close()
	docs := []Document{}
	for rows.Next() {
		var d Document
		var mct []byte
		var byPatient int
		var created int64
		if err := rows.Scan(&d.ID, &d.UploadedBy, &byPatient, &d.ContentType, &d.Size, &mct, &created); err != nil {
			return nil, fmt.Errorf("clinical: scan document: %w", err)
		}
		if err := r.openDocumentMeta(ctx, patientID, &d, mct); err != nil {
			return nil, err
		}
		d.PatientID, d.ByPatient, d.CreatedAt = patientID, byPatient == 1, time.Unix(0, created).UTC()
		docs = append(docs, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clinical: load documents: %w", err)
	}
	return docs, r.nameUploaders(ctx, docs)
}

// DocumentContent returns one document and its content, to download (document.read). A
// document of another patient's record is ErrNotFound.
func (r *Records) DocumentContent(ctx context.Context, by access.Subject, patientID, docID string, o Origin) (Document, []byte, error) {
	type opened struct {
		doc     Document
		content []byte
	}
	res, err := guard.Do(ctx, r.door, act(by, access.ReadDocument, "Document", docID, patientID, o), func(ctx context.Context) (opened, error) {
		var d Document
		var mct, cct []byte
		var byPatient int
		var created int64
		err := r.db.QueryRowContext(ctx, selectDocument, docID, patientID).Scan(&d.ID, &d.UploadedBy, &byPatient, &d.ContentType,
			&d.Size, &mct, &created, &cct)
		if errors.Is(err, sql.ErrNoRows) {
			return opened{}, ErrNotFound
		}
		if err != nil {
			return opened{}, fmt.Errorf("clinical: load document: %w", err)
		}
		if err := r.openDocumentMeta(ctx, patientID, &d, mct); err != nil {
			return opened{}, err
		}
		content, err := r.cipher.Open(ctx, patientID, documentLocation(d.ID, "content"), cct)
		if err != nil {
			return opened{}, r.unreadable(ctx, patientID, fmt.Errorf("clinical: open document: %w", err))
		}
		d.PatientID, d.ByPatient, d.CreatedAt = patientID, byPatient == 1, time.Unix(0, created).UTC()
		return opened{d, content}, nil
	})
	return res.doc, res.content, err
}

func (r *Records) openDocumentMeta(ctx context.Context, patientID string, d *Document, mct []byte) error {
	plain, err := r.cipher.Open(ctx, patientID, documentLocation(d.ID, "meta"), mct)
	if err != nil {
		return r.unreadable(ctx, patientID, fmt.Errorf("clinical: open document: %w", err))
	}
	var m documentMeta
	if err := json.Unmarshal(plain, &m); err != nil {
		return r.unreadable(ctx, patientID, fmt.Errorf("clinical: decode document: %w", err))
	}
	d.FileName, d.Title = m.FileName, m.Title
	return nil
}

// nameUploaders names the staff who uploaded docs; a patient's own uploads stay unnamed.
func (r *Records) nameUploaders(ctx context.Context, docs []Document) error {
	var ids []string
	for _, d := range docs {
		if !d.ByPatient {
			ids = append(ids, d.UploadedBy)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	names, err := r.accounts.DisplayNames(ctx, ids)
	if err != nil {
		return fmt.Errorf("clinical: document uploaders: %w", err)
	}
	for i := range docs {
		docs[i].UploadedByName = names[docs[i].UploadedBy]
	}
	return nil
}

// extensions are the file-name endings of each kept type, the first the one given.
var extensions = map[string][]string{
	upload.PDF: {".pdf"}, upload.PNG: {".png"}, upload.JPEG: {".jpg", ".jpeg"}, upload.WebP: {".webp"},
}

// cleanFileName keeps the last part of a sent file name, without control characters, bounded,
// and ending as its sniffed type does: a download never carries a misleading extension.
func cleanFileName(name, typ string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) || c == utf8.RuneError || c == '"' {
			return -1
		}
		return c
	}, strings.ToValidUTF8(name, ""))
	name = strings.TrimSpace(strings.Trim(name, "."))
	if rs := []rune(name); len(rs) > maxDocumentName-8 {
		name = string(rs[:maxDocumentName-8])
	}
	if name == "" || name == "/" {
		name = "document"
	}
	exts := extensions[typ]
	lower := strings.ToLower(name)
	for _, e := range exts {
		if strings.HasSuffix(lower, e) {
			return name
		}
	}
	if len(exts) > 0 {
		name += exts[0]
	}
	return name
}
