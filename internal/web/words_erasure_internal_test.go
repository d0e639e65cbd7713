package web

import (
	"time"

	"haven/internal/governance"
)

// erasureFixtures is realistic data for the erasure pages: the privacy officer's list in
// every state, with a hold and an error, and the patient's confirmation before and after.
func erasureFixtures(when time.Time) map[string][]page {
	reqs := []governance.ErasureRequest{
		{ID: "er-1", PatientID: "pat-1", RequestedBy: "acct-patient", State: governance.ErasureRequested, RequestedAt: when},
		{ID: "er-2", PatientID: "pat-2", RequestedBy: "acct-auditor", State: governance.ErasureRequested, RequestedAt: when, Held: true},
		{ID: "er-3", PatientID: "pat-3", RequestedBy: "acct-patient", State: governance.ErasureApproved, RequestedAt: when.Add(-48 * time.Hour), DecidedBy: "acct-auditor", DecidedAt: when.Add(-24 * time.Hour)},
	}
	holds := []governance.Hold{{PatientID: "pat-2", PlacedBy: "acct-auditor", Reason: "litigation", PlacedAt: when}}
	names := map[string]string{"pat-1": "Ada Canary", "pat-2": "Bo Keeper"}
	full := governanceData{Requests: reqs, Holds: holds, Reasons: governance.HoldReasons(), Names: names, Done: governanceDone["approved"]}
	empty := governanceData{Reasons: governance.HoldReasons(), Names: map[string]string{}}
	return map[string][]page{
		"governance": {{Title: "Erasure and legal holds", Data: full}, {Title: "Erasure and legal holds", Data: empty,
			Error: "No patient has this name: check the spelling, or search the audit trail by name first.", ErrorField: "patient"}},
		"erasure": {{Title: "Ask to erase your record", Data: erasureData{}}, {Title: "Your request is sent", Data: erasureData{Sent: true}}},
	}
}
