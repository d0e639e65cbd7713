package server_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"haven/internal/server/servertest"
)

// TestAccessLogWithoutAPatientIsRefused stops a fail-open over HTTP: the privacy officer's
// session names no patient, so /me/access-log asked the service for the log of patient "" —
// which the audit search read as every patient, and answered with every patient's accesses.
// Staff have no record of their own: the request is refused (403) and the refusal recorded
// (reason no-own-record), for every staff role, and lists nothing.
func TestAccessLogWithoutAPatientIsRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "grace@haven.test")
		_, pid := e.Patient(dr, ada)
		dr.Must(http.StatusOK, "GET", "/api/v1/patients/"+pid, nil)
		po, _ := e.Staff(admin, "privacy@haven.test", "auditor")

		for name, c := range map[string]*servertest.Client{"privacy officer": po, "clinician": dr, "administrator": admin} {
			code, _, raw := c.Do("GET", "/api/v1/me/access-log", nil)
			if code != http.StatusForbidden || strings.Contains(string(raw), pid) {
				t.Errorf("%s: GET /api/v1/me/access-log = %d %.200s, want 403 and no entries", name, code, raw)
			}
			if last := e.LastAudit(); last[0] != "accesslog.read" || last[1] != "deny" || last[3] != "" {
				t.Errorf("%s: the refusal was recorded as %v, want a denied accesslog.read on no patient", name, last)
			}
		}
		// Naming the patient still works for the privacy officer; a blank name does not.
		po.List(http.StatusOK, "GET", "/api/v1/patients/"+pid+"/access-log", nil)
		po.Must(http.StatusUnprocessableEntity, "GET", "/api/v1/patients/%20/access-log", nil)
	})
}

// TestReportingTwiceOverHTTPIsOneReview: a patient who taps "I don't recognise this" twelve
// times at once gets twelve successes (201, as for the first), and the privacy officer one
// review.
func TestReportingTwiceOverHTTPIsOneReview(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "grace@haven.test")
		p, pid := e.Patient(dr, ada)
		po, _ := e.Staff(admin, "privacy@haven.test", "auditor")
		dr.Must(http.StatusOK, "GET", "/api/v1/patients/"+pid, nil)

		var seq string
		for _, ev := range p.List(http.StatusOK, "GET", "/api/v1/me/access-log", nil) {
			if m := ev.(map[string]any); m["what"] == "opened your record" {
				seq = strconv.FormatInt(int64(m["seq"].(float64)), 10)
				break
			}
		}
		if seq == "" {
			t.Fatal("the clinician's read is not in the patient's access log")
		}
		codes := make([]int, 12)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Go(func() { codes[i], _, _ = p.Do("POST", "/api/v1/me/access-log/"+seq+"/report", nil) })
		}
		wg.Wait()
		for i, code := range codes {
			if code != http.StatusCreated {
				t.Errorf("report %d = %d, want 201", i+1, code)
			}
		}
		if reviews := po.List(http.StatusOK, "GET", "/api/v1/audit/reviews", nil); len(reviews) != 1 {
			t.Fatalf("12 reports of one access opened %d reviews, want 1", len(reviews))
		}
	})
}

// TestAnotherPatientsAttemptIsShownNotHidden: a patient who tries to open someone else's
// record is refused, and the record's owner sees the attempt as another patient's, never as
// their own act: it is in their log, not taken for "You", and can be reported.
func TestAnotherPatientsAttemptIsShownNotHidden(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "grace@haven.test")
		owner, ownerID := e.Patient(dr, ada)
		prober, _ := e.Patient(dr, servertest.PatientIn{Name: "Quinn Vale", BirthDate: "1970-01-01", Phone: "+1 555 0177 000", Email: "quinn.vale@example.test"})
		prober.Must(http.StatusForbidden, "GET", "/api/v1/patients/"+ownerID, nil)

		var found bool
		for _, it := range owner.List(http.StatusOK, "GET", "/api/v1/me/access-log", nil) {
			ev := it.(map[string]any)
			if ev["role"] != "patient" || ev["outcome"] != "deny" {
				continue
			}
			found = true
			if ev["you"] == true || ev["who"] != "Another patient" {
				t.Errorf("another patient's refused attempt is shown as %v", ev)
			}
		}
		if !found {
			t.Fatal("the owner's access log does not show another patient's refused attempt")
		}
	})
}
