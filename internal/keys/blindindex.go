package keys

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// IndexKind names what a blind index is computed over. The kind is part of the MAC input, so
// equal values of different kinds never share an index.
type IndexKind string

const (
	IndexName      IndexKind = "name"
	IndexBirthDate IndexKind = "birth-date"
	IndexEmail     IndexKind = "email"
	IndexPhone     IndexKind = "phone"
	// IndexRecovery keys recovery codes: the database holds their MACs, useless without the key.
	IndexRecovery IndexKind = "recovery-code"
	// IndexSearch keys patient search tokens ("name:lopez", "nprefix:lop", "phone:612345678",
	// "birth:1980-02-29"), built and normalised by their caller (package clinical). Its MACs
	// are computed under the search-index key, never the blind-index key.
	IndexSearch IndexKind = "search-token"
)

// maxSearchToken bounds a search token's length: tokens are short typed words.
const maxSearchToken = 256

// BlindIndex returns the HMAC of the normalised value, for equality search without plaintext.
// Search tokens (IndexSearch) are keyed with the search-index key, every other kind with the
// blind-index key.
func (s *Service) BlindIndex(kind IndexKind, value string) ([]byte, error) {
	n, err := Normalize(kind, value)
	if err != nil {
		return nil, err
	}
	key := s.index
	if kind == IndexSearch {
		key = s.search
	}
	tag, err := key.ComputeMAC([]byte(string(kind) + "\x00" + n))
	if err != nil {
		return nil, fmt.Errorf("keys: blind index: %w", err)
	}
	return tag, nil
}

// ErrUnindexable means a value cannot be normalised for its index kind.
var ErrUnindexable = fmt.Errorf("keys: value cannot be indexed")

// Normalize folds a value so that the ways a person types the same thing index the same:
// names lose case, accents and repeated white space; e-mail addresses are trimmed and
// lower-cased; phone numbers keep their digits; birth dates must be ISO 8601 (YYYY-MM-DD).
func Normalize(kind IndexKind, value string) (string, error) {
	switch kind {
	case IndexName:
		if !utf8.ValidString(value) {
			return "", fmt.Errorf("%w: name is not valid text", ErrUnindexable)
		}
		// Case folding and compatibility decomposition can each expose work for the other
		// (a folded letter may decompose to a mark; a decomposed symbol may be upper case), so
		// both are applied until the value stops changing.
		folded := value
		for range 4 {
			t := transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
			next, _, err := transform.String(t, cases.Fold().String(folded))
			if err != nil {
				return "", fmt.Errorf("%w: %v", ErrUnindexable, err)
			}
			if next == folded {
				break
			}
			folded = next
		}
		out := strings.Join(strings.Fields(folded), " ")
		if out == "" {
			return "", fmt.Errorf("%w: empty name", ErrUnindexable)
		}
		return out, nil
	case IndexEmail:
		if !utf8.ValidString(value) {
			return "", fmt.Errorf("%w: e-mail is not valid text", ErrUnindexable)
		}
		out := strings.ToLower(strings.TrimSpace(norm.NFC.String(value)))
		if out == "" {
			return "", fmt.Errorf("%w: empty e-mail", ErrUnindexable)
		}
		return out, nil
	case IndexPhone:
		var b strings.Builder
		for _, r := range value {
			if r >= '0' && r <= '9' {
				b.WriteRune(r)
			}
		}
		if b.Len() < 5 {
			return "", fmt.Errorf("%w: phone number has too few digits", ErrUnindexable)
		}
		return b.String(), nil
	case IndexRecovery:
		var b strings.Builder
		for _, r := range strings.ToUpper(value) {
			if (r >= 'A' && r <= 'Z') || (r >= '2' && r <= '7') {
				b.WriteRune(r)
			}
		}
		if b.Len() != 16 {
			return "", fmt.Errorf("%w: a recovery code has 16 characters", ErrUnindexable)
		}
		return b.String(), nil
	case IndexSearch:
		// The caller has normalised the token's text; it must be a typed word ("kind:text").
		if !utf8.ValidString(value) || len(value) > maxSearchToken || !strings.Contains(value, ":") || strings.HasSuffix(value, ":") {
			return "", fmt.Errorf("%w: not a search token", ErrUnindexable)
		}
		return value, nil
	case IndexBirthDate:
		d, err := time.Parse(time.DateOnly, strings.TrimSpace(value))
		if err != nil {
			return "", fmt.Errorf("%w: birth date must be YYYY-MM-DD", ErrUnindexable)
		}
		return d.Format(time.DateOnly), nil
	default:
		return "", fmt.Errorf("%w: unknown kind %q", ErrUnindexable, kind)
	}
}
