package access

import "testing"

// TestCompileRefusesInconsistentRules: a policy that would let administrators see PHI, grant a
// relation to a role it cannot apply to, name an unknown role or decide one action twice never
// starts.
func TestCompileRefusesInconsistentRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule Rule
	}{
		{"admin sees PHI", Rule{Action: "x.read", PHI: true, Grants: map[Role]Grant{Admin: Always}}},
		{"care team for a patient", Rule{Action: "x.read", Grants: map[Role]Grant{Patient: CareTeam}}},
		{"own record for a clinician", Rule{Action: "x.read", Grants: map[Role]Grant{Clinician: OwnRecord}}},
		{"unknown role", Rule{Action: "x.read", Grants: map[Role]Grant{"janitor": Always}}},
		{"unknown grant", Rule{Action: "x.read", Grants: map[Role]Grant{Clinician: "sometimes"}}},
		{"no action", Rule{Grants: map[Role]Grant{Clinician: Always}}},
	} {
		if _, err := compile([]Rule{tc.rule}); err == nil {
			t.Errorf("%s: compiled, want refused", tc.name)
		}
	}
	dup := Rule{Action: "x.read", Grants: map[Role]Grant{Clinician: Always}}
	if _, err := compile([]Rule{dup, dup}); err == nil {
		t.Error("two rules for one action compiled")
	}
	if _, err := compile(Rules()); err != nil {
		t.Fatalf("the built-in policy does not compile: %v", err)
	}
}
