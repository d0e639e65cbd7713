package recovery_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"haven/internal/identity/recovery"
	"haven/internal/keys"
)

var shape = regexp.MustCompile(`^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$`)

func TestGenerate(t *testing.T) {
	codes := recovery.Generate(50)
	seen := map[string]bool{}
	for _, c := range codes {
		if !shape.MatchString(c) {
			t.Fatalf("code %q is not XXXX-XXXX-XXXX-XXXX in base32", c)
		}
		if seen[c] {
			t.Fatalf("code %q made twice", c)
		}
		seen[c] = true
		n, err := recovery.Normalize(c)
		if err != nil || recovery.Format(n) != c {
			t.Fatalf("Format(Normalize(%q)) = %q, %v", c, recovery.Format(n), err)
		}
	}
}

// TestNormalize: what a person types is read the way they meant it, and anything else is not a
// code (it never reaches the MAC).
func TestNormalize(t *testing.T) {
	const canonical = "ABCD2345EFGH67IJ"
	for _, tc := range []struct {
		typed string
		want  string // "" for ErrMalformed
	}{
		{"ABCD-2345-EFGH-67IJ", canonical},
		{"abcd-2345-efgh-67ij", canonical},
		{"ABCD2345EFGH67IJ", canonical},
		{"abcd2345efgh67ij", canonical},
		{"abcd 2345 efgh 67ij", canonical},
		{"  ABCD-2345-EFGH-67IJ\n", canonical},
		{"ABCD‐2345–EFGH—67IJ", canonical}, // dashes a word processor makes
		{"ABCD-2345-EFGH-67I", ""},         // one short
		{"ABCD-2345-EFGH-67IJK", ""},       // one long
		{"ABCD-2345-EFGH-67I1", ""},        // 1 is not in the alphabet
		{"ABCD-2345-EFGH-6.IJ", ""},        // nor is punctuation
		{"ÀBCD-2345-EFGH-67IJ", ""},        // nor an accented letter
		{"123456", ""},                     // a TOTP code
		{"", ""},
		{strings.Repeat("A", 10000), ""},
	} {
		got, err := recovery.Normalize(tc.typed)
		if tc.want == "" {
			if !errors.Is(err, recovery.ErrMalformed) {
				t.Errorf("Normalize(%.30q) = %q, %v; want ErrMalformed", tc.typed, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.typed, got, err, tc.want)
		}
	}
}

// indexer records what it is asked to index.
type indexer struct{ values []string }

func (ix *indexer) BlindIndex(kind keys.IndexKind, value string) ([]byte, error) {
	if kind != keys.IndexRecovery {
		return nil, errors.New("wrong index kind")
	}
	ix.values = append(ix.values, value)
	return []byte("mac:" + value), nil
}

// TestMACInputIsCanonical: however a code is typed, the MAC is over its one canonical form, so
// the stored MAC matches; a value that is not a code is never indexed.
func TestMACInputIsCanonical(t *testing.T) {
	code := recovery.New()
	ix := &indexer{}
	for _, typed := range []string{code, strings.ToLower(code), strings.ReplaceAll(code, "-", ""), strings.ReplaceAll(code, "-", " ")} {
		mac, err := recovery.MAC(ix, typed)
		if err != nil || string(mac) != "mac:"+strings.ReplaceAll(code, "-", "") {
			t.Fatalf("MAC(%q) = %q, %v", typed, mac, err)
		}
	}
	if _, err := recovery.MAC(ix, "not a code"); !errors.Is(err, recovery.ErrMalformed) {
		t.Fatalf("MAC(not a code) = %v, want ErrMalformed", err)
	}
	if len(ix.values) != 4 {
		t.Fatalf("indexed %d values, want 4", len(ix.values))
	}
}

// FuzzNormalize: a canonical form is Length base32 characters, normalising it again changes
// nothing, and it is what keys.Normalize makes of the same input, so codes stored before this
// package existed still match.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"ABCD-2345-EFGH-67IJ", "abcd 2345 efgh 67ij", "ABCD‐2345", "", "1111-2222-3333-4444"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		n, err := recovery.Normalize(typed)
		if err != nil {
			return
		}
		if len(n) != recovery.Length || strings.Trim(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
			t.Fatalf("Normalize(%q) = %q: not %d base32 characters", typed, n, recovery.Length)
		}
		if again, err := recovery.Normalize(n); err != nil || again != n {
			t.Fatalf("Normalize(Normalize(%q)) = %q, %v; want %q", typed, again, err, n)
		}
		if k, err := keys.Normalize(keys.IndexRecovery, typed); err != nil || k != n {
			t.Fatalf("keys.Normalize(%q) = %q, %v; recovery.Normalize = %q", typed, k, err, n)
		}
	})
}
