// Package keys owns Haven's key hierarchy and is the only code that encrypts or decrypts data.
//
// The root key (KEK) comes from a KMS through Tink's registry.KMSClient: a local key file by
// default (kms/localfile), HashiCorp Vault transit or a cloud KMS in production. Under it:
//
//   - one Tink AES-256-GCM keyset per patient, wrapped by the KEK and stored in patient_keys;
//     every PHI field is sealed with its patient's keyset;
//   - a directory keyset for workforce contact details and account secrets (TOTP seeds);
//   - a blind-index keyset (HMAC-SHA256) for equality search over normalised PHI values;
//   - a search-index keyset (HMAC-SHA256), apart from the blind-index one, for the tokens that
//     find patients by name parts, prefixes, phone and birth date (IndexSearch).
//
// Every ciphertext is bound by associated data to the table, row and field it was written to, so
// a ciphertext copied to another row or column fails to open. Keys never fall back to plaintext:
// a missing or unwrappable key is an error. Deleting a patient's keyset (Shred) makes every copy
// of that patient's records unreadable, backups included.
//
// Every wrapped key records the root key version it is under (kek_version); Rotate (`haven keys
// rotate`) rewraps them all under a new version and retires the old one (see rotate.go).
package keys

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/mac"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"github.com/tink-crypto/tink-go/v2/tink"

	"haven/internal/fault"
	"haven/internal/store"
)

// ErrNoKey means the patient has no data key: never created, or shredded by an erasure. It
// is a Gone fault, so that a write or read of an erased patient's record, through whichever
// service, answers in words (410) instead of failing as an internal error.
var ErrNoKey error = fault.Wrap(fault.Gone, "this patient's record was erased and can no longer be opened",
	errors.New("keys: no data key for patient"))

// ErrOpen means a ciphertext failed authentication: tampered, moved, or sealed under another key.
var ErrOpen = errors.New("keys: ciphertext does not open")

// Location names where a sealed value lives. It is bound into the ciphertext as associated data.
type Location struct {
	Table, Row, Field string
}

func (l Location) associatedData() []byte {
	var b bytes.Buffer
	for _, part := range []string{"haven/v1", l.Table, l.Row, l.Field} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(part)))
		b.Write(n[:])
		b.WriteString(part)
	}
	return b.Bytes()
}

// Service holds the unwrapped system keysets and a bounded cache of patient keysets.
type Service struct {
	db        *store.DB
	kek       tink.AEAD
	directory tink.AEAD
	index     tink.MAC
	search    tink.MAC
	now       func() time.Time

	mu    sync.Mutex
	cache map[string]tink.AEAD
}

// maxCachedPatientKeys bounds the memory holding unwrapped patient keys.
const maxCachedPatientKeys = 4096

const (
	directoryKeyName = "directory"
	indexKeyName     = "blind-index"
	searchKeyName    = "search-index"
)

// Open loads the system keysets from db, creating them on first start, all wrapped by kek.
func Open(ctx context.Context, db *store.DB, kek tink.AEAD) (*Service, error) {
	s := &Service{db: db, kek: kek, now: time.Now, cache: map[string]tink.AEAD{}}
	dirHandle, err := s.systemKeyset(ctx, directoryKeyName, aead.AES256GCMKeyTemplate)
	if err != nil {
		return nil, err
	}
	if s.directory, err = aead.New(dirHandle); err != nil {
		return nil, fmt.Errorf("keys: directory primitive: %w", err)
	}
	idxHandle, err := s.systemKeyset(ctx, indexKeyName, mac.HMACSHA256Tag256KeyTemplate)
	if err != nil {
		return nil, err
	}
	if s.index, err = mac.New(idxHandle); err != nil {
		return nil, fmt.Errorf("keys: blind-index primitive: %w", err)
	}
	// Search tokens have a key of their own: a token and an equality index over the same text
	// never share a tag, and the token key can be replaced (tokens rebuilt) alone.
	searchHandle, err := s.systemKeyset(ctx, searchKeyName, mac.HMACSHA256Tag256KeyTemplate)
	if err != nil {
		return nil, err
	}
	if s.search, err = mac.New(searchHandle); err != nil {
		return nil, fmt.Errorf("keys: search-index primitive: %w", err)
	}
	return s, nil
}

func wrapAD(kind, id string) []byte { return []byte("haven/keyset/" + kind + "/" + id) }

func (s *Service) wrap(h *keyset.Handle, ad []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := h.WriteWithAssociatedData(keyset.NewBinaryWriter(&buf), s.kek, ad); err != nil {
		return nil, fmt.Errorf("keys: wrap keyset: %w", err)
	}
	return buf.Bytes(), nil
}

func (s *Service) unwrap(wrapped, ad []byte) (*keyset.Handle, error) {
	h, err := keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(wrapped)), s.kek, ad)
	if err != nil {
		return nil, fmt.Errorf("keys: unwrap keyset (wrong root key?): %w", err)
	}
	return h, nil
}

const (
	selectSystemKey = `SELECT wrapped FROM system_keys WHERE name = $1`
	insertSystemKey = `INSERT INTO system_keys (name, wrapped, created_at, kek_version) VALUES ($1, $2, $3, $4)`
)

func (s *Service) systemKeyset(ctx context.Context, name string, template func() *tinkpb.KeyTemplate) (*keyset.Handle, error) {
	ad := wrapAD("system", name)
	var wrapped []byte
	err := s.db.QueryRowContext(ctx, selectSystemKey, name).Scan(&wrapped)
	if err == nil {
		return openRewrapped(ctx, s, selectSystemKey, name, wrapped, func(w []byte) (*keyset.Handle, error) { return s.unwrap(w, ad) })
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("keys: load %s keyset: %w", name, err)
	}
	h, err := keyset.NewHandle(template())
	if err != nil {
		return nil, fmt.Errorf("keys: generate %s keyset: %w", name, err)
	}
	if wrapped, err = s.wrap(h, ad); err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, insertSystemKey, name, wrapped, s.now().UnixNano(), versionColumn(wrapped)); err != nil {
		if store.IsUniqueViolation(err) {
			// Another process created it first; use theirs.
			return s.systemKeyset(ctx, name, template)
		}
		return nil, fmt.Errorf("keys: store %s keyset: %w", name, err)
	}
	return h, nil
}
