package password_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
		{"k7#Qm2vX", true}, // eight characters are enough when they are hard to guess
		{"eight ch", false},
		{strings.Repeat("x", 64), false}, // a repeat
		{strings.Repeat("harbour ", 8), false},
		{"violet harbour lantern over the quiet marsh, and a blacksmith's ", true}, // 64
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

// TestPolicyGuessability: common passwords with trivial changes (case, digits and symbols
// appended, look-alike letters), keyboard walks, repeats and dates are refused as too easy to
// guess, with the reason; a few ordinary words, or random characters, are not.
func TestPolicyGuessability(t *testing.T) {
	words := password.ContextWords("Dana Whitfield", "dana.whitfield@northside-clinic.example", "Haven")
	random15 := randomPassword(rand.New(rand.NewPCG(1, 2)), 15)
	for _, tc := range []struct {
		pw  string
		ok  bool
		why string // in the refusal
	}{
		{"Password1!", false, "commonly used password with small changes"},
		{"password12345", false, "commonly used password with small changes"},
		{"iloveyou1234", false, "commonly used password with small changes"},
		{"PASSWORD2026", false, "commonly used password with small changes"},
		{"P4ssw0rd!", false, "commonly used password with small changes"},
		{"S3cur1ty!", false, "commonly used password with small changes"},
		{"Sunshine#1", false, "commonly used password with small changes"},
		{"trustno1trustno1", false, "repeats"},
		{"zxcvbnm,./zxc", false, "keyboard pattern"},
		{"19840229", false, "date"},
		{"dana's purple harbour sunrise", true, ""},
		{"purple sunrise over the harbour", true, ""},
		{"correct horse battery staple", true, ""},
		{random15, true, ""},
		// The estimator reads the first 64 characters only: a strong start is enough, and a
		// guessable start is refused whatever follows.
		{random15 + strings.Repeat("a", 200), true, ""},
		{strings.Repeat("a", 64) + random15, false, "repeats"},
	} {
		err := password.CheckPolicy(tc.pw, words...)
		var pe password.ErrPolicy
		switch {
		case tc.ok && err != nil:
			t.Errorf("CheckPolicy(%q) = %v, want it accepted", tc.pw, err)
		case !tc.ok && (!errors.As(err, &pe) || !strings.Contains(err.Error(), "this password is too easy to guess: ") || !strings.Contains(err.Error(), tc.why)):
			t.Errorf("CheckPolicy(%q) = %v, want it refused as too easy to guess, saying %q", tc.pw, err, tc.why)
		}
	}
}

// randomPassword is n characters drawn from letters, digits and symbols by r.
func randomPassword(r *rand.Rand, n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#%&*+-=?@^_~"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// BenchmarkCheckPolicy times the policy on passwords that cost the estimator most (random
// characters, and every look-alike letter it tries to undo), at 15 characters and at the
// longest, which the estimator reads only the first 64 of.
func BenchmarkCheckPolicy(b *testing.B) {
	const lookAlikes = "4@8({[<3691|!70$5+%2"
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{15, 64, password.MaxLength} {
		for name, pw := range map[string]string{
			"random":      randomPassword(r, n),
			"look-alikes": strings.Repeat(lookAlikes, n/len(lookAlikes)+1)[:n],
		} {
			b.Run(fmt.Sprintf("%s-%d", name, n), func(b *testing.B) {
				for b.Loop() {
					password.CheckPolicy(pw, "dana", "whitfield", "haven")
				}
			})
		}
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
