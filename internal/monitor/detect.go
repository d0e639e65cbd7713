package monitor

import (
	"strconv"
	"time"

	"haven/internal/audit"
)

// Alert kinds.
const (
	BruteForceAccount = "brute-force-account"
	BruteForceAddress = "brute-force-address"
	CredentialStuff   = "credential-stuffing"
	MassAccess        = "mass-access"
	DeniedOutsideCare = "denied-outside-care"
	AfterHours        = "after-hours"
	FlaggedRecord     = "flagged-record"
	AuditIntegrity    = "audit-integrity"
	RecordIntegrity   = "record-integrity"
	// ContactProbing: one account keeps asking for phone numbers or addresses that turn out
	// to be another account's sign-in name, which tells it who is a patient here.
	ContactProbing = "contact-probing"
	// DeniedOtherRecord: a patient keeps trying to open other patients' records.
	DeniedOtherRecord = "denied-other-record"
	// BackupFailed: a scheduled backup could not be written.
	BackupFailed = "backup-failed"
)

// Alert is one detection. Subject and Detail hold identifiers and counts, never PHI.
type Alert struct {
	Kind     string    `json:"kind"`
	Severity string    `json:"severity"` // "high" or "medium"
	Subject  string    `json:"subject"`  // the account, address or patient identifier concerned
	Detail   string    `json:"detail"`
	Seq      int64     `json:"seq"` // the audit entry that tipped it
	Time     time.Time `json:"time"`
}

// Rules are the detectors' thresholds.
type Rules struct {
	Window            time.Duration  // sliding window for every count
	AccountFailures   int            // failed sign-ins on one account
	AddressFailures   int            // failed sign-ins from one address
	StuffingAccounts  int            // distinct accounts failed from one address
	MassPatients      int            // distinct patients one staff member opens
	DeniedOutsideCare int            // refused reads of patients outside one's care
	DeniedOtherRecord int            // a patient's refused reads of other patients' records
	InUseRefusals     int            // contact changes refused because another account uses the value
	WorkStart         int            // first working hour (0–23), local to Location
	WorkEnd           int            // hour working time ends
	Location          *time.Location // the organisation's time zone
}

// DefaultRules suit a small clinic; every threshold is configurable.
func DefaultRules() Rules {
	return Rules{Window: 10 * time.Minute, AccountFailures: 10, AddressFailures: 30, StuffingAccounts: 5,
		MassPatients: 30, DeniedOutsideCare: 3, DeniedOtherRecord: 3, InUseRefusals: 3, WorkStart: 7, WorkEnd: 20, Location: time.UTC}
}

// Detector turns the stream of audit entries into alerts. It is not safe for concurrent use:
// one watcher feeds it, in log order.
type Detector struct {
	rules   Rules
	flagged func(patientID string) bool
	events  map[string][]time.Time          // key → times of counted events
	sets    map[string]map[string]time.Time // key → distinct values → last seen
	quiet   map[string]time.Time            // alert key → suppressed until
	seen    int
}

// NewDetector uses rules; flagged reports whether a patient's record is flagged.
func NewDetector(rules Rules, flagged func(string) bool) *Detector {
	return &Detector{rules: rules, flagged: flagged, events: map[string][]time.Time{},
		sets: map[string]map[string]time.Time{}, quiet: map[string]time.Time{}}
}

func isWorkforce(role string) bool { return role != "" && role != "patient" }

var phiActions = map[string]bool{"record.read": true, "note.write": true, "patient.search": true, "patient.register": true}

// Observe feeds one entry and returns the alerts it raises.
func (d *Detector) Observe(e audit.Entry) []Alert {
	if d.seen++; d.seen%1024 == 0 {
		d.prune(e.Time)
	}
	var out []Alert
	raise := func(kind, severity, subject, detail string) {
		key := kind + "|" + subject
		if until, ok := d.quiet[key]; ok && e.Time.Before(until) {
			return
		}
		d.quiet[key] = e.Time.Add(d.rules.Window)
		out = append(out, Alert{Kind: kind, Severity: severity, Subject: subject, Detail: detail, Seq: e.Seq, Time: e.Time})
	}
	switch {
	case e.Action == "auth.login" && e.Outcome == audit.Failure:
		if e.ResourceID != "" && (e.Reason == "wrong-password" || e.Reason == "unknown-account" || e.Reason == "throttled") {
			if n := d.count("acct|"+e.ResourceID, e.Time); n >= d.rules.AccountFailures {
				raise(BruteForceAccount, "high", e.ResourceID, strconv.Itoa(n)+" failed sign-ins in "+d.rules.Window.String())
			}
		}
		if e.SourceAddr != "" {
			if n := d.count("addr|"+e.SourceAddr, e.Time); n >= d.rules.AddressFailures {
				raise(BruteForceAddress, "high", e.SourceAddr, strconv.Itoa(n)+" failed sign-ins in "+d.rules.Window.String())
			}
			if e.ResourceID != "" {
				if n := d.distinct("stuff|"+e.SourceAddr, e.ResourceID, e.Time); n >= d.rules.StuffingAccounts {
					raise(CredentialStuff, "high", e.SourceAddr, strconv.Itoa(n)+" accounts tried from one address in "+d.rules.Window.String())
				}
			}
		}
	case isWorkforce(e.ActorRole) && phiActions[e.Action] && e.Outcome == audit.Allow:
		if e.Action == "record.read" && e.PatientID != "" {
			if n := d.distinct("mass|"+e.ActorID, e.PatientID, e.Time); n >= d.rules.MassPatients {
				raise(MassAccess, "high", e.ActorID, strconv.Itoa(n)+" patients opened in "+d.rules.Window.String())
			}
			if d.flagged != nil && d.flagged(e.PatientID) {
				raise(FlaggedRecord, "high", e.ActorID+"→"+e.PatientID, "a flagged record was opened")
			}
		}
		if h := e.Time.In(d.rules.Location).Hour(); h < d.rules.WorkStart || h >= d.rules.WorkEnd {
			raise(AfterHours, "medium", e.ActorID, e.Action+" at "+e.Time.In(d.rules.Location).Format("15:04 MST"))
		}
	case isWorkforce(e.ActorRole) && e.Outcome == audit.Deny && e.Reason == "not-in-care-team":
		if n := d.count("denied|"+e.ActorID, e.Time); n >= d.rules.DeniedOutsideCare {
			raise(DeniedOutsideCare, "high", e.ActorID, strconv.Itoa(n)+" refused accesses to patients outside their care in "+d.rules.Window.String())
		}
	case e.ActorRole == "patient" && e.Outcome == audit.Deny && e.Reason == "not-own-record":
		if n := d.count("other|"+e.ActorID, e.Time); n >= d.rules.DeniedOtherRecord {
			raise(DeniedOtherRecord, "high", e.ActorID, strconv.Itoa(n)+" refused attempts on other patients' records in "+d.rules.Window.String())
		}
	case e.Outcome == audit.Failure && (e.Reason == "phone-in-use" || e.Reason == "address-in-use"):
		if n := d.count("inuse|"+e.ActorID, e.Time); n >= d.rules.InUseRefusals {
			raise(ContactProbing, "medium", e.ActorID, strconv.Itoa(n)+" phone numbers or addresses already in use asked for in "+d.rules.Window.String())
		}
	}
	return out
}

// count records an event for key at t and returns how many fall within the window.
func (d *Detector) count(key string, t time.Time) int {
	ts := append(d.events[key], t)
	cut := 0
	for cut < len(ts) && t.Sub(ts[cut]) > d.rules.Window {
		cut++
	}
	ts = ts[cut:]
	d.events[key] = ts
	return len(ts)
}

// distinct records value for key at t and returns how many distinct values fall in the window.
func (d *Detector) distinct(key, value string, t time.Time) int {
	set := d.sets[key]
	if set == nil {
		set = map[string]time.Time{}
		d.sets[key] = set
	}
	set[value] = t
	for v, seen := range set {
		if t.Sub(seen) > d.rules.Window {
			delete(set, v)
		}
	}
	return len(set)
}

// prune forgets keys with nothing inside the window, so memory follows recent activity only.
func (d *Detector) prune(now time.Time) {
	for k, ts := range d.events {
		if len(ts) == 0 || now.Sub(ts[len(ts)-1]) > d.rules.Window {
			delete(d.events, k)
		}
	}
	for k, set := range d.sets {
		for v, seen := range set {
			if now.Sub(seen) > d.rules.Window {
				delete(set, v)
			}
		}
		if len(set) == 0 {
			delete(d.sets, k)
		}
	}
	for k, until := range d.quiet {
		if now.After(until) {
			delete(d.quiet, k)
		}
	}
}
