package compliance

import (
	"fmt"
	"time"
)

// Status is a check's outcome.
type Status string

// Outcomes.
const (
	Pass Status = "pass"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check is one live check: what it checks, under which provision, how it came out and why.
type Check struct {
	ID       string   `json:"id"`
	Citation string   `json:"citation"`
	Title    string   `json:"title"`
	Status   Status   `json:"status"`
	Evidence []string `json:"evidence"`
}

// Report is the compliance report of one installation at one time.
type Report struct {
	GeneratedAt time.Time `json:"generatedAt"`
	Version     string    `json:"version"`
	Checks      []Check   `json:"checks"`
	Passed      int       `json:"passed"`
	Warned      int       `json:"warned"`
	Failed      int       `json:"failed"`
}

// Thresholds.
const (
	MaxBackupAge       = 7 * 24 * time.Hour
	MaxRestoreDrillAge = 90 * 24 * time.Hour
	MaxKeyAge          = 365 * 24 * time.Hour
	MaxCheckpointAge   = 24 * time.Hour
	MaxIdleWorkforce   = 30 * time.Minute
)

// Proposed-rule citation (HHS NPRM, 90 FR 898, January 6, 2025).
const nprm = "2025 proposed rule"

// Evaluate runs every check over f.
func Evaluate(f Facts) Report {
	r := Report{GeneratedAt: f.At, Version: f.Version}
	for _, c := range []func(Facts) Check{
		uniqueIDs, emergencyAccess, automaticLogoff, encryptionAtRest,
		auditControls, integrity, authentication, transmission,
		assetInventory, backup, restoreDrill, keyRotation, retention, alerting, businessAssociates,
	} {
		ch := c(f)
		switch ch.Status {
		case Pass:
			r.Passed++
		case Warn:
			r.Warned++
		default:
			r.Failed++
		}
		r.Checks = append(r.Checks, ch)
	}
	return r
}

// StatusText says the outcome in words.
func (c Check) StatusText() string { return StatusWords(c.Status) }

func check(id, cite, title string, ok bool, evidence ...string) Check {
	st := Pass
	if !ok {
		st = Fail
	}
	return Check{ID: id, Citation: cite, Title: title, Status: st, Evidence: evidence}
}

// age says how long ago t was, in days or hours.
func age(now, t time.Time) string {
	d := now.Sub(t)
	if d < 48*time.Hour {
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

func day(t time.Time) string { return t.UTC().Format("2 January 2006 15:04 UTC") }

func uniqueIDs(f Facts) Check {
	return check("unique-user-ids", "§164.312(a)(2)(i)", "Every user has a unique identifier", f.Accounts == f.DistinctAccountIDs,
		fmt.Sprintf("%d accounts, %d distinct identifiers; sign-in names are unique (a unique index on the e-mail's blind index)", f.Accounts, f.DistinctAccountIDs))
}

func emergencyAccess(f Facts) Check {
	if f.BreakGlass {
		return check("emergency-access", "§164.312(a)(2)(ii)", "Emergency access procedure", true, "break-glass access is built in: time-boxed, alerted and reviewed")
	}
	return Check{ID: "emergency-access", Citation: "§164.312(a)(2)(ii)", Title: "Emergency access procedure", Status: Warn,
		Evidence: []string{"break-glass access is not built yet: in an emergency an administrator adds the clinician to the patient's care team, which is audited",
			"document the manual procedure in the clinic's contingency plan"}}
}

func automaticLogoff(f Facts) Check {
	ok := f.IdleWorkforce > 0 && f.IdleWorkforce <= MaxIdleWorkforce && f.IdlePatient > 0 && f.AbsoluteLifetime > 0
	return check("automatic-logoff", "§164.312(a)(2)(iii)", "Sessions end automatically when idle", ok,
		fmt.Sprintf("staff sessions end after %s idle (at most %s expected)", f.IdleWorkforce, MaxIdleWorkforce),
		fmt.Sprintf("patient sessions end after %s idle", f.IdlePatient),
		fmt.Sprintf("every session ends %s after sign-in", f.AbsoluteLifetime))
}

func encryptionAtRest(f Facts) Check {
	ok := f.PatientsWithoutKeyset == 0 && f.SealedLookPlain == 0
	return check("encryption-at-rest", "§164.312(a)(2)(iv); "+nprm, "Health information is encrypted at rest under per-patient keys", ok,
		fmt.Sprintf("%d patients, %d without their own keyset", f.Patients, f.PatientsWithoutKeyset),
		fmt.Sprintf("%d sealed values sampled from the record tables, %d not in the sealed format", f.SealedSampled, f.SealedLookPlain),
		"per-patient Tink AES-256-GCM keysets wrapped by the root key; each value bound to its table, row and field")
}

func auditControls(f Facts) Check {
	ev := []string{fmt.Sprintf("%d audit entries; the hash chain and the Merkle tree were recomputed now", f.AuditEntries)}
	if !f.AuditOK {
		ev = append(ev, "verification failed: "+f.AuditProblem)
	}
	ok := f.AuditOK
	if f.LatestCheckpoint.IsZero() {
		ev = append(ev, "no signed checkpoint yet")
		ok = false
	} else {
		ev = append(ev, fmt.Sprintf("latest signed checkpoint %s (%s), %d checkpoints checked, %d entries covered",
			day(f.LatestCheckpoint), age(f.At, f.LatestCheckpoint), f.Checkpoints, f.AuditCovered))
	}
	st := Fail
	if ok {
		st = Pass
		if f.At.Sub(f.LatestCheckpoint) > MaxCheckpointAge || !f.Witnessed {
			st = Warn
		}
	}
	if f.Witnessed {
		ev = append(ev, "checkpoints are copied to a witness outside the database")
	} else {
		ev = append(ev, "no witness configured (--audit-witness-dir or --audit-witness-url)")
	}
	return Check{ID: "audit-controls", Citation: "§164.312(b)", Title: "Activity is recorded in a tamper-evident audit log", Status: st, Evidence: ev}
}

func integrity(f Facts) Check {
	ev := "the Merkle tree over every entry matches the stored tree and every checkpoint"
	if !f.AuditOK {
		ev = "the log does not verify: " + f.AuditProblem
	}
	return check("integrity", "§164.312(c)(1), (c)(2)", "Records and their audit trail cannot be altered unnoticed", f.AuditOK,
		ev, "every sealed value is authenticated (AES-GCM): a changed or moved ciphertext does not open")
}

func authentication(f Facts) Check {
	ev := []string{fmt.Sprintf("%d active staff accounts, %d without a second factor (authenticator app or passkey)", f.StaffActive, f.StaffWithoutFactor),
		"a staff account cannot finish signing in without a second factor"}
	if f.RequireStaffPasskey {
		ev = append(ev, "staff must use a passkey (phishing resistant)")
	}
	return Check{ID: "authentication", Citation: "§164.312(d); " + nprm + " (MFA)", Title: "Every staff member signs in with a second factor",
		Status: map[bool]Status{true: Pass, false: Fail}[f.StaffWithoutFactor == 0], Evidence: ev}
}

func transmission(f Facts) Check {
	certs := "self-signed certificate (fine on a private network; use a public host name for ACME certificates)"
	if f.ACME {
		certs = "certificates from an ACME authority"
	}
	return check("transmission-security", "§164.312(e)(1), (e)(2)(ii)", "Traffic is encrypted in transit", f.TLSMinVersion >= "1.2" && f.HSTS,
		"TLS "+f.TLSMinVersion+" or later only; plain HTTP only redirects",
		map[bool]string{true: "HSTS sent on every answer (two years, subdomains)", false: "HSTS not sent"}[f.HSTS], certs)
}

func assetInventory(f Facts) Check {
	return check("asset-inventory", nprm+" (technology asset inventory)", "The installation's components are known", f.Version != "",
		"Haven "+f.Version+", built with "+f.GoVersion,
		"database: "+f.Database, "root key: "+map[bool]string{true: "local key file in the data directory", false: "external key management"}[!f.RootKeyWritten.IsZero()])
}

func backup(f Facts) Check {
	if f.LastBackup.IsZero() {
		return check("backup", "§164.308(a)(7)(ii)(A); "+nprm, "A recent backup exists", false, "no successful backup recorded: run haven backup")
	}
	return check("backup", "§164.308(a)(7)(ii)(A); "+nprm, "A recent backup exists", f.At.Sub(f.LastBackup) <= MaxBackupAge,
		fmt.Sprintf("last successful backup %s (%s); at most %d days expected", day(f.LastBackup), age(f.At, f.LastBackup), int(MaxBackupAge.Hours()/24)))
}

func restoreDrill(f Facts) Check {
	if f.LastRestoreDrill.IsZero() {
		return check("restore-drill", "§164.308(a)(7)(ii)(B), (D); "+nprm, "Restoring has been tested", false, "no restore drill recorded: restore a backup into a scratch directory (docs/operations.md)")
	}
	return check("restore-drill", "§164.308(a)(7)(ii)(B), (D); "+nprm, "Restoring has been tested", f.At.Sub(f.LastRestoreDrill) <= MaxRestoreDrillAge,
		fmt.Sprintf("last successful restore %s (%s); at most %d days expected", day(f.LastRestoreDrill), age(f.At, f.LastRestoreDrill), int(MaxRestoreDrillAge.Hours()/24)))
}

func keyRotation(f Facts) Check {
	const id, cite, title = "key-rotation", "§164.312(a)(2)(iv); " + nprm, "The root key was rotated within a year"
	last, what := f.LastRotation, "last rotation"
	if last.IsZero() {
		last, what = f.RootKeyWritten, "no rotation recorded; root key file written"
	}
	if last.IsZero() {
		return check(id, cite, title, false, "no rotation recorded and no local root key file to date: run haven keys rotate")
	}
	return check(id, cite, title, f.At.Sub(last) <= MaxKeyAge, fmt.Sprintf("%s %s (%s); at most 365 days expected", what, day(last), age(f.At, last)))
}

func retention(f Facts) Check {
	if !f.RetentionConfigured {
		return check("retention", "§164.316(b)(2)(i); §164.310(d)(2)(i)", "Retention periods are configured", false, "no retention purge is scheduled: set --purge-interval (and --retention to change the default periods)")
	}
	return check("retention", "§164.316(b)(2)(i); §164.310(d)(2)(i)", "Retention periods are configured", true, "retention periods are set for every record type and the purge is scheduled; legal holds stop purges")
}

func alerting(f Facts) Check {
	var ev []string
	if f.AlertEmail {
		ev = append(ev, "security alerts are e-mailed")
	}
	if f.AlertWebhook {
		ev = append(ev, "security alerts go to a webhook")
	}
	if f.SIEM {
		ev = append(ev, "every audit entry is forwarded to a SIEM")
	}
	if len(ev) == 0 {
		ev = append(ev, "no alert destination: set --alert-email-to (with --smtp-addr), --alert-webhook-url or --siem-syslog-addr")
	}
	return check("alerting", "§164.308(a)(1)(ii)(D), (a)(6)(ii); "+nprm, "Security alerts reach someone", f.AlertEmail || f.AlertWebhook || f.SIEM, ev...)
}

// businessAssociates: a connected system reaches PHI only under a business associate agreement
// in force and within its scopes. Haven refuses a system outside its agreement's dates on every
// request, so a lapsed one is a registration to renew or disable (to review), not an exposure.
func businessAssociates(f Facts) Check {
	const id, cite, title = "business-associates", "§164.308(b)(1); §164.314(a)", "Connected systems act under a business associate agreement"
	switch {
	case f.ConnectedSystems == 0:
		return check(id, cite, title, true, "no connected system is registered: no other system can reach the record")
	case f.ConnectedLapsed > 0:
		return Check{ID: id, Citation: cite, Title: title, Status: Warn, Evidence: []string{
			fmt.Sprintf("%d of %d enabled connected systems have no agreement in force today: Haven refuses them, so renew their agreement or disable them at Connected systems", f.ConnectedLapsed, f.ConnectedSystems)}}
	}
	return check(id, cite, title, true, fmt.Sprintf("%d connected systems, each with an agreement in force today and tokens limited to its registered scopes for five minutes", f.ConnectedSystems))
}
