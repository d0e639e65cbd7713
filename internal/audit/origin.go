package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"haven/internal/store"
)

// A checkpoint's first line, its origin, names the log it is a head of (C2SP tlog-checkpoint).
// Each installation has its own, fixed at its first start and kept in the settings table, so a
// checkpoint of one installation's log is never taken for a head of another's, whatever key
// signed it. Haven used to write Go's checksum-database default, the same everywhere; those
// checkpoints still verify, but only up to the size the log had when its origin was fixed.

// LegacyOrigin is the origin line of checkpoints signed before installations had origins of
// their own (tlog.FormatTree's, the same on every installation).
const LegacyOrigin = "go.sum database tree"

// originPrefix starts every installation's origin: haven.audit/<128-bit random id in hex>.
const originPrefix = "haven.audit/"

// ErrNoLogOrigin means the installation has not fixed its checkpoint origin yet (the server has
// not started since it was upgraded); its checkpoints, if any, all carry LegacyOrigin.
var ErrNoLogOrigin = errors.New("audit: no checkpoint origin yet")

// LogOrigin is an installation's checkpoint origin.
type LogOrigin struct {
	// Name is the first line of every checkpoint this installation signs.
	Name string
	// LegacyThrough is the size of the largest checkpoint signed before Name was fixed, with
	// LegacyOrigin; 0 if the installation never signed one.
	LegacyThrough int64
}

// Accepts reports whether a checkpoint of size with origin line belongs to this log.
func (o LogOrigin) Accepts(line string, size int64) bool {
	if line == LegacyOrigin {
		return size <= o.LegacyThrough
	}
	return o.Name != "" && line == o.Name
}

// legacyKeyword introduces the second line of a LogOrigin's text form.
const legacyKeyword = "legacy-checkpoints-through "

// MarshalText writes the origin as stored and exported: the name, then, if the log has legacy
// checkpoints, "legacy-checkpoints-through N".
func (o LogOrigin) MarshalText() ([]byte, error) {
	if !validOrigin(o.Name) || o.LegacyThrough < 0 {
		return nil, fmt.Errorf("audit: malformed checkpoint origin %q", o.Name)
	}
	s := o.Name + "\n"
	if o.LegacyThrough > 0 {
		s += legacyKeyword + strconv.FormatInt(o.LegacyThrough, 10) + "\n"
	}
	return []byte(s), nil
}

// UnmarshalText reads what MarshalText wrote.
func (o *LogOrigin) UnmarshalText(b []byte) error {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) > 2 || !validOrigin(lines[0]) {
		return errors.New("audit: malformed checkpoint origin")
	}
	v := LogOrigin{Name: lines[0]}
	if len(lines) == 2 {
		n, ok := strings.CutPrefix(lines[1], legacyKeyword)
		size, err := strconv.ParseInt(n, 10, 64)
		if !ok || err != nil || size < 0 {
			return errors.New("audit: malformed checkpoint origin")
		}
		v.LegacyThrough = size
	}
	*o = v
	return nil
}

// validOrigin: a non-empty line of printable ASCII without spaces, and not the legacy one.
func validOrigin(s string) bool {
	if s == "" || s == LegacyOrigin {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

const (
	originSetting   = "audit-checkpoint-origin"
	selectOrigin    = `SELECT value FROM settings WHERE name = $1`
	insertOrigin    = `INSERT INTO settings (name, value) VALUES ($1, $2)`
	selectLargestCP = `SELECT COALESCE(MAX(size), 0) FROM audit_checkpoints`
)

// LoadLogOrigin returns the installation's checkpoint origin without creating it:
// ErrNoLogOrigin if it has none yet.
func LoadLogOrigin(ctx context.Context, db *store.DB) (LogOrigin, error) {
	var b []byte
	err := db.QueryRowContext(ctx, selectOrigin, originSetting).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return LogOrigin{}, ErrNoLogOrigin
	}
	if err != nil {
		return LogOrigin{}, fmt.Errorf("audit: load checkpoint origin: %w", err)
	}
	var o LogOrigin
	if err := o.UnmarshalText(b); err != nil {
		return LogOrigin{}, err
	}
	return o, nil
}

// EnsureLogOrigin returns the installation's checkpoint origin, creating it on first use
// (haven.audit/ and 128 random bits in hex). Checkpoints already stored then are recorded as
// legacy: they keep verifying, and no later one may use the legacy origin.
func EnsureLogOrigin(ctx context.Context, db *store.DB) (LogOrigin, error) {
	o, err := LoadLogOrigin(ctx, db)
	if !errors.Is(err, ErrNoLogOrigin) {
		return o, err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return LogOrigin{}, fmt.Errorf("audit: checkpoint origin: %w", err)
	}
	o = LogOrigin{Name: originPrefix + hex.EncodeToString(id[:])}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, selectLargestCP).Scan(&o.LegacyThrough); err != nil {
			return err
		}
		text, err := o.MarshalText()
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, insertOrigin, originSetting, text)
		return err
	})
	if store.IsUniqueViolation(err) {
		// Another process fixed it first: theirs stands.
		return LoadLogOrigin(ctx, db)
	}
	if err != nil {
		return LogOrigin{}, fmt.Errorf("audit: store checkpoint origin: %w", err)
	}
	return o, nil
}

// verifyingOrigin is the origin to check a stored log's checkpoints against: the installation's,
// or, before it has one, one that accepts only legacy checkpoints (all there are).
func verifyingOrigin(ctx context.Context, db *store.DB) (LogOrigin, error) {
	o, err := LoadLogOrigin(ctx, db)
	if errors.Is(err, ErrNoLogOrigin) {
		return LogOrigin{LegacyThrough: math.MaxInt64}, nil
	}
	return o, err
}

// FormatCheckpoint writes the body of a checkpoint in the C2SP tlog-checkpoint format: the
// origin, the tree size in decimal and the root hash in base64, one per line.
func FormatCheckpoint(origin string, t tlog.Tree) []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n", origin, t.N, base64.StdEncoding.EncodeToString(t.Hash[:]))
}

// ParseCheckpoint reads a checkpoint body written by FormatCheckpoint (or, for legacy
// checkpoints, tlog.FormatTree, whose origin line is LegacyOrigin). Extension lines after the
// root hash are allowed, as the format allows them, and ignored. The numbers must be written
// canonically, so one body has exactly one reading.
func ParseCheckpoint(text []byte) (origin string, t tlog.Tree, err error) {
	malformed := func(what string) (string, tlog.Tree, error) {
		return "", tlog.Tree{}, fmt.Errorf("audit: malformed checkpoint: %s", what)
	}
	if !bytes.HasSuffix(text, []byte("\n")) {
		return malformed("no final newline")
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) < 3 {
		return malformed("fewer than three lines")
	}
	if lines[0] == "" {
		return malformed("empty origin")
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return malformed("tree size")
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != lines[2] {
		return malformed("root hash")
	}
	for _, ext := range lines[3:] {
		if ext == "" {
			return malformed("empty extension line")
		}
	}
	t.N = n
	copy(t.Hash[:], h)
	return lines[0], t, nil
}
