package monitor_test

import (
	"fmt"
	"testing"
	"time"

	"haven/internal/audit"
	"haven/internal/monitor"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC) // a Tuesday, working hours

func login(i int, account, addr string) audit.Entry {
	return audit.Entry{Seq: int64(i), Time: t0.Add(time.Duration(i) * time.Second), Action: "auth.login",
		ResourceType: "Account", ResourceID: account, Outcome: audit.Failure, Reason: "wrong-password", SourceAddr: addr}
}

func read(i int, actor, patient, outcome, reason string, at time.Time) audit.Entry {
	return audit.Entry{Seq: int64(i), Time: at, ActorID: actor, ActorRole: "clinician", Action: "record.read",
		ResourceType: "Patient", ResourceID: patient, PatientID: patient, Outcome: outcome, Reason: reason, SourceAddr: "10.0.0.5"}
}

// TestDetectors drives each detector with a synthetic event stream and checks the alert it
// raises, and that a quiet stream raises nothing.
func TestDetectors(t *testing.T) {
	rules := monitor.DefaultRules()
	tests := []struct {
		name    string
		stream  func() []audit.Entry
		flagged string
		want    string // alert kind; "" for none
		subject string
	}{
		{"brute force on one account", func() (es []audit.Entry) {
			for i := range 10 {
				es = append(es, login(i, "acct-1", fmt.Sprint("198.51.100.", i)))
			}
			return
		}, "", monitor.BruteForceAccount, "acct-1"},
		{"brute force from one address", func() (es []audit.Entry) {
			for i := range 30 {
				es = append(es, login(i, "acct-1", "203.0.113.9"))
				es[len(es)-1].ResourceID = "" // malformed attempts name no account
			}
			return
		}, "", monitor.BruteForceAddress, "203.0.113.9"},
		{"credential stuffing: many accounts, one address", func() (es []audit.Entry) {
			for i := range 5 {
				es = append(es, login(i, fmt.Sprint("acct-", i), "203.0.113.7"))
			}
			return
		}, "", monitor.CredentialStuff, "203.0.113.7"},
		{"mass access", func() (es []audit.Entry) {
			for i := range 30 {
				es = append(es, read(i, "dr-x", fmt.Sprint("pat-", i), audit.Allow, "care-team", t0.Add(time.Duration(i)*time.Second)))
			}
			return
		}, "", monitor.MassAccess, "dr-x"},
		{"denied attempts outside care", func() (es []audit.Entry) {
			for i := range 3 {
				es = append(es, read(i, "dr-y", fmt.Sprint("pat-", i), audit.Deny, "not-in-care-team", t0.Add(time.Duration(i)*time.Second)))
			}
			return
		}, "", monitor.DeniedOutsideCare, "dr-y"},
		{"a patient trying other patients' records", func() (es []audit.Entry) {
			for i := range 3 {
				e := read(i, "acct-pat", fmt.Sprint("pat-", i), audit.Deny, "not-own-record", t0.Add(time.Duration(i)*time.Second))
				e.ActorRole = "patient"
				es = append(es, e)
			}
			return
		}, "", monitor.DeniedOtherRecord, "acct-pat"},
		{"probing whose phone or address is in use", func() (es []audit.Entry) {
			for i, reason := range []string{"phone-in-use", "address-in-use", "phone-in-use"} {
				es = append(es, audit.Entry{Seq: int64(i), Time: t0.Add(time.Duration(i) * time.Second), ActorID: "acct-probe", ActorRole: "patient",
					Action: "record.contact-update", Outcome: audit.Failure, Reason: reason})
			}
			return
		}, "", monitor.ContactProbing, "acct-probe"},
		{"after hours", func() []audit.Entry {
			return []audit.Entry{read(1, "dr-z", "pat-1", audit.Allow, "care-team", time.Date(2026, 11, 24, 23, 30, 0, 0, time.UTC))}
		}, "", monitor.AfterHours, "dr-z"},
		{"flagged record", func() []audit.Entry {
			return []audit.Entry{read(1, "dr-w", "pat-vip", audit.Allow, "care-team", t0)}
		}, "pat-vip", monitor.FlaggedRecord, "dr-w→pat-vip"},
		{"quiet day", func() (es []audit.Entry) {
			for i := range 9 {
				es = append(es, read(i, "dr-q", fmt.Sprint("pat-", i%3), audit.Allow, "care-team", t0.Add(time.Duration(i)*time.Minute)))
			}
			es = append(es, login(20, "acct-2", "192.0.2.1"), login(21, "acct-2", "192.0.2.1"))
			return
		}, "", "", ""},
		{"failures spread beyond the window", func() (es []audit.Entry) {
			for i := range 12 {
				e := login(i, "acct-3", "192.0.2.2")
				e.Time = t0.Add(time.Duration(i) * 2 * time.Minute)
				es = append(es, e)
			}
			return
		}, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := monitor.NewDetector(rules, func(p string) bool { return p == tc.flagged })
			var got []monitor.Alert
			for _, e := range tc.stream() {
				got = append(got, d.Observe(e)...)
			}
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("alerts on a quiet stream: %+v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Kind != tc.want || got[0].Subject != tc.subject {
				t.Fatalf("alerts = %+v, want one %s for %s", got, tc.want, tc.subject)
			}
		})
	}
}
