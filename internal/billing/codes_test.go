package billing_test

import (
	"strings"
	"testing"

	"haven/internal/billing"
)

func TestCodeShapes(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		valid    func(string) (string, bool)
	}{
		{"99213", "99213", billing.ProcedureCode},
		{" 0001u ", "0001U", billing.ProcedureCode},
		{"0521F", "0521F", billing.ProcedureCode},
		{"j1100", "J1100", billing.ProcedureCode},
		{"9921", "", billing.ProcedureCode},
		{"99213-25", "", billing.ProcedureCode},
		{"JJ100", "", billing.ProcedureCode},
		{"J06.9", "J06.9", billing.DiagnosisCode},
		{"j069", "J06.9", billing.DiagnosisCode},
		{"S52.521A", "S52.521A", billing.DiagnosisCode},
		{"I10", "I10", billing.DiagnosisCode},
		{"U07.1", "U07.1", billing.DiagnosisCode},
		{"J06.", "", billing.DiagnosisCode},
		{"J06.12345", "", billing.DiagnosisCode},
		{"106.9", "", billing.DiagnosisCode},
		{"=1+1", "", billing.DiagnosisCode},
	} {
		got, ok := tc.valid(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%q = %q %v, want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestNeutralise(t *testing.T) {
	for in, want := range map[string]string{"=SUM(A1)": "'=SUM(A1)", "+1": "'+1", "-2": "'-2", "@x": "'@x", "\tx": "'\tx", "Ada": "Ada", "": ""} {
		if got := billing.Neutralise(in); got != want {
			t.Errorf("Neutralise(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzCodes: whatever is typed, an accepted code is short, upper-case, and starts with nothing
// a spreadsheet would run, and normalising it again changes nothing.
func FuzzCodes(f *testing.F) {
	for _, s := range []string{"99213", "J06.9", "j069", "S52.521A", "=1+1", "0001U", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, valid := range []func(string) (string, bool){billing.ProcedureCode, billing.DiagnosisCode} {
			c, ok := valid(s)
			if !ok {
				continue
			}
			if len(c) > 8 || c != strings.ToUpper(c) || billing.Neutralise(c) != c {
				t.Fatalf("%q accepted as %q", s, c)
			}
			if again, ok := valid(c); !ok || again != c {
				t.Fatalf("%q: %q renormalised to %q %v", s, c, again, ok)
			}
		}
	})
}
