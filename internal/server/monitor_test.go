package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"haven/internal/monitor"
	"haven/internal/server"
	"haven/internal/server/servertest"
)

// TestDetectorsRaiseStoredSignedAlerts: a clinician probing patients outside their care raises
// an alert that is stored, shown to the privacy officer, counted in /metrics (on the metrics
// listener, not the public port, where the prober would see it) and sent to the
// webhook with a valid HMAC signature. A flagged record raises one on every staff access.
func TestDetectorsRaiseStoredSignedAlerts(t *testing.T) {
	const secret = "webhook secret for tests"
	var mu sync.Mutex
	var received []monitor.Alert
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Haven-Signature") != monitor.Sign([]byte(secret), body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var a monitor.Alert
		json.Unmarshal(body, &a)
		mu.Lock()
		received = append(received, a)
		mu.Unlock()
	}))
	defer hook.Close()
	e := servertest.New(t, "", func(c *server.Config) { c.AlertWebhookURL = hook.URL; c.AlertWebhookSecret = secret })
	admin := e.Admin()
	drA, _ := e.Clinician(admin, "a@haven.test")
	drB, drBID := e.Clinician(admin, "b@haven.test")
	_, pid := e.Patient(drA, ada)
	po, _ := e.Staff(admin, "privacy@haven.test", "auditor")
	ctx := context.Background()
	if _, err := e.Srv.PollMonitor(ctx); err != nil {
		t.Fatal(err)
	}

	for range 3 {
		drB.Do("GET", "/api/v1/patients/"+pid, nil)
	}
	alerts, err := e.Srv.PollMonitor(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 1 || alerts[0].Kind != monitor.DeniedOutsideCare || alerts[0].Subject != drBID {
		t.Fatalf("alerts = %+v, want one denied-outside-care for Dr B", alerts)
	}
	mu.Lock()
	if len(received) != 1 || received[0].Kind != monitor.DeniedOutsideCare {
		t.Fatalf("webhook received %+v", received)
	}
	mu.Unlock()
	if l := po.List(200, "GET", "/api/v1/audit/alerts", nil); len(l) != 1 {
		t.Fatalf("privacy officer sees %v", l)
	}
	drA.Must(http.StatusForbidden, "GET", "/api/v1/audit/alerts", nil)

	po.Must(201, "POST", "/api/v1/audit/flags", map[string]string{"patientId": pid, "kind": "colleague"})
	drA.Must(200, "GET", "/api/v1/patients/"+pid, nil)
	alerts, _ = e.Srv.PollMonitor(ctx)
	if len(alerts) != 1 || alerts[0].Kind != monitor.FlaggedRecord {
		t.Fatalf("alerts after opening a flagged record = %+v", alerts)
	}

	if _, body := getFrom(t, e.Metrics.URL+"/metrics"); !strings.Contains(body, `haven_security_alerts_total{kind="denied-outside-care"} 1`) {
		t.Fatal("alert not counted in /metrics")
	}
	if code, _, raw := drB.Do("GET", "/metrics", nil); code != http.StatusNotFound || strings.Contains(string(raw), "haven_security_alerts_total") {
		t.Fatalf("the prober reads the alert counters on the public port: %d", code)
	}
	// Alerts carry identifiers, never PHI.
	for _, a := range alerts {
		if strings.Contains(a.Detail+a.Subject, "Canary") {
			t.Fatalf("PHI in an alert: %+v", a)
		}
	}
}

func TestIntegrityFailuresRaiseAlerts(t *testing.T) {
	tampers := map[string]string{
		"tree hashes changed": `UPDATE audit_hashes SET hash = $1`,
		"signature corrupted": `UPDATE audit_checkpoints SET signed = $1`,
	}
	for name, stmt := range tampers {
		t.Run(name, func(t *testing.T) {
			e := servertest.New(t, "")
			e.Admin()
			ctx := context.Background()
			if _, err := e.Srv.PublishCheckpoint(ctx); err != nil {
				t.Fatal(err)
			}
			if alerts, _ := e.Srv.PollMonitor(ctx); len(alerts) != 0 {
				t.Fatalf("alerts on an intact log: %+v", alerts)
			}
			if _, err := e.Srv.DB().Exec(stmt, make([]byte, 32)); err != nil {
				t.Fatal(err)
			}
			alerts, err := e.Srv.PollMonitor(ctx)
			if err != nil || len(alerts) != 1 || alerts[0].Kind != monitor.AuditIntegrity {
				t.Fatalf("alerts = %+v, %v; want one audit-integrity alert", alerts, err)
			}
			if again, _ := e.Srv.PollMonitor(ctx); len(again) != 0 {
				t.Fatalf("the same failure alerted again: %+v", again)
			}
		})
	}
}
