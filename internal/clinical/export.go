package clinical

import (
	"context"
	"fmt"
	"slices"
	"time"

	"haven/internal/access"
	"haven/internal/guard"
)

// Export is a patient's whole record as they download it (record.export): every section in
// the order the record keeps it, entered-in-error items included and marked, notes with their
// addenda, the list of documents (names and dates, not their content) and the prescriptions a
// patient sees (no drafts).
type Export struct {
	Patient       Patient        `json:"patient"`
	Problems      []Item         `json:"problems"`
	Allergies     []Item         `json:"allergies"`
	Medications   []Item         `json:"medications"`
	Vitals        []Item         `json:"vitals"`
	Immunizations []Item         `json:"immunizations"`
	Notes         []Note         `json:"notes"`
	Documents     []Document     `json:"documents"`
	Prescriptions []Prescription `json:"prescriptions"`
	// ExportedAt is when the export was made.
	ExportedAt time.Time `json:"exportedAt"`
	// Files are the documents' contents, in the order of Documents, when the export was asked
	// with them (an archive); nil otherwise.
	Files [][]byte `json:"-"`
}

// ExportRecord gathers a patient's whole record for them to download, with the documents'
// contents if withFiles. It is one guarded act (record.export: the patient's own record, after
// a fresh second factor): one audit entry, in the patient's access log, covers everything the
// export holds.
func (p *Prescriptions) ExportRecord(ctx context.Context, by access.Subject, patientID string, withFiles bool, o Origin) (Export, error) {
	r := p.r
	return guard.Do(ctx, r.door, act(by, access.ExportRecord, "Patient", patientID, patientID, o), func(ctx context.Context) (Export, error) {
		e := Export{ExportedAt: r.now().UTC(), Problems: []Item{}, Allergies: []Item{}, Medications: []Item{}, Vitals: []Item{}, Immunizations: []Item{}}
		var err error
		if e.Patient, err = r.loadPatient(ctx, patientID); err != nil {
			return Export{}, err
		}
		items, err := r.loadItems(ctx, patientID)
		if err != nil {
			return Export{}, err
		}
		if err := r.nameRecorders(ctx, items); err != nil {
			return Export{}, err
		}
		for _, it := range items {
			switch it.Kind {
			case KindCondition:
				e.Problems = append(e.Problems, it)
			case KindAllergy:
				e.Allergies = append(e.Allergies, it)
			case KindMedication:
				e.Medications = append(e.Medications, it)
			case KindObservation:
				e.Vitals = append(e.Vitals, it)
			case KindImmunization:
				e.Immunizations = append(e.Immunizations, it)
			}
		}
		if e.Notes, err = r.loadNotes(ctx, patientID); err != nil {
			return Export{}, err
		}
		if e.Documents, err = r.exportDocuments(ctx, patientID); err != nil {
			return Export{}, err
		}
		if e.Prescriptions, err = p.exportPrescriptions(ctx, patientID); err != nil {
			return Export{}, err
		}
		if withFiles {
			for _, d := range e.Documents {
				b, err := r.exportFile(ctx, patientID, d.ID)
				if err != nil {
					return Export{}, err
				}
				e.Files = append(e.Files, b)
			}
		}
		return e, nil
	})
}

// exportDocuments lists a patient's documents, oldest first, without their content. The
// caller has passed the door.
func (r *Records) exportDocuments(ctx context.Context, patientID string) ([]Document, error) {
	docs, err := r.loadDocuments(ctx, patientID)
	if err != nil {
		return nil, err
	}
	slices.Reverse(docs)
	return docs, nil
}

// exportFile opens one document's content. The caller has passed the door.
func (r *Records) exportFile(ctx context.Context, patientID, docID string) ([]byte, error) {
	var ct []byte
	if err := r.db.QueryRowContext(ctx, `SELECT content_ct FROM documents WHERE id = $1 AND patient_id = $2`, docID, patientID).Scan(&ct); err != nil {
		return nil, fmt.Errorf("clinical: export document: %w", err)
	}
	content, err := r.cipher.Open(ctx, patientID, documentLocation(docID, "content"), ct)
	if err != nil {
		return nil, r.unreadable(ctx, patientID, fmt.Errorf("clinical: open document: %w", err))
	}
	return content, nil
}

// exportPrescriptions lists a patient's prescriptions but drafts, oldest first. The caller
// has passed the door.
func (p *Prescriptions) exportPrescriptions(ctx context.Context, patientID string) ([]Prescription, error) {
	rows, err := p.r.db.QueryContext(ctx, selectRxCols+` WHERE patient_id = $1 AND status <> 'draft' ORDER BY created_at, id`, patientID)
	if err != nil {
		return nil, fmt.Errorf("clinical: export prescriptions: %w", err)
	}
	defer rows.Close()
	var rowsOut []rxRow
	for rows.Next() {
		row, ct, err := scanRx(rows)
		if err != nil {
			return nil, fmt.Errorf("clinical: export prescriptions: %w", err)
		}
		if err := p.open(ctx, &row, ct); err != nil {
			return nil, err
		}
		rowsOut = append(rowsOut, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clinical: export prescriptions: %w", err)
	}
	out := make([]Prescription, len(rowsOut))
	ps := make([]*Prescription, len(rowsOut))
	for i := range rowsOut {
		out[i] = rowsOut[i].Prescription
		ps[i] = &out[i]
	}
	return out, p.name(ctx, ps)
}
