package keys

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
	"github.com/tink-crypto/tink-go/v2/tink"
	"google.golang.org/protobuf/proto"

	"haven/internal/keys/kms/localfile"
	"haven/internal/store"
)

// Root key versions and rotation.
//
// The local root key file is a Tink keyset: a version is one of its keys, named by its Tink key
// id, and Tink writes that id in front of every ciphertext (0x01 and four bytes). Every wrapped
// key row (patient_keys, system_keys) records the version it is under in kek_version, so a
// rotation can count what is left under an old version. A rotation (Rotate, `haven keys
// rotate`):
//
//  1. adds a new version to the key file and makes it primary (atomically: temp file, fsync,
//     rename), unless the file already holds more than one version: a rotation is under way
//     and this run resumes it;
//  2. rewraps every patient keyset and every system row (keysets, the audit checkpoint signer,
//     prescribers' signing keys, anything else in system_keys) under the new version in
//     batches, each row updated with a compare-and-set on its old wrapped value, so a row that
//     a running Haven shredded or rewrote meanwhile is left alone;
//  3. retires each old version, removing it from the key file, only once no row is under it.
//
// A running Haven keeps serving throughout: its root key AEAD (localfile) notices when the key
// file is replaced, wraps new keys under the new version from then on, and opens keys
// rewrapped under a version it had not loaded yet. Data keys are never changed, so nothing
// sealed under them is touched and cached patient keys stay valid.

// tinkPrefix starts every ciphertext of a Tink key with the TINK output prefix type.
const tinkPrefix = 0x01

// wrappedVersion is the root key version a wrapped value is under: the Tink key id in front of
// the ciphertext, either the value itself (a secret sealed directly by the root key) or the
// encrypted part of a wrapped keyset (Tink's EncryptedKeyset).
func wrappedVersion(wrapped []byte) (uint32, bool) {
	ct := wrapped
	if len(ct) == 0 || ct[0] != tinkPrefix {
		var ek tinkpb.EncryptedKeyset
		if err := proto.Unmarshal(wrapped, &ek); err != nil {
			return 0, false
		}
		ct = ek.GetEncryptedKeyset()
	}
	if len(ct) < 5 || ct[0] != tinkPrefix {
		return 0, false
	}
	return binary.BigEndian.Uint32(ct[1:5]), true
}

// versionColumn is what kek_version records for a wrapped value: its version, or NULL if the
// value carries none.
func versionColumn(wrapped []byte) any {
	if v, ok := wrappedVersion(wrapped); ok {
		return int64(v)
	}
	return nil
}

// rewrap opens a wrapped value with kek and seals it again under kek's primary version, keeping
// its form (a keyset stays an EncryptedKeyset with the same key info) and its associated data.
func rewrap(kek tink.AEAD, wrapped, ad []byte) ([]byte, error) {
	if len(wrapped) > 0 && wrapped[0] == tinkPrefix {
		pt, err := kek.Decrypt(wrapped, ad)
		if err != nil {
			return nil, fmt.Errorf("keys: unwrap for rotation (wrong root key?): %w", err)
		}
		return kek.Encrypt(pt, ad)
	}
	var ek tinkpb.EncryptedKeyset
	if err := proto.Unmarshal(wrapped, &ek); err != nil {
		return nil, fmt.Errorf("keys: wrapped keyset: %w", err)
	}
	pt, err := kek.Decrypt(ek.GetEncryptedKeyset(), ad)
	if err != nil {
		return nil, fmt.Errorf("keys: unwrap keyset for rotation (wrong root key?): %w", err)
	}
	if ek.EncryptedKeyset, err = kek.Encrypt(pt, ad); err != nil {
		return nil, fmt.Errorf("keys: rewrap keyset: %w", err)
	}
	out, err := proto.Marshal(&ek)
	if err != nil {
		return nil, fmt.Errorf("keys: encode rewrapped keyset: %w", err)
	}
	return out, nil
}

// wrappedTable is one table of wrapped keys and how its rows are named in associated data.
type wrappedTable struct {
	table, idColumn, kind string
}

var wrappedTables = [...]wrappedTable{
	{"system_keys", "name", "system"},
	{"patient_keys", "patient_id", "patient"},
}

// openRewrapped opens a wrapped value read with query(id); if it does not open, it reads the row
// again and, if a rotation rewrapped it meanwhile (the old version may be retired between the
// read and the unwrap), opens the new value.
func openRewrapped[T any](ctx context.Context, s *Service, query, id string, wrapped []byte, open func([]byte) (T, error)) (T, error) {
	v, err := open(wrapped)
	if err == nil {
		return v, nil
	}
	var again []byte
	if s.db.QueryRowContext(ctx, query, id).Scan(&again) != nil || bytes.Equal(again, wrapped) {
		return v, err
	}
	return open(again)
}

// RotateOptions tunes a rotation.
type RotateOptions struct {
	// BatchSize is the number of rows rewrapped per transaction (default 500).
	BatchSize int
	// Limit stops the run after this many rows are rewrapped, leaving the rotation under way
	// (0: no limit). A later run resumes it.
	Limit int
	// Progress, if set, is told the rows done and the total after each batch.
	Progress func(done, total int)
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// RotateReport says what a rotation run did.
type RotateReport struct {
	Version   uint32   // the new (primary) root key version
	Resumed   bool     // the run resumed a rotation under way instead of starting one
	Total     int      // rows not under the new version when the run began
	Rewrapped int      // rows this run rewrapped
	Retired   []uint32 // old versions removed from the key file
	Complete  bool     // every row is under the new version and no old version is left
}

// Rotate rotates the root key held in the local key file keyFile and rewraps every wrapped key
// in db under the new version. It is safe to run while Haven serves, and to run again after an
// interruption: it resumes the rotation under way.
func Rotate(ctx context.Context, db *store.DB, keyFile string, o RotateOptions) (RotateReport, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var rep RotateReport
	ids, primary, err := localfile.Versions(keyFile)
	if err != nil {
		return rep, err
	}
	if err := recordVersions(ctx, db, ids, o.Now()); err != nil {
		return rep, err
	}
	if len(ids) > 1 {
		rep.Version, rep.Resumed = primary, true
	} else {
		if rep.Version, err = localfile.AddPrimary(keyFile); err != nil {
			return rep, err
		}
		if err := recordVersions(ctx, db, []uint32{rep.Version}, o.Now()); err != nil {
			return rep, err
		}
	}
	kek, err := localfile.Client{}.GetAEAD(localfile.URI(keyFile))
	if err != nil {
		return rep, err
	}
	if rep.Total, err = countNotUnder(ctx, db, rep.Version); err != nil {
		return rep, err
	}
	// A running Haven that had not yet noticed the new version may write a row under the old
	// one while a pass runs: passes repeat until one finds nothing left.
	for pass := 0; ; pass++ {
		n, limited, err := rewrapPass(ctx, db, kek, rep.Version, o, &rep)
		if err != nil || limited {
			return rep, err
		}
		left, err := countNotUnder(ctx, db, rep.Version)
		if err != nil {
			return rep, err
		}
		if left == 0 {
			break
		}
		if n == 0 && pass > 3 {
			return rep, fmt.Errorf("keys: rotation: %d wrapped keys could not be rewrapped; run again", left)
		}
	}
	ids, _, err = localfile.Versions(keyFile)
	if err != nil {
		return rep, err
	}
	for _, id := range ids {
		if id == rep.Version {
			continue
		}
		used, err := countUnder(ctx, db, id)
		if err != nil {
			return rep, err
		}
		if used > 0 {
			return rep, fmt.Errorf("keys: rotation: root key version %d still wraps %d keys; run again", id, used)
		}
		if err := localfile.Remove(keyFile, id); err != nil {
			return rep, err
		}
		if _, err := db.ExecContext(ctx, `UPDATE root_key_versions SET retired_at = $1 WHERE id = $2`, o.Now().UnixNano(), int64(id)); err != nil {
			return rep, fmt.Errorf("keys: record retired root key version: %w", err)
		}
		rep.Retired = append(rep.Retired, id)
	}
	rep.Complete = true
	return rep, nil
}

// recordVersions adds the versions not yet in root_key_versions. A version that predates the
// table (the installation's first root key) is dated by the oldest wrapped system key.
func recordVersions(ctx context.Context, db *store.DB, ids []uint32, now time.Time) error {
	for _, id := range ids {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM root_key_versions WHERE id = $1`, int64(id)).Scan(&n); err != nil {
			return fmt.Errorf("keys: read root key versions: %w", err)
		}
		if n > 0 {
			continue
		}
		created := now.UnixNano()
		var first sql.NullInt64
		if err := db.QueryRowContext(ctx, `SELECT MIN(created_at) FROM system_keys WHERE kek_version = $1 OR kek_version IS NULL`, int64(id)).Scan(&first); err != nil {
			return fmt.Errorf("keys: date root key version: %w", err)
		}
		if first.Valid && first.Int64 < created {
			created = first.Int64
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO root_key_versions (id, created_at) VALUES ($1, $2)`, int64(id), created); err != nil && !store.IsUniqueViolation(err) {
			return fmt.Errorf("keys: record root key version: %w", err)
		}
	}
	return nil
}

func countNotUnder(ctx context.Context, db *store.DB, version uint32) (int, error) {
	total := 0
	for _, t := range wrappedTables {
		var n int
		q := `SELECT COUNT(*) FROM ` + t.table + ` WHERE kek_version IS NULL OR kek_version <> $1`
		if err := db.QueryRowContext(ctx, q, int64(version)).Scan(&n); err != nil {
			return 0, fmt.Errorf("keys: count %s to rewrap: %w", t.table, err)
		}
		total += n
	}
	return total, nil
}

// countUnder counts the rows under version, and those whose version is not recorded.
func countUnder(ctx context.Context, db *store.DB, version uint32) (int, error) {
	total := 0
	for _, t := range wrappedTables {
		var n int
		q := `SELECT COUNT(*) FROM ` + t.table + ` WHERE kek_version IS NULL OR kek_version = $1`
		if err := db.QueryRowContext(ctx, q, int64(version)).Scan(&n); err != nil {
			return 0, fmt.Errorf("keys: count %s under a root key version: %w", t.table, err)
		}
		total += n
	}
	return total, nil
}

type wrappedRow struct {
	id      string
	wrapped []byte
}

// rewrapPass walks both tables in key order once, rewrapping every row not under version. It
// returns the rows rewrapped, and whether it stopped at o.Limit.
func rewrapPass(ctx context.Context, db *store.DB, kek tink.AEAD, version uint32, o RotateOptions, rep *RotateReport) (int, bool, error) {
	done := 0
	for _, t := range wrappedTables {
		after := ""
		for {
			if err := ctx.Err(); err != nil {
				return done, false, fmt.Errorf("keys: rotation interrupted: %w", err)
			}
			size := o.BatchSize
			if o.Limit > 0 {
				if o.Limit-rep.Rewrapped <= 0 {
					return done, true, nil
				}
				size = min(size, o.Limit-rep.Rewrapped)
			}
			batch, err := selectBatch(ctx, db, t, version, after, size)
			if err != nil {
				return done, false, err
			}
			if len(batch) == 0 {
				break
			}
			after = batch[len(batch)-1].id
			n, err := rewrapBatch(ctx, db, kek, t, batch)
			if err != nil {
				return done, false, err
			}
			done += n
			rep.Rewrapped += n
			if o.Progress != nil {
				o.Progress(min(rep.Rewrapped, max(rep.Total, rep.Rewrapped)), max(rep.Total, rep.Rewrapped))
			}
		}
	}
	return done, false, nil
}

func selectBatch(ctx context.Context, db *store.DB, t wrappedTable, version uint32, after string, size int) ([]wrappedRow, error) {
	q := `SELECT ` + t.idColumn + `, wrapped FROM ` + t.table + ` WHERE ` + t.idColumn + ` > $1 AND (kek_version IS NULL OR kek_version <> $2) ORDER BY ` + t.idColumn + ` LIMIT $3`
	rows, err := db.QueryContext(ctx, q, after, int64(version), size)
	if err != nil {
		return nil, fmt.Errorf("keys: read %s to rewrap: %w", t.table, err)
	}
	defer rows.Close()
	var out []wrappedRow
	for rows.Next() {
		var r wrappedRow
		if err := rows.Scan(&r.id, &r.wrapped); err != nil {
			return nil, fmt.Errorf("keys: read %s to rewrap: %w", t.table, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keys: read %s to rewrap: %w", t.table, err)
	}
	return out, nil
}

// rewrapBatch rewraps the rows of one batch in one transaction; each update only applies if the
// row still holds the value that was rewrapped (compare-and-set), so a key shredded or
// replaced meanwhile is neither resurrected nor overwritten.
func rewrapBatch(ctx context.Context, db *store.DB, kek tink.AEAD, t wrappedTable, batch []wrappedRow) (int, error) {
	type update struct {
		id         string
		old, neu   []byte
		neuVersion any
	}
	ups := make([]update, 0, len(batch))
	for _, r := range batch {
		neu, err := rewrap(kek, r.wrapped, wrapAD(t.kind, r.id))
		if err != nil {
			return 0, fmt.Errorf("%w (%s row %s)", err, t.table, r.id)
		}
		ups = append(ups, update{r.id, r.wrapped, neu, versionColumn(neu)})
	}
	n := 0
	q := `UPDATE ` + t.table + ` SET wrapped = $1, kek_version = $2 WHERE ` + t.idColumn + ` = $3 AND wrapped = $4`
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, u := range ups {
			res, err := tx.ExecContext(ctx, q, u.neu, u.neuVersion, u.id, u.old)
			if err != nil {
				return fmt.Errorf("keys: rewrap %s row: %w", t.table, err)
			}
			k, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("keys: rewrap %s row: %w", t.table, err)
			}
			n += int(k)
		}
		return nil
	})
	return n, err
}

// RootKeyAge is when the root key version in use was created: the compliance report's "key
// rotation age". Before any rotation it is the installation's first start.
func (s *Service) RootKeyAge(ctx context.Context) (time.Time, error) {
	var at sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(created_at) FROM root_key_versions WHERE retired_at IS NULL`).Scan(&at)
	if err != nil {
		return time.Time{}, fmt.Errorf("keys: root key age: %w", err)
	}
	if !at.Valid {
		if err := s.db.QueryRowContext(ctx, `SELECT MIN(created_at) FROM system_keys`).Scan(&at); err != nil {
			return time.Time{}, fmt.Errorf("keys: root key age: %w", err)
		}
	}
	if !at.Valid {
		return time.Time{}, errors.New("keys: root key age: no root key in use yet")
	}
	return time.Unix(0, at.Int64).UTC(), nil
}
