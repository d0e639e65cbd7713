package web

import (
	"time"

	"haven/internal/governance/compliance"
)

// governanceFixtures are the compliance report (a fresh installation: some checks fail) and the
// page a patient lands on after confirming it is them to download their record.
func governanceFixtures(when time.Time) map[string][]page {
	f := compliance.Facts{Settings: compliance.Settings{Version: "1.0.0", Database: "SQLite", TLSMinVersion: "1.2", HSTS: true,
		IdleWorkforce: 15 * time.Minute, IdlePatient: 30 * time.Minute, AbsoluteLifetime: 12 * time.Hour},
		At: when, GoVersion: "go1.26", Accounts: 5, DistinctAccountIDs: 5, StaffActive: 3, StaffWithoutFactor: 1, Patients: 2,
		SealedSampled: 10, AuditEntries: 40, AuditOK: true, LatestCheckpoint: when.Add(-time.Hour), LastBackup: when.Add(-48 * time.Hour)}
	return map[string][]page{
		"compliance":   {{Title: "Compliance report", Data: compliance.PageOf(compliance.Evaluate(f), time.UTC)}},
		"export-ready": {{Title: "Your record is ready to download", Data: "html"}},
	}
}
