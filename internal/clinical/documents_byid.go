package clinical

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"haven/internal/access"
	"haven/internal/guard"
)

// The FHIR API names a document by its id alone (DocumentReference/{id}, Binary/{id}), where
// the JSON API's path names the patient too. The row says whose the document is; the door then
// decides document.read on that patient, as it would on the JSON API's path. An id that names
// no document is ErrNotFound before the door, as Prescriptions.Get answers one.

const (
	selectDocumentPatient = `SELECT patient_id FROM documents WHERE id = $1`
	selectDocumentInfo    = `SELECT id, uploaded_by, by_patient, content_type, size_bytes, meta_ct, created_at
		FROM documents WHERE id = $1 AND patient_id = $2`
)

// documentPatient is whose document id is.
func (r *Records) documentPatient(ctx context.Context, id string) (string, error) {
	if id == "" || len(id) > 64 {
		return "", ErrNotFound
	}
	var patientID string
	err := r.db.QueryRowContext(ctx, selectDocumentPatient, id).Scan(&patientID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("clinical: document's patient: %w", err)
	}
	return patientID, nil
}

// DocumentInfo returns one document, named by its id alone, without its content
// (document.read on its patient).
func (r *Records) DocumentInfo(ctx context.Context, by access.Subject, docID string, o Origin) (Document, error) {
	patientID, err := r.documentPatient(ctx, docID)
	if err != nil {
		return Document{}, err
	}
	return guard.Do(ctx, r.door, act(by, access.ReadDocument, "Document", docID, patientID, o), func(ctx context.Context) (Document, error) {
		var d Document
		var mct []byte
		var byPatient int
		var created int64
		err := r.db.QueryRowContext(ctx, selectDocumentInfo, docID, patientID).Scan(&d.ID, &d.UploadedBy, &byPatient, &d.ContentType,
			&d.Size, &mct, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return Document{}, ErrNotFound
		}
		if err != nil {
			return Document{}, fmt.Errorf("clinical: load document: %w", err)
		}
		if err := r.openDocumentMeta(ctx, patientID, &d, mct); err != nil {
			return Document{}, err
		}
		d.PatientID, d.ByPatient, d.CreatedAt = patientID, byPatient == 1, time.Unix(0, created).UTC()
		docs := []Document{d}
		if err := r.nameUploaders(ctx, docs); err != nil {
			return Document{}, err
		}
		return docs[0], nil
	})
}

// DocumentByID returns one document, named by its id alone, and its content, to download
// (document.read on its patient).
func (r *Records) DocumentByID(ctx context.Context, by access.Subject, docID string, o Origin) (Document, []byte, error) {
	patientID, err := r.documentPatient(ctx, docID)
	if err != nil {
		return Document{}, nil, err
	}
	return r.DocumentContent(ctx, by, patientID, docID, o)
}
