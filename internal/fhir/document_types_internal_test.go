package fhir

import (
	"testing"
	"time"
)

// TestRxQuantity: a quantity written with a leading number becomes a Quantity; anything else
// (a word, a sign, an exponent, a hex float) stays text, for a note.
func TestRxQuantity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		unit string
		ok   bool
	}{
		{"21 capsules", 21, "capsules", true},
		{" 100 mL ", 100, "mL", true},
		{"2.5", 2.5, "", true},
		{"as needed", 0, "", false},
		{"-3 tablets", 0, "", false},
		{"1e9 tablets", 0, "", false},
		{"0x10 tablets", 0, "", false},
		{"NaN", 0, "", false},
		{"1.2.3 g", 0, "", false},
		{"", 0, "", false},
	} {
		q, ok := rxQuantity(tc.in)
		if ok != tc.ok || (ok && (*q.Value != tc.want || q.Unit != tc.unit)) {
			t.Errorf("rxQuantity(%q) = %+v, %v; want %v %q, %v", tc.in, q, ok, tc.want, tc.unit, tc.ok)
		}
	}
}

// TestRxCodeSystem: a prescription coded with no system is RxNorm; a known system's name
// is its URI; a URI is kept; a name Haven does not know gives no system rather than a wrong one.
func TestRxCodeSystem(t *testing.T) {
	for in, want := range map[string]string{
		"": SystemRxNorm, "RxNorm": SystemRxNorm, "SNOMED CT": SystemSNOMED, "NDC": "http://hl7.org/fhir/sid/ndc",
		"urn:oid:2.16.840.1.113883.6.69": "urn:oid:2.16.840.1.113883.6.69", "Local list": "", "a b:c": "",
	} {
		if got := rxCodeSystem(in); got != want {
			t.Errorf("rxCodeSystem(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzAuditDateBounds: the range the trail's own search is narrowed to holds every instant
// the date parameters match, whatever their prefixes, so narrowing never drops a match.
func FuzzAuditDateBounds(f *testing.F) {
	f.Add("ge2026-11-24", "lt2026-11-25T10:00:00Z", int64(1795000000))
	f.Add("eq2026-11", "sa2026-11-02", int64(1795000000))
	f.Add("eb2026", "le2026-11-24T09:00Z", int64(1700000000))
	f.Add("gt2026-11-24T09:00:00+02:00", "ap2026-11-24", int64(1795510000))
	f.Fuzz(func(t *testing.T, a, b string, unix int64) {
		var terms [][]DateParam
		for _, v := range []string{a, b} {
			d, err := ParseDate(v)
			if err != nil {
				return
			}
			terms = append(terms, []DateParam{d})
		}
		at := time.Unix(unix%(1<<36), 0).UTC()
		if !MatchDates(terms, at, time.Time{}) {
			return
		}
		from, to := dateBounds(terms)
		if (!from.IsZero() && at.Before(from)) || (!to.IsZero() && !at.Before(to)) {
			t.Fatalf("%s matches %q and %q but lies outside [%s, %s)", at, a, b, from, to)
		}
	})
}
