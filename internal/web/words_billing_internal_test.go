package web

import (
	"testing"
	"time"

	"haven/internal/billing"
	"haven/internal/visits"
)

// billingFixtures is realistic data for billing's pages: the billing list in every status, a
// clinician's charges for a patient with the form and an error, a patient's charges.
func billingFixtures(when time.Time) map[string][]page {
	var cs []billing.Charge
	for i, st := range []billing.Status{billing.Draft, billing.Submitted, billing.Paid, billing.Denied, billing.Void} {
		cs = append(cs, billing.Charge{ID: "ch-" + string(st), VisitID: "appt-" + string(st), PatientID: "pat-1", PatientName: "Ada Canary", ClinicianID: "acct-clinician",
			VisitAt: when.Add(-time.Duration(i) * 24 * time.Hour), ProcedureCodes: []string{"99213"}, DiagnosisCodes: []string{"J06.9", "R05.9"},
			Amount: 12550, Currency: "USD", Status: st, CreatedAt: when, UpdatedAt: when})
	}
	all := billingData{Charges: cs, Statuses: []billing.Status{billing.Draft, billing.Submitted, billing.Paid, billing.Denied, billing.Void}, Actions: chargeActions, Done: billingNotices["status"]}
	filtered := all
	filtered.Status, filtered.Charges, filtered.Done = billing.Denied, nil, ""
	ended := []visits.Appointment{{ID: "appt-9", PatientID: "pat-1", PatientName: "Ada Canary", State: visits.StateEnded, Start: when, End: when.Add(20 * time.Minute)}}
	pc := patientChargesData{PatientID: "pat-1", PatientName: "Ada Canary", Charges: cs[:2], Visits: ended, Done: true}
	bad := pc
	bad.Done, bad.Form = false, chargeForm{VisitID: "appt-9", ProcedureCodes: "9921", DiagnosisCodes: "J06.9", Amount: "125"}
	none := patientChargesData{PatientID: "pat-1"}
	return map[string][]page{
		"billing": {{Title: "Charges", Data: all}, {Title: "Charges", Data: filtered, Error: "Only a submitted charge can be marked paid or denied; submit it first."}},
		"patientcharges": {{Title: "Charges", Data: pc}, {Title: "Charges", Data: bad, ErrorField: "procedureCodes",
			Error: "Procedure codes: a code is not in the expected form; enter codes such as 99213 (CPT) or J1100 (HCPCS)."}, {Title: "Charges", Data: none}},
		"mycharges": {{Title: "Charges", Data: myChargesData{Charges: cs[1:4]}}, {Title: "Charges", Data: myChargesData{}}},
	}
}

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]int64{"125": 12500, "125.5": 12550, "$1,250.05": 125005, " 0.01 ": 1} {
		if got, err := parseAmount(in); err != nil || got != want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-5", "1.234", "abc", "12.3.4", "99999999"} {
		if _, err := parseAmount(in); err == nil {
			t.Errorf("parseAmount(%q) accepted", in)
		}
	}
}

func TestMoneyWords(t *testing.T) {
	if got := money(12550, "USD"); got != "$125.50" {
		t.Errorf("money = %q", got)
	}
	if got := money(7, "EUR"); got != "0.07 EUR" {
		t.Errorf("money = %q", got)
	}
}
