package keys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"

	"haven/internal/store"
)

const (
	insertPatientKey = `INSERT INTO patient_keys (patient_id, wrapped, created_at, kek_version) VALUES ($1, $2, $3, $4)`
	selectPatientKey = `SELECT wrapped FROM patient_keys WHERE patient_id = $1`
	deletePatientKey = `DELETE FROM patient_keys WHERE patient_id = $1`
)

// FieldSealer seals values under one patient's key.
type FieldSealer interface {
	Seal(loc Location, plaintext []byte) ([]byte, error)
}

type patientKey struct{ a tink.AEAD }

func (k patientKey) Seal(loc Location, plaintext []byte) ([]byte, error) {
	ct, err := k.a.Encrypt(plaintext, loc.associatedData())
	if err != nil {
		return nil, fmt.Errorf("keys: seal %s.%s: %w", loc.Table, loc.Field, err)
	}
	return ct, nil
}

// CreatePatientKey generates the patient's data keyset, wraps it under the root key and writes it
// through q, which may be the transaction that creates the patient. The returned sealer lets
// that transaction seal the patient's first fields before the key row is committed.
func (s *Service) CreatePatientKey(ctx context.Context, q store.Execer, patientID string) (FieldSealer, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("keys: generate patient keyset: %w", err)
	}
	wrapped, err := s.wrap(h, wrapAD("patient", patientID))
	if err != nil {
		return nil, err
	}
	a, err := aead.New(h)
	if err != nil {
		return nil, fmt.Errorf("keys: patient primitive: %w", err)
	}
	if _, err := q.ExecContext(ctx, insertPatientKey, patientID, wrapped, s.now().UnixNano(), versionColumn(wrapped)); err != nil {
		return nil, fmt.Errorf("keys: store patient keyset: %w", err)
	}
	return patientKey{a}, nil
}

// Shred deletes the patient's data keyset. Everything sealed under it, in the database and in
// every backup, can no longer be opened.
func (s *Service) Shred(ctx context.Context, patientID string) error {
	if _, err := s.db.ExecContext(ctx, deletePatientKey, patientID); err != nil {
		return fmt.Errorf("keys: shred patient keyset: %w", err)
	}
	s.mu.Lock()
	delete(s.cache, patientID)
	s.mu.Unlock()
	return nil
}

func (s *Service) patientAEAD(ctx context.Context, patientID string) (tink.AEAD, error) {
	s.mu.Lock()
	a, ok := s.cache[patientID]
	s.mu.Unlock()
	if ok {
		return a, nil
	}
	var wrapped []byte
	err := s.db.QueryRowPrepared(ctx, selectPatientKey, patientID).Scan(&wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoKey
	}
	if err != nil {
		return nil, fmt.Errorf("keys: load patient keyset: %w", err)
	}
	h, err := openRewrapped(ctx, s, selectPatientKey, patientID, wrapped, func(w []byte) (*keyset.Handle, error) {
		return s.unwrap(w, wrapAD("patient", patientID))
	})
	if err != nil {
		return nil, err
	}
	if a, err = aead.New(h); err != nil {
		return nil, fmt.Errorf("keys: patient primitive: %w", err)
	}
	s.mu.Lock()
	if len(s.cache) >= maxCachedPatientKeys {
		clear(s.cache)
	}
	s.cache[patientID] = a
	s.mu.Unlock()
	return a, nil
}

// Seal encrypts a PHI value under the patient's key, bound to loc.
func (s *Service) Seal(ctx context.Context, patientID string, loc Location, plaintext []byte) ([]byte, error) {
	a, err := s.patientAEAD(ctx, patientID)
	if err != nil {
		return nil, err
	}
	return patientKey{a}.Seal(loc, plaintext)
}

// Open decrypts a PHI value sealed by Seal for the same patient and location.
func (s *Service) Open(ctx context.Context, patientID string, loc Location, ciphertext []byte) ([]byte, error) {
	a, err := s.patientAEAD(ctx, patientID)
	if err != nil {
		return nil, err
	}
	pt, err := a.Decrypt(ciphertext, loc.associatedData())
	if err != nil {
		return nil, fmt.Errorf("%w: %s.%s row %s", ErrOpen, loc.Table, loc.Field, loc.Row)
	}
	return pt, nil
}

// SealDirectory encrypts a workforce detail or account secret under the directory key.
func (s *Service) SealDirectory(loc Location, plaintext []byte) ([]byte, error) {
	ct, err := s.directory.Encrypt(plaintext, loc.associatedData())
	if err != nil {
		return nil, fmt.Errorf("keys: seal %s.%s: %w", loc.Table, loc.Field, err)
	}
	return ct, nil
}

// OpenDirectory decrypts a value sealed by SealDirectory at the same location.
func (s *Service) OpenDirectory(loc Location, ciphertext []byte) ([]byte, error) {
	pt, err := s.directory.Decrypt(ciphertext, loc.associatedData())
	if err != nil {
		return nil, fmt.Errorf("%w: %s.%s row %s", ErrOpen, loc.Table, loc.Field, loc.Row)
	}
	return pt, nil
}
