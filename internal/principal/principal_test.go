package principal

import "testing"

func TestRoleLabel(t *testing.T) {
	for _, tc := range []struct {
		role Role
		want string
	}{
		{Admin, "Administrator"},
		{Clinician, "Clinician"},
		{Auditor, "Privacy officer"},
		{Patient, "Patient"},
		{Role("visitor"), "visitor"},
	} {
		if got := tc.role.Label(); got != tc.want {
			t.Errorf("%q.Label() = %q, want %q", tc.role, got, tc.want)
		}
	}
}
