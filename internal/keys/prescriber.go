package keys

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"

	"haven/internal/store"
)

// prescriberKeyName names a clinician's prescription signing key in system_keys.
func prescriberKeyName(accountID string) string { return "prescriber/" + accountID }

// SignAsPrescriber signs a prescription's digest with the clinician's own Ed25519 key, created
// on first use and kept sealed by the root key; it returns the signature and the public key.
// The key never leaves this package. The caller (package clinical) has passed the door, which
// asked for a fresh second factor, and records the public key in the audit log.
func (s *Service) SignAsPrescriber(ctx context.Context, accountID string, digest []byte) (sig, publicKey []byte, err error) {
	if accountID == "" {
		return nil, nil, errors.New("keys: prescriber key: no account")
	}
	seed, err := s.prescriberSeed(ctx, accountID)
	if err != nil {
		return nil, nil, err
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return ed25519.Sign(priv, digest), priv.Public().(ed25519.PublicKey), nil
}

func (s *Service) prescriberSeed(ctx context.Context, accountID string) ([]byte, error) {
	name := prescriberKeyName(accountID)
	ad := wrapAD("system", name)
	var sealed []byte
	err := s.db.QueryRowContext(ctx, selectSystemKey, name).Scan(&sealed)
	if err == nil {
		seed, err := openRewrapped(ctx, s, selectSystemKey, name, sealed, func(w []byte) ([]byte, error) { return s.kek.Decrypt(w, ad) })
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("keys: unwrap prescriber key (wrong root key?): %w", err)
		}
		return seed, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("keys: load prescriber key: %w", err)
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("keys: generate prescriber key: %w", err)
	}
	if sealed, err = s.kek.Encrypt(seed, ad); err != nil {
		return nil, fmt.Errorf("keys: wrap prescriber key: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, insertSystemKey, name, sealed, s.now().UnixNano(), versionColumn(sealed)); err != nil {
		if store.IsUniqueViolation(err) {
			return s.prescriberSeed(ctx, accountID) // another request created it first
		}
		return nil, fmt.Errorf("keys: store prescriber key: %w", err)
	}
	return seed, nil
}
