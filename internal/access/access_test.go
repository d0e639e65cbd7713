package access_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"haven/internal/access"
)

type careTeam map[[2]string]bool

func (c careTeam) CareRelation(_ context.Context, clinician, patient string) (string, error) {
	if patient == "broken" {
		return "", errors.New("database down")
	}
	if c[[2]string{clinician, patient}] {
		return access.ReasonAssigned, nil
	}
	return "", nil
}

func TestDecide(t *testing.T) {
	p := access.New(careTeam{{"dr-a", "pat-1"}: true})
	drA := access.Subject{AccountID: "dr-a", Role: access.Clinician}
	pat1 := access.Subject{AccountID: "acct-p1", Role: access.Patient, PatientID: "pat-1"}
	admin := access.Subject{AccountID: "root", Role: access.Admin}
	auditor := access.Subject{AccountID: "po", Role: access.Auditor}
	rec := func(id string) access.Resource { return access.Resource{Type: "Patient", PatientID: id} }
	tests := []struct {
		name   string
		s      access.Subject
		a      access.Action
		r      access.Resource
		allow  bool
		reason string
	}{
		{"clinician reads assigned patient", drA, access.ReadRecord, rec("pat-1"), true, access.ReasonAssigned},
		{"clinician reads unassigned patient", drA, access.ReadRecord, rec("pat-2"), false, access.ReasonNotInCareTeam},
		{"clinician writes note for unassigned patient", drA, access.WriteNote, rec("pat-2"), false, access.ReasonNotInCareTeam},
		{"relationship lookup fails closed", drA, access.ReadRecord, rec("broken"), false, access.ReasonLookupFailed},
		{"patient reads own record", pat1, access.ReadRecord, rec("pat-1"), true, access.ReasonSelf},
		{"patient reads another patient", pat1, access.ReadRecord, rec("pat-2"), false, access.ReasonNotOwnRecord},
		{"clinician sends an assigned patient a sign-in link", drA, access.SendSignInLink, rec("pat-1"), true, access.ReasonAssigned},
		{"clinician sends an unassigned patient a sign-in link", drA, access.SendSignInLink, rec("pat-2"), false, access.ReasonNotInCareTeam},
		{"admin sends a patient a sign-in link", admin, access.SendSignInLink, rec("pat-1"), false, access.ReasonRoleForbidden},
		{"patient writes a note", pat1, access.WriteNote, rec("pat-1"), false, access.ReasonRoleForbidden},
		{"patient searches", pat1, access.SearchPatients, access.Resource{}, false, access.ReasonRoleForbidden},
		{"admin reads a record", admin, access.ReadRecord, rec("pat-1"), false, access.ReasonRoleForbidden},
		{"admin registers a patient", admin, access.RegisterPatient, access.Resource{}, false, access.ReasonRoleForbidden},
		{"admin searches", admin, access.SearchPatients, access.Resource{}, false, access.ReasonRoleForbidden},
		{"admin manages accounts", admin, access.ManageAccounts, access.Resource{}, true, access.ReasonAdministrative},
		{"clinician manages accounts", drA, access.ManageAccounts, access.Resource{}, false, access.ReasonRoleForbidden},
		{"admin assigns care team", admin, access.AssignPatient, rec("pat-1"), true, access.ReasonAdministrative},
		{"patient reads own access log", pat1, access.ReadAccessLog, rec("pat-1"), true, access.ReasonSelf},
		{"patient reads another's access log", pat1, access.ReadAccessLog, rec("pat-2"), false, access.ReasonNotOwnRecord},
		{"patient reports an access to own record", pat1, access.ReportAccess, rec("pat-1"), true, access.ReasonSelf},
		{"auditor reads an access log", auditor, access.ReadAccessLog, rec("pat-2"), true, access.ReasonPrivacyOfficer},
		{"auditor identifies a patient", auditor, access.IdentifyPatient, rec("pat-2"), true, access.ReasonPrivacyOfficer},
		{"clinician identifies a patient", drA, access.IdentifyPatient, rec("pat-1"), false, access.ReasonRoleForbidden},
		{"admin identifies a patient", admin, access.IdentifyPatient, rec("pat-1"), false, access.ReasonRoleForbidden},
		{"auditor reviews", auditor, access.ReviewAudit, access.Resource{}, true, access.ReasonPrivacyOfficer},
		{"auditor reads a record", auditor, access.ReadRecord, rec("pat-1"), false, access.ReasonRoleForbidden},
		{"clinician reads an access log", drA, access.ReadAccessLog, rec("pat-1"), false, access.ReasonRoleForbidden},
		{"admin reads an access log", admin, access.ReadAccessLog, rec("pat-1"), false, access.ReasonRoleForbidden},
		{"clinician reviews", drA, access.ReviewAudit, access.Resource{}, false, access.ReasonRoleForbidden},
		{"anonymous", access.Subject{}, access.ReadRecord, rec("pat-1"), false, access.ReasonUnknownSubject},
		{"unknown role", access.Subject{AccountID: "x", Role: "superuser"}, access.ReadRecord, rec("pat-1"), false, access.ReasonUnknownSubject},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Decide(context.Background(), tc.s, tc.a, tc.r)
			if d.Allow != tc.allow || d.Reason != tc.reason {
				t.Fatalf("Decide = %+v, want allow=%v reason=%s", d, tc.allow, tc.reason)
			}
		})
	}
}

// careTeams is careTeam that also answers many patients at once, counting its lookups.
type careTeams struct {
	careTeam
	lookups int
}

func (c *careTeams) CareRelationMany(_ context.Context, clinician string, patients []string) (map[string]string, error) {
	c.lookups++
	out := map[string]string{}
	for _, p := range patients {
		if p == "broken" {
			return nil, errors.New("database down")
		}
		if c.careTeam[[2]string{clinician, p}] {
			out[p] = access.ReasonAssigned
		}
	}
	return out, nil
}

// TestDecideMany: deciding a list gives, resource by resource, what Decide gives, with one
// care-team lookup for the whole list when the store can answer it, and one per resource when
// it cannot.
func TestDecideMany(t *testing.T) {
	team := careTeam{{"dr-a", "pat-1"}: true, {"dr-a", "pat-3"}: true, {"dr-b", "pat-2"}: true}
	rec := func(id string) access.Resource { return access.Resource{Type: "Patient", ID: id, PatientID: id} }
	list := []access.Resource{rec("pat-1"), rec("pat-2"), rec("pat-3"), rec(""), rec("pat-1"), rec("pat-9")}
	subjects := []access.Subject{
		{AccountID: "dr-a", Role: access.Clinician},
		{AccountID: "dr-b", Role: access.Clinician},
		{AccountID: "acct-p1", Role: access.Patient, PatientID: "pat-1"},
		{AccountID: "po", Role: access.Auditor},
		{AccountID: "root", Role: access.Admin},
		{},
	}
	ctx := context.Background()
	one := access.New(team)
	for _, rel := range []access.Relationships{team, &careTeams{careTeam: team}} {
		p := access.New(rel)
		for _, s := range subjects {
			for _, a := range []access.Action{access.ReadRecord, access.WriteNote, access.SearchPatients, access.ReadAccessLog, "no-such-action"} {
				got := p.DecideMany(ctx, s, a, list)
				for i, r := range list {
					if want := one.Decide(ctx, s, a, r); got[i] != want {
						t.Errorf("%T: %s %s %q: DecideMany = %+v, Decide = %+v", rel, s.AccountID, a, r.PatientID, got[i], want)
					}
				}
			}
		}
	}
	many := &careTeams{careTeam: team}
	access.New(many).DecideMany(ctx, subjects[0], access.ReadRecord, list)
	if many.lookups != 1 {
		t.Errorf("%d care-team lookups for one list, want 1", many.lookups)
	}
}

// TestDecideManyFailsClosed: a failed care-team lookup denies every resource of the list, with
// the lookup-failed reason.
func TestDecideManyFailsClosed(t *testing.T) {
	p := access.New(&careTeams{careTeam: careTeam{{"dr-a", "pat-1"}: true}})
	dr := access.Subject{AccountID: "dr-a", Role: access.Clinician}
	ds := p.DecideMany(context.Background(), dr, access.ReadRecord, []access.Resource{{PatientID: "pat-1"}, {PatientID: "broken"}})
	for i, d := range ds {
		if d.Allow || d.Reason != access.ReasonLookupFailed {
			t.Errorf("decision %d = %+v, want a lookup-failed deny", i, d)
		}
	}
}

var update = flag.Bool("update", false, "rewrite the policy table in docs/security.md")

// TestPolicyTableInDocs: docs/security.md prints the policy table generated from the rules, so
// what a privacy officer reads is what Haven enforces. -update rewrites it.
func TestPolicyTableInDocs(t *testing.T) {
	const path = "../../docs/security.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, rest, ok := strings.Cut(string(doc), "<!-- policy:begin -->\n")
	table, tail, ok2 := strings.Cut(rest, "<!-- policy:end -->")
	if !ok || !ok2 {
		t.Fatal("docs/security.md has no policy table markers")
	}
	var want strings.Builder
	if err := access.WritePolicyTable(&want); err != nil {
		t.Fatal(err)
	}
	if *update {
		out := head + "<!-- policy:begin -->\n" + want.String() + "<!-- policy:end -->" + tail
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if table != want.String() {
		t.Errorf("docs/security.md's policy table is stale: go test ./internal/access -run TestPolicyTableInDocs -update")
	}
}
