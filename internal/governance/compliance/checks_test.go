package compliance_test

import (
	"strings"
	"testing"
	"time"

	"haven/internal/governance/compliance"
)

// good is an installation that passes every check.
func good(now time.Time) compliance.Facts {
	return compliance.Facts{
		Settings: compliance.Settings{Version: "1.0.0", Database: "SQLite", TLSMinVersion: "1.2", HSTS: true, IdleWorkforce: 15 * time.Minute,
			IdlePatient: 30 * time.Minute, AbsoluteLifetime: 12 * time.Hour, Witnessed: true, AlertEmail: true, RetentionConfigured: true, BreakGlass: true},
		At: now, GoVersion: "go1.26", Accounts: 4, DistinctAccountIDs: 4, StaffActive: 3, Patients: 2, SealedSampled: 8,
		AuditEntries: 10, AuditOK: true, LatestCheckpoint: now.Add(-time.Hour), LastBackup: now.Add(-time.Hour),
		LastRestoreDrill: now.Add(-24 * time.Hour), LastRotation: now.Add(-24 * time.Hour),
	}
}

// TestEvaluate: each fact that breaks a safeguard fails (or warns on) its own check and no other.
func TestEvaluate(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	if r := compliance.Evaluate(good(now)); r.Failed != 0 || r.Warned != 0 || r.Passed != len(r.Checks) {
		t.Fatalf("a good installation: %+v", r)
	}
	for _, tc := range []struct {
		check  string
		want   compliance.Status
		breaks func(*compliance.Facts)
	}{
		{"authentication", compliance.Fail, func(f *compliance.Facts) { f.StaffWithoutFactor = 1 }},
		{"encryption-at-rest", compliance.Fail, func(f *compliance.Facts) { f.PatientsWithoutKeyset = 1 }},
		{"encryption-at-rest", compliance.Fail, func(f *compliance.Facts) { f.SealedLookPlain = 1 }},
		{"audit-controls", compliance.Fail, func(f *compliance.Facts) { f.AuditOK, f.AuditProblem = false, "entry 3 was modified" }},
		{"audit-controls", compliance.Warn, func(f *compliance.Facts) { f.Witnessed = false }},
		{"audit-controls", compliance.Warn, func(f *compliance.Facts) { f.LatestCheckpoint = now.Add(-48 * time.Hour) }},
		{"backup", compliance.Fail, func(f *compliance.Facts) { f.LastBackup = time.Time{} }},
		{"backup", compliance.Fail, func(f *compliance.Facts) { f.LastBackup = now.Add(-8 * 24 * time.Hour) }},
		{"restore-drill", compliance.Fail, func(f *compliance.Facts) { f.LastRestoreDrill = now.Add(-91 * 24 * time.Hour) }},
		{"key-rotation", compliance.Fail, func(f *compliance.Facts) { f.LastRotation = time.Time{} }},
		{"key-rotation", compliance.Fail, func(f *compliance.Facts) { f.LastRotation = now.Add(-366 * 24 * time.Hour) }},
		{"retention", compliance.Fail, func(f *compliance.Facts) { f.RetentionConfigured = false }},
		{"alerting", compliance.Fail, func(f *compliance.Facts) { f.AlertEmail = false }},
		{"automatic-logoff", compliance.Fail, func(f *compliance.Facts) { f.IdleWorkforce = 2 * time.Hour }},
		{"emergency-access", compliance.Warn, func(f *compliance.Facts) { f.BreakGlass = false }},
		{"business-associates", compliance.Warn, func(f *compliance.Facts) { f.ConnectedSystems, f.ConnectedLapsed = 2, 1 }},
	} {
		f := good(now)
		tc.breaks(&f)
		for _, c := range compliance.Evaluate(f).Checks {
			want := compliance.Pass
			// A log that does not verify fails integrity as well as audit controls.
			if c.ID == tc.check || (c.ID == "integrity" && !f.AuditOK) {
				want = tc.want
			}
			if c.Status != want {
				t.Errorf("breaking %s: check %s = %s %v, want %s", tc.check, c.ID, c.Status, c.Evidence, want)
			}
		}
	}
}

// TestReportHTMLHasNoScript: the report is one self-contained document without scripts.
func TestReportHTMLHasNoScript(t *testing.T) {
	doc, err := compliance.Evaluate(good(time.Now())).HTML(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "src=", "http://", "https://"} {
		if strings.Contains(string(doc), bad) {
			t.Errorf("report holds %q", bad)
		}
	}
}
