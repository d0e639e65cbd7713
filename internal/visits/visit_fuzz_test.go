package visits_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"haven/internal/visits"
)

// FuzzIntakeClean: whatever a patient's browser sends as intake answers, Clean never panics,
// and what it accepts is valid UTF-8 within its bounds, free of control characters but line
// breaks and tabs, with a reason, and already clean (cleaning again changes nothing).
func FuzzIntakeClean(f *testing.F) {
	for _, seed := range [][4]string{
		{"a cough", "", "", ""},
		{"  fever\r\n", "chills\rsweats", "ibuprofen 400 mg", "is it the flu?"},
		{"", "x", "", ""},
		{"bell\x07", "", "", ""},
		{"\xff\xfe", "", "", ""},
		{strings.Repeat("é", visits.MaxIntakeReason+1), "", "", ""},
		{"ok", "\u202eright-to-left\u2066", "\x00", ""},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, reason, symptoms, medications, questions string) {
		in, err := visits.Intake{Reason: reason, Symptoms: symptoms, Medications: medications, Questions: questions}.Clean()
		if err != nil {
			return
		}
		for _, f := range []struct {
			v   string
			max int
		}{{in.Reason, visits.MaxIntakeReason}, {in.Symptoms, visits.MaxIntakeAnswer}, {in.Medications, visits.MaxIntakeAnswer}, {in.Questions, visits.MaxIntakeAnswer}} {
			if !utf8.ValidString(f.v) || utf8.RuneCountInString(f.v) > f.max || strings.TrimSpace(f.v) != f.v || strings.Contains(f.v, "\r") {
				t.Fatalf("accepted %q", f.v)
			}
			for _, c := range f.v {
				if unicode.IsControl(c) && c != '\n' && c != '\t' {
					t.Fatalf("accepted a control character in %q", f.v)
				}
			}
		}
		if in.Reason == "" {
			t.Fatal("accepted answers without a reason")
		}
		again, err := in.Clean()
		if err != nil || again != in {
			t.Fatalf("cleaning again: %+v, %v", again, err)
		}
	})
}

// FuzzGuestTokenHash: a guest link's token comes from anyone on the internet. Anything that is
// not exactly a token Haven makes is refused before the database is asked; what is accepted is
// the canonical encoding of 32 bytes, so one token has one spelling.
func FuzzGuestTokenHash(f *testing.F) {
	f.Add(base64.RawURLEncoding.EncodeToString(make([]byte, 32)))
	f.Add(strings.Repeat("A", 42) + "B") // non-zero trailing bits: another spelling of a token
	f.Add("")
	f.Add(strings.Repeat("/", 43))
	f.Add(strings.Repeat("A", 44))
	f.Fuzz(func(t *testing.T, token string) {
		hash, ok := visits.GuestTokenHash(token)
		if !ok {
			if hash != nil {
				t.Fatal("a refused token has a hash")
			}
			return
		}
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil || len(raw) != 32 || base64.RawURLEncoding.EncodeToString(raw) != token || len(hash) != 32 {
			t.Fatalf("accepted %q", token)
		}
	})
}
