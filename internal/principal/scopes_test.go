package principal

import "testing"

func TestParseScopes(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "system/Observation.rs", want: "system/Observation.rs"},
		{in: "system/Patient.read system/*.write", want: "system/Patient.rs system/*.cud"},
		{in: "system/*.*", want: "system/*.cruds"},
		{in: "system/Appointment.cu", want: "system/Appointment.cu"},
		{in: "", wantErr: true},
		{in: "patient/Observation.rs", wantErr: true},
		{in: "user/*.read", wantErr: true},
		{in: "system/Observation.sr", wantErr: true},
		{in: "system/Observation.x", wantErr: true},
		{in: "system/observation.rs", wantErr: true},
		{in: "system/Observation", wantErr: true},
		{in: "launch/patient", wantErr: true},
	} {
		got, err := ParseScopes(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseScopes(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && got.String() != tc.want {
			t.Errorf("ParseScopes(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestScopesAllow(t *testing.T) {
	ss, err := ParseScopes("system/Observation.rs system/Patient.r system/*.s")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ  string
		i    Interaction
		want bool
	}{
		{"Observation", Read, true},
		{"Observation", Search, true},
		{"Observation", Create, false},
		{"Patient", Read, true},
		{"Condition", Search, true},
		{"Condition", Read, false},
		{"", Read, false},
		{"Patient", 0, false},
	} {
		if got := ss.Allow(tc.typ, tc.i); got != tc.want {
			t.Errorf("Allow(%q, %c) = %v, want %v", tc.typ, tc.i, got, tc.want)
		}
	}
}

func TestScopesWithin(t *testing.T) {
	reg, _ := ParseScopes("system/Observation.crs system/Patient.rs")
	for _, tc := range []struct {
		ask  string
		want bool
	}{
		{"system/Observation.rs", true},
		{"system/Observation.crs system/Patient.r", true},
		{"system/Observation.u", false},
		{"system/Condition.r", false},
		{"system/*.r", false},
	} {
		ask, err := ParseScopes(tc.ask)
		if err != nil {
			t.Fatal(err)
		}
		if got := ask.Within(reg); got != tc.want {
			t.Errorf("%q within %q = %v, want %v", tc.ask, reg, got, tc.want)
		}
	}
}

func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"system/Observation.rs", "system/*.*", "patient/x.read", "system/A.cruds system/B.r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ss, err := ParseScopes(s)
		if err != nil {
			return
		}
		again, err := ParseScopes(ss.String())
		if err != nil || again.String() != ss.String() {
			t.Fatalf("%q parsed to %q, which does not parse to itself (%v)", s, ss, err)
		}
	})
}
