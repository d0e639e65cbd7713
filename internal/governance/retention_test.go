package governance_test

import (
	"strings"
	"testing"
	"time"

	"haven/internal/governance"
)

// TestParseRetention: --retention overrides the defaults type by type and refuses what it
// cannot read, so a typo never silently keeps (or purges) records for the wrong period.
func TestParseRetention(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]time.Duration // checked types only
		wantErr string
	}{
		{in: "", want: map[string]time.Duration{"notes": 10 * governance.Year, "charges": 7 * governance.Year}},
		{in: "documents=25y, charges=30d", want: map[string]time.Duration{"documents": 25 * governance.Year, "charges": 30 * 24 * time.Hour, "notes": 10 * governance.Year}},
		{in: "audit=6y", wantErr: "type among"},
		{in: "notes", wantErr: "type among"},
		{in: "notes=10", wantErr: "years (10y)"},
		{in: "notes=0y", wantErr: "years (10y)"},
		{in: "notes=-1y", wantErr: "years (10y)"},
		{in: "notes=101y", wantErr: "longer than 100 years"},
		{in: "notes=10w", wantErr: "years (10y)"},
	}
	for _, tt := range tests {
		got, err := governance.ParseRetention(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseRetention(%q) error = %v, want one saying %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRetention(%q): %v", tt.in, err)
			continue
		}
		for typ, d := range tt.want {
			if got[typ] != d {
				t.Errorf("ParseRetention(%q)[%s] = %v, want %v", tt.in, typ, got[typ], d)
			}
		}
	}
}

// TestRetentionStringRoundTrips: what String prints, ParseRetention reads back the same.
func TestRetentionStringRoundTrips(t *testing.T) {
	r, err := governance.ParseRetention("notes=12y,charges=400d")
	if err != nil {
		t.Fatal(err)
	}
	back, err := governance.ParseRetention(r.String())
	if err != nil || back.String() != r.String() {
		t.Fatalf("round trip %q -> %q, %v", r.String(), back.String(), err)
	}
}

func FuzzParseRetention(f *testing.F) {
	for _, s := range []string{"", "notes=10y", "documents=10y,charges=7y", "x=", "notes=99999999999999999999y", "=,="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := governance.ParseRetention(s)
		if err != nil {
			return
		}
		for typ, d := range r {
			if d < 24*time.Hour || d > 100*governance.Year {
				t.Fatalf("%q gave %s = %v, outside one day to 100 years", s, typ, d)
			}
		}
	})
}
