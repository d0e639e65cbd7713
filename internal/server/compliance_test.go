package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"haven/internal/governance"
	"haven/internal/server/servertest"
)

// complianceCheck finds one check of the report.
func complianceCheck(t *testing.T, rep map[string]any, id string) (status string, evidence string) {
	t.Helper()
	for _, c := range rep["checks"].([]any) {
		m := c.(map[string]any)
		if m["id"] == id {
			return m["status"].(string), strings.Join(servertest.Strings(m["evidence"]), "; ")
		}
	}
	t.Fatalf("report has no check %q: %v", id, rep)
	return "", ""
}

// TestComplianceReportFlagsStaffWithoutMFA: a staff account that has signed in with its
// password but never enrolled a second factor fails §164.312(d), with the count as evidence;
// only administrators and the privacy officer may read the report.
func TestComplianceReportFlagsStaffWithoutMFA(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		auditor, _ := e.Staff(admin, "co-auditor@haven.test", "auditor")
		if st, ev := complianceCheck(t, admin.Must(200, "GET", "/api/v1/compliance-report", nil), "authentication"); st != "pass" || !strings.Contains(ev, "0 without a second factor") {
			t.Fatalf("every staff member enrolled: %s %q", st, ev)
		}
		m := admin.Must(201, "POST", "/api/v1/admin/staff", map[string]string{"email": "nofactor@haven.test", "name": "Dr Nofactor", "role": "clinician"})
		c := e.Client()
		c.Must(201, "POST", "/api/v1/invites/activate", map[string]string{"token": servertest.TokenOf(t, m["url"].(string)), "password": "staff passphrase"})
		rep := auditor.Must(200, "GET", "/api/v1/compliance-report", nil)
		st, ev := complianceCheck(t, rep, "authentication")
		if st != "fail" || !strings.Contains(ev, "1 without a second factor") {
			t.Fatalf("a staff member without a factor: %s %q", st, ev)
		}
		if strings.Contains(ev, "nofactor") || rep["failed"].(float64) < 1 {
			t.Fatalf("evidence names a person or the count is off: %v", rep)
		}
		if last := e.LastAudit(); last[0] != "compliance.read" || last[1] != "allow" {
			t.Fatalf("report read not audited: %v", last)
		}
		clin, _ := e.Clinician(admin, "co-clin@haven.test")
		clin.Must(http.StatusForbidden, "GET", "/api/v1/compliance-report", nil)
		if last := e.LastAudit(); last[0] != "compliance.read" || last[1] != "deny" {
			t.Fatalf("refusal not audited: %v", last)
		}
	})
}

// TestComplianceReportBackupEvidence: with no backup the check fails; a recorded successful
// backup passes with its time as evidence, and one older than seven days fails again.
func TestComplianceReportBackupEvidence(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		if st, ev := complianceCheck(t, admin.Must(200, "GET", "/api/v1/compliance-report", nil), "backup"); st != "fail" || !strings.Contains(ev, "no successful backup") {
			t.Fatalf("no backup: %s %q", st, ev)
		}
		ctx := context.Background()
		for _, kind := range []string{governance.RunBackup, governance.RunRestoreDrill, governance.RunRotation} {
			id, err := governance.StartRun(ctx, e.Srv.DB(), kind, e.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := governance.FinishRun(ctx, e.Srv.DB(), id, e.Clock.Now().Add(time.Minute), true, "synthetic"); err != nil {
				t.Fatal(err)
			}
		}
		e.Clock.Advance(2 * time.Hour)
		admin.Login()
		rep := admin.Must(200, "GET", "/api/v1/compliance-report", nil)
		for _, id := range []string{"backup", "restore-drill", "key-rotation"} {
			if st, ev := complianceCheck(t, rep, id); st != "pass" || !strings.Contains(ev, "24 November 2026") {
				t.Errorf("%s after a recorded run: %s %q", id, st, ev)
			}
		}
		e.Clock.Advance(8 * 24 * time.Hour)
		admin.Login()
		if st, ev := complianceCheck(t, admin.Must(200, "GET", "/api/v1/compliance-report", nil), "backup"); st != "fail" || !strings.Contains(ev, "8 days ago") {
			t.Fatalf("a backup eight days old: %s %q", st, ev)
		}
	})
}
