package fhir

import (
	"net/url"
	"testing"
	"time"
)

func TestParseDateAndMatch(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	instant := at("2026-03-15T10:00:00Z")
	for _, tc := range []struct {
		param string
		want  bool
	}{
		{"2026", true},
		{"2026-03", true},
		{"2026-03-15", true},
		{"2026-03-16", false},
		{"eq2026-03-15", true},
		{"ne2026-03-15", false},
		{"ne2026-03-16", true},
		{"gt2026-03-14", true},
		{"gt2026-03-15", false},
		{"ge2026-03-15", true},
		{"ge2026-03-16", false},
		{"lt2026-03-16", true},
		{"lt2026-03-15", false},
		{"le2026-03-15", true},
		{"le2026-03-14", false},
		{"sa2026-03-14", true},
		{"sa2026-03-15", false},
		{"eb2026-03-16", true},
		{"eb2026-03-15", false},
		{"ap2026-03-15", true},
		{"ge2026-03-15T10:00:00Z", true},
		{"gt2026-03-15T10:00:00Z", false},
		{"lt2026-03-15T10:00:01Z", true},
		{"ge2026-03-15T11:00:00+01:00", true},
		{"gt2026-03-15T10:00Z", false},
	} {
		d, err := ParseDate(tc.param)
		if err != nil {
			t.Errorf("ParseDate(%q): %v", tc.param, err)
			continue
		}
		if got := d.Match(instant, time.Time{}); got != tc.want {
			t.Errorf("%q matches %s = %v, want %v", tc.param, instant, got, tc.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2026-13", "2026-03-15T10", "xx2026", "2026-03-15T10:00:00", "ge"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
}

func TestQueryReferenceAndTokens(t *testing.T) {
	q := NewQuery(url.Values{
		"patient": {"Patient/abc"}, "subject": {"https://h.example/fhir/R4/Patient/def"}, "other": {"Practitioner/x"},
		"code": {"http://loinc.org|8867-4,29463-7", "|free"},
	})
	for _, tc := range []struct {
		name, want string
		wantErr    bool
	}{
		{"patient", "abc", false},
		{"subject", "def", false},
		{"other", "", true},
	} {
		id, ok, err := q.Reference(tc.name, "Patient")
		if !ok || (err != nil) != tc.wantErr || (err == nil && id != tc.want) {
			t.Errorf("Reference(%q) = %q, %v, %v", tc.name, id, ok, err)
		}
	}
	if _, ok, _ := q.Reference("missing", "Patient"); ok {
		t.Error("an absent reference parameter reported present")
	}
	terms := q.Tokens("code")
	if len(terms) != 2 || len(terms[0]) != 2 {
		t.Fatalf("tokens = %+v", terms)
	}
	if !MatchTokens(terms[:1], Coding{System: SystemLOINC, Code: "29463-7"}) {
		t.Error("an OR of codes did not match its second code")
	}
	if MatchTokens(terms[:1], Coding{System: SystemSNOMED, Code: "8867-4"}) {
		t.Error("a code matched under another system")
	}
	if !MatchTokens(terms[1:], Coding{Code: "free"}) || MatchTokens(terms[1:], Coding{System: SystemLOINC, Code: "free"}) {
		t.Error("|code must match a coding with no system only")
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026", "ge2026-03", "lt2026-03-15T10:00:00Z", "ap2026-03-15T10:00+02:00", "eq", "2026-02-30"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		if !d.Hi.After(d.Lo) {
			t.Fatalf("ParseDate(%q) = an empty range [%s, %s)", s, d.Lo, d.Hi)
		}
	})
}

func TestIfMatch(t *testing.T) {
	for _, tc := range []struct {
		h, want string
		bad     bool
	}{
		{"", "", false},
		{`W/"3"`, "3", false},
		{`"12"`, "12", false},
		{`3`, "", true},
		{`W/""`, "", true},
	} {
		got, err := ifMatch(tc.h)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ifMatch(%q) = %q, %v", tc.h, got, err)
		}
	}
}
