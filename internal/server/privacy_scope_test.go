package server_test

import (
	"net/http"
	"strings"
	"testing"

	"haven/internal/server/servertest"
)

// TestAccessLogWithoutAPatientIsRefused stops a fail-open over HTTP: the privacy officer's
// session names no patient, so /me/access-log asked the service for the log of patient "" —
// which the audit search read as every patient, and answered with every patient's accesses.
// Without a patient the request is refused (422), for every staff role, and lists nothing.
func TestAccessLogWithoutAPatientIsRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		dr, _ := e.Clinician(admin, "grace@haven.test")
		_, pid := e.Patient(dr, ada)
		dr.Must(http.StatusOK, "GET", "/api/v1/patients/"+pid, nil)
		po, _ := e.Staff(admin, "privacy@haven.test", "auditor")

		for name, c := range map[string]*servertest.Client{"privacy officer": po, "clinician": dr, "administrator": admin} {
			code, _, raw := c.Do("GET", "/api/v1/me/access-log", nil)
			if code != http.StatusUnprocessableEntity || !strings.Contains(string(raw), "patientId") || strings.Contains(string(raw), pid) {
				t.Errorf("%s: GET /api/v1/me/access-log = %d %.200s, want 422 naming patientId and no entries", name, code, raw)
			}
		}
		// Naming the patient still works for the privacy officer; a blank name does not.
		po.List(http.StatusOK, "GET", "/api/v1/patients/"+pid+"/access-log", nil)
		po.Must(http.StatusUnprocessableEntity, "GET", "/api/v1/patients/%20/access-log", nil)
	})
}
