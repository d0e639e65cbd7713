package ids

import (
	"regexp"
	"strings"
	"testing"
)

// fhirID is the FHIR R4 id datatype's regular expression.
var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-\.]{1,64}$`)

func TestNewIsFHIRValid(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := New()
		if !fhirID.MatchString(id) || !Valid(id) || len(id) != Len {
			t.Fatalf("New() = %q: not a FHIR id", id)
		}
		if seen[id] {
			t.Fatalf("New() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"a", true},
		{"abc-DEF.123", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"has_underscore", false},
		{"has space", false},
		{"slash/", false},
		{"é", false},
	} {
		if got := Valid(tc.id); got != tc.want || got != fhirID.MatchString(tc.id) {
			t.Errorf("Valid(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range []string{"a", "a_b", "a.b-c", strings.Repeat("z", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if Valid(s) != fhirID.MatchString(s) {
			t.Fatalf("Valid(%q) = %v disagrees with the FHIR id pattern", s, Valid(s))
		}
	})
}
