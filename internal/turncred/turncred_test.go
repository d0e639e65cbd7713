package turncred

import (
	"bytes"
	"testing"
	"time"
)

func TestParseUsername(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"1000600:v:d", true},
		{"1000000:v:d", false}, // expires now
		{"999999:v:d", false},
		{"1000600:v", false},
		{"1000600:v:d:e", false},
		{"1000600::d", false},
		{"1000600:v:", false},
		{"x:v:d", false},
		{"-5:v:d", false},
		{"", false},
	} {
		_, v, d, err := ParseUsername(tc.in, now)
		if (err == nil) != tc.ok || (tc.ok && (v != "v" || d != "d")) {
			t.Errorf("ParseUsername(%q) = %q %q %v; want ok %v", tc.in, v, d, err, tc.ok)
		}
	}
}

func FuzzParseUsername(f *testing.F) {
	f.Add("1000600:v:d")
	f.Add("1:2:3:4")
	f.Fuzz(func(t *testing.T, s string) {
		now := time.Unix(1_000_000, 0)
		exp, v, d, err := ParseUsername(s, now)
		if err != nil {
			return
		}
		if !exp.After(now) || v == "" || d == "" || bytes.ContainsRune([]byte(v+d), ':') {
			t.Fatalf("ParseUsername(%q) = %v %q %q", s, exp, v, d)
		}
	})
}
