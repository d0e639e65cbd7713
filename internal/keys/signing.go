package keys

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"haven/internal/store"
)

// ErrNoAuditKey means no audit checkpoint has been signed yet, so there is no key.
var ErrNoAuditKey = errors.New("keys: no audit signing key yet")

// AuditKeyName names the audit log's checkpoint signing key in the signed-note format.
const AuditKeyName = "haven-audit"

const auditSignerKey = "audit-checkpoint-signer"

// AuditSigner returns the Ed25519 key that signs audit checkpoints (created on first use and
// stored sealed by the root key) and its public verifier key in note format, which anyone may
// hold to check checkpoints without the database.
func (s *Service) AuditSigner(ctx context.Context) (note.Signer, string, error) {
	skey, err := s.auditSecretKey(ctx, true)
	if err != nil {
		return nil, "", err
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, "", fmt.Errorf("keys: audit signer: %w", err)
	}
	vkey, err := verifierKey(skey)
	if err != nil {
		return nil, "", err
	}
	return signer, vkey, nil
}

// AuditVerifierKey returns the public checkpoint verifier key without creating one; an error if
// no checkpoint was ever signed (ErrNoAuditKey).
func (s *Service) AuditVerifierKey(ctx context.Context) (string, error) {
	skey, err := s.auditSecretKey(ctx, false)
	if err != nil {
		return "", err
	}
	return verifierKey(skey)
}

func (s *Service) auditSecretKey(ctx context.Context, create bool) (string, error) {
	ad := wrapAD("system", auditSignerKey)
	var sealed []byte
	err := s.db.QueryRowContext(ctx, selectSystemKey, auditSignerKey).Scan(&sealed)
	if err == nil {
		skey, err := openRewrapped(ctx, s, selectSystemKey, auditSignerKey, sealed, func(w []byte) ([]byte, error) { return s.kek.Decrypt(w, ad) })
		if err != nil {
			return "", fmt.Errorf("keys: unwrap audit signing key (wrong root key?): %w", err)
		}
		return string(skey), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("keys: load audit signing key: %w", err)
	}
	if !create {
		return "", ErrNoAuditKey
	}
	skey, _, err := note.GenerateKey(rand.Reader, AuditKeyName)
	if err != nil {
		return "", fmt.Errorf("keys: generate audit signing key: %w", err)
	}
	if sealed, err = s.kek.Encrypt([]byte(skey), ad); err != nil {
		return "", fmt.Errorf("keys: wrap audit signing key: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, insertSystemKey, auditSignerKey, sealed, s.now().UnixNano(), versionColumn(sealed)); err != nil {
		if store.IsUniqueViolation(err) {
			return s.auditSecretKey(ctx, false)
		}
		return "", fmt.Errorf("keys: store audit signing key: %w", err)
	}
	return skey, nil
}

// verifierKey derives the public verifier key from a note signer key
// ("PRIVATE+KEY+<name>+<hash>+<base64 of 0x01 and the Ed25519 seed>").
func verifierKey(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5) // the base64 part may itself contain "+"
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("keys: malformed audit signing key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("keys: malformed audit signing key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(parts[2], pub)
	if err != nil {
		return "", fmt.Errorf("keys: audit verifier key: %w", err)
	}
	return vkey, nil
}
