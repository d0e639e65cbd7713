// Package recovery makes and reads recovery codes: single-use second factors for the day a
// person's authenticator is lost. A code is 80 random bits written as 16 base32 characters in
// four groups (XXXX-XXXX-XXXX-XXXX); it is shown once, and only its MAC under the blind-index
// key is stored, over the code's canonical form, so that what a person types matches however
// they type it: lower case, with or without the dashes, with spaces.
//
// It knows nothing of accounts, storage or use: identity stores the MACs, uses a code up on its
// first success, and records every attempt through the door.
package recovery

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"haven/internal/keys"
)

// Length is the number of characters in a code, dashes aside.
const Length = 16

const group = 4 // characters between dashes

// ErrMalformed means what was typed is not shaped like a recovery code.
var ErrMalformed = errors.New("recovery: not a recovery code")

// New returns a fresh code, formatted.
func New() string {
	var b [Length * 5 / 8]byte // 80 bits: base32 carries five bits a character
	rand.Read(b[:])
	return Format(base32.StdEncoding.EncodeToString(b[:]))
}

// Generate returns n fresh codes, formatted.
func Generate(n int) []string {
	codes := make([]string, n)
	for i := range codes {
		codes[i] = New()
	}
	return codes
}

// Format writes a canonical code in groups of four separated by dashes.
func Format(canonical string) string {
	var b strings.Builder
	for i, r := range canonical {
		if i > 0 && i%group == 0 {
			b.WriteByte('-')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Normalize returns the canonical form of a typed code: upper case, without the dashes and
// white space people add or leave out. Any other character, or a length other than Length, is
// ErrMalformed.
func Normalize(typed string) (string, error) {
	var b strings.Builder
	for _, r := range typed {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case (r >= 'A' && r <= 'Z') || (r >= '2' && r <= '7'):
			b.WriteRune(r)
		case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r):
			// a dash (any kind a word processor may turn '-' into) or white space
		default:
			return "", ErrMalformed
		}
		if b.Len() > Length {
			return "", ErrMalformed
		}
	}
	if b.Len() != Length {
		return "", ErrMalformed
	}
	return b.String(), nil
}

// Indexer computes blind indexes (identity's Directory is one).
type Indexer interface {
	BlindIndex(kind keys.IndexKind, value string) ([]byte, error)
}

// MAC returns what is stored for a code, and looked up when one is typed: the blind index of
// its canonical form. A typed value that is not a code is ErrMalformed.
func MAC(ix Indexer, code string) ([]byte, error) {
	canonical, err := Normalize(code)
	if err != nil {
		return nil, err
	}
	mac, err := ix.BlindIndex(keys.IndexRecovery, canonical)
	if err != nil {
		return nil, fmt.Errorf("recovery: mac: %w", err)
	}
	return mac, nil
}
