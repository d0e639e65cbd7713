package privacy_test

import (
	"context"
	"testing"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/guard"
	"haven/internal/privacy"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// guestNames is visits' GuestNames for the tests: one guest, invited to patientA's visit.
func guestNames(_ context.Context, patientID string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		if patientID == patientA && id == "acct-guest" {
			out[id] = "Rosa Díaz (interpreter, invited to your visit)"
		}
	}
	return out, nil
}

// TestGuestsInTheAccessLog: a visit guest has no name in the staff directory; the patient's log
// names them by the name their visit keeps for them (GuestNames), and a guest it cannot name
// reads as a guest of their visit, never as an unknown staff member. The privacy officer reads
// "a visit guest": the guest's name is the patient's to read, not the officer's.
func TestGuestsInTheAccessLog(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		for _, id := range []string{"acct-guest", "acct-unknown-guest"} {
			if _, err := h.log.Append(ctx, audit.Entry{ActorID: id, ActorRole: string(access.Guest), Action: string(access.ReadVisit),
				ResourceType: "Appointment", ResourceID: "visit-1", PatientID: patientA, Outcome: audit.Allow, Reason: access.ReasonGuest}); err != nil {
				t.Fatal(err)
			}
		}
		deps := privacy.Deps{Names: staffNames{}, Patients: &patientNames{}, Notes: sealer{}, Staff: staffList, GuestNames: guestNames}
		svc := privacy.New(db, guard.New(access.New(careTeams{}), h.log, h.clock.Now), deps, nil, h.clock.Now)
		log, err := svc.AccessLog(ctx, patient(patientA), patientA, origin())
		if err != nil {
			t.Fatal(err)
		}
		var whos []string
		for _, ev := range log {
			if ev.Role == string(access.Guest) {
				whos = append(whos, ev.Who+" | "+ev.What+" | "+ev.Why+" | "+ev.RoleWords())
			}
		}
		want := []string{
			"A guest invited to your visit | opened your visit | invited to your visit | visit guest",
			"Rosa Díaz (interpreter, invited to your visit) | opened your visit | invited to your visit | visit guest",
		}
		if len(whos) != 2 || whos[0] != want[0] || whos[1] != want[1] {
			t.Fatalf("guest lines = %q, want %q", whos, want)
		}
		trail, err := svc.Trail(ctx, staff(access.Auditor), privacy.TrailQuery{Filter: privacy.Filter{PatientID: patientA, Action: string(access.ReadVisit)}}, origin())
		if err != nil || len(trail.Entries) != 2 {
			t.Fatalf("trail = %+v, %v", trail, err)
		}
		for _, e := range trail.Entries {
			if e.Who != "A visit guest" || e.Role != "visit guest" {
				t.Fatalf("the officer reads a guest as %q (%q)", e.Who, e.Role)
			}
		}
	})
}
