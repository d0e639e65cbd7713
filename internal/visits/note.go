package visits

import (
	"context"
	"errors"

	"haven/internal/access"
	"haven/internal/clinical"
)

// SaveNote writes the visit's draft note (note.write through the record's own path): the
// visit names the patient. Its author changes it until it is signed, when the visit ends or
// by itself.
func (s *Service) SaveNote(ctx context.Context, by access.Subject, visitID string, n clinical.VisitNote, o Origin) (clinical.Note, error) {
	r, err := s.loadVisit(ctx, visitID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return clinical.Note{}, err
	}
	// A visit that does not exist has no patient: the record's door refuses it as another
	// patient's, so the answer never tells which identifiers exist.
	return s.records.SaveVisitNote(ctx, by, r.patientID, r.id, n, o)
}

// Note reads the visit's note (record.read through the record's own path): the draft for its
// author, or the signed note with its addenda. ErrNotFound if none was written yet.
func (s *Service) Note(ctx context.Context, by access.Subject, visitID string, o Origin) (clinical.Note, error) {
	r, err := s.loadVisit(ctx, visitID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return clinical.Note{}, err
	}
	return s.records.VisitNote(ctx, by, r.patientID, r.id, o)
}
