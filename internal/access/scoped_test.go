package access_test

import (
	"context"
	"testing"

	"haven/internal/access"
	"haven/internal/principal"
)

// TestScopedGrant: a connected system is allowed an act only when one of its token's SMART
// scopes grants the request's interaction on the FHIR type of the act's resource; every other
// request is refused with outside-scope, and a system never gets an act no rule grants it.
func TestScopedGrant(t *testing.T) {
	p := access.New(careTeam{})
	scopes, err := principal.ParseScopes("system/Observation.rs system/Patient.r system/MedicationRequest.r")
	if err != nil {
		t.Fatal(err)
	}
	sys := func(i principal.Interaction) access.Subject {
		return access.Subject{AccountID: "lab-1", Role: access.Integration, Scopes: scopes, Interaction: i}
	}
	for _, tc := range []struct {
		name   string
		s      access.Subject
		a      access.Action
		typ    string
		allow  bool
		reason string
	}{
		{"read observations", sys(principal.Search), access.ReadRecord, "Observation", true, access.ReasonScope},
		{"read a patient", sys(principal.Read), access.ReadDemographics, "Patient", true, access.ReasonScope},
		{"search patients without the scope", sys(principal.Search), access.SearchPatients, "Patient", false, access.ReasonOutsideScope},
		{"write an observation without the scope", sys(principal.Create), access.WriteObservation, "Observation", false, access.ReasonOutsideScope},
		{"read conditions without the scope", sys(principal.Read), access.ReadRecord, "Condition", false, access.ReasonOutsideScope},
		{"a prescription is a MedicationRequest", sys(principal.Read), access.ReadPrescription, "Prescription", true, access.ReasonScope},
		{"notes have no FHIR type", sys(principal.Read), access.ReadRecord, "Note", false, access.ReasonOutsideScope},
		{"no interaction named", sys(0), access.ReadRecord, "Observation", false, access.ReasonOutsideScope},
		{"no rule grants it", sys(principal.Create), access.WriteNote, "Note", false, access.ReasonRoleForbidden},
		{"administrative acts are not granted", sys(principal.Update), access.InviteStaff, "Account", false, access.ReasonRoleForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Decide(context.Background(), tc.s, tc.a, access.Resource{Type: tc.typ, PatientID: "pat-1"})
			if d.Allow != tc.allow || d.Reason != tc.reason {
				t.Fatalf("Decide = allow %v reason %q, want allow %v reason %q", d.Allow, d.Reason, tc.allow, tc.reason)
			}
		})
	}
	if got := access.PurposeOfUse(access.Subject{Role: access.Integration, Purpose: "HPAYMT"}); got != "HPAYMT" {
		t.Errorf("purpose of use = %q, want the registered HPAYMT", got)
	}
}
