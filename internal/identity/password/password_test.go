package password_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"haven/internal/identity/password"
)

var fast = password.Params{MemoryKiB: 1024, Time: 1, Threads: 1}

func TestHashVerify(t *testing.T) {
	h := password.NewHasher(fast, 0)
	ctx := context.Background()
	long := strings.Repeat("ü", 40) + strings.Repeat("🔐", 24) // 64 characters, multi-byte
	tests := []struct {
		name, set, try string
		want           bool
	}{
		{"same", "correct horse battery", "correct horse battery", true},
		{"wrong", "correct horse battery", "correct horse battery!", false},
		{"64-character unicode round trip", long, long, true},
		{"not truncated at 64", long + "a", long + "b", false},
		{"NFKC normalised", "ﬁnance-password", "finance-password", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := h.Hash(ctx, tc.set)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
				t.Fatalf("hash %q is not a PHC argon2id string", enc)
			}
			got, err := h.Verify(ctx, tc.try, enc)
			if err != nil || got != tc.want {
				t.Fatalf("Verify = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestUnknownAccountRunsTheDummyHash(t *testing.T) {
	h := password.NewHasher(fast, 0)
	ok, err := h.Verify(context.Background(), "anything", "")
	if err != nil || ok {
		t.Fatalf("Verify against no hash = %v, %v; want false, nil", ok, err)
	}
}

func TestPolicy(t *testing.T) {
	for _, tc := range []struct {
		pw string
		ok bool
	}{
		{"short", false},
		{"eight ch", true},
		{strings.Repeat("x", 64), true},
		{strings.Repeat("x", 257), false},
		{"\xff\xfe invalid utf8", false},
		{"password123", false}, // on the common list
		{"IloveYou1", false},   // on the list, whatever the case
		{"qwertyuiop", false},
		{"purple sunrise over the harbour", true},
	} {
		err := password.CheckPolicy(tc.pw)
		var pe password.ErrPolicy
		if tc.ok != (err == nil) || (err != nil && !errors.As(err, &pe)) {
			t.Errorf("CheckPolicy(%q) = %v, want ok=%v", tc.pw, err, tc.ok)
		}
	}
}

// TestPolicyContextWords is ASVS V6.2.11: a password built on the person's name, e-mail address
// or the service's name is refused; one that only contains such a word is not.
func TestPolicyContextWords(t *testing.T) {
	words := password.ContextWords("Dana Whitfield", "dana.whitfield@northside-clinic.example", "Haven", "Haven Northside")
	for _, w := range []string{"dana", "whitfield", "northside", "clinic", "haven"} {
		if !slices.Contains(words, w) {
			t.Fatalf("ContextWords = %q, missing %q", words, w)
		}
	}
	if slices.Contains(words, "example") {
		t.Fatalf("ContextWords = %q: the top-level domain is in everyone's address", words)
	}
	for _, tc := range []struct {
		pw string
		ok bool
	}{
		{"Whitfield2026!", false},
		{"haven-haven-haven", false},
		{"dana1234dana5678", false},
		{"HavenPassword", false}, // the rest is on the common list
		{"Northside Clinic 2026!", false},
		{"spring 2026 WHITFIELD", false}, // six letters once the name is out
		{"purple sunrise over the harbour", true},
		{"dana's purple harbour sunrise", true},
		{"blacksmith forge at dawn", true},
	} {
		err := password.CheckPolicy(tc.pw, words...)
		if tc.ok != (err == nil) {
			t.Errorf("CheckPolicy(%q) = %v, want ok=%v", tc.pw, err, tc.ok)
		}
	}
	if err := password.CheckPolicy("Whitfield2026!"); err != nil {
		t.Errorf("without context words, %v", err)
	}
}

func FuzzVerifyMalformedHash(f *testing.F) {
	h := password.NewHasher(fast, 0)
	f.Add("$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Add("$argon2id$v=19$m=99999999,t=1,p=1$AA$AA")
	f.Add("")
	f.Fuzz(func(t *testing.T, enc string) {
		if enc == "" {
			return
		}
		// Must never panic or run unbounded work on a hostile stored hash.
		h.Verify(context.Background(), "pw", enc)
	})
}

func TestCommonListIsLarge(t *testing.T) {
	if n := password.CommonPasswordCount(); n < 10000 {
		t.Fatalf("common-password list has %d entries, want at least 10,000", n)
	}
}
