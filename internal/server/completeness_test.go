package server_test

import (
	"testing"

	"haven/internal/server/servertest"
)

// TestEveryPHIOperationIsAuditedOnce: N mixed PHI operations, allowed and refused, append
// exactly N PHI entries, each with the decision the operation got.
func TestEveryPHIOperationIsAuditedOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		drA, _ := e.Clinician(admin, "a@haven.test")
		drB, _ := e.Clinician(admin, "b@haven.test")
		p, pid := e.Patient(drA, ada)
		before := len(e.AuditRows())

		ops := []struct {
			c       *servertest.Client
			method  string
			path    string
			body    any
			status  int
			action  string
			outcome string
		}{
			{drA, "GET", "/api/v1/patients/" + pid, nil, 200, "record.read", "allow"},
			{drB, "GET", "/api/v1/patients/" + pid, nil, 403, "record.read", "deny"},
			{drA, "POST", "/api/v1/patients/" + pid + "/notes", map[string]string{"body": "synthetic"}, 201, "note.write", "allow"},
			{drB, "POST", "/api/v1/patients/" + pid + "/notes", map[string]string{"body": "synthetic"}, 403, "note.write", "deny"},
			{p, "GET", "/api/v1/me/record", nil, 200, "record.read", "allow"},
			{admin, "GET", "/api/v1/patients/" + pid, nil, 403, "record.read", "deny"},
			{drA, "POST", "/api/v1/patients/search", map[string]string{"by": "name", "q": "ada canary"}, 200, "patient.search", "allow"},
			{drB, "POST", "/api/v1/patients/search", map[string]string{"by": "name", "q": "ada canary"}, 200, "patient.search", "allow"},
			{p, "GET", "/api/v1/me/access-log", nil, 200, "accesslog.read", "allow"},
		}
		for i, op := range ops {
			op.c.Must(op.status, op.method, op.path, op.body)
			rows := e.AuditRows()
			if got := len(rows) - before; got != i+1 {
				t.Fatalf("after operation %d (%s %s) there are %d new entries, want %d", i+1, op.method, op.path, got, i+1)
			}
			last := rows[len(rows)-1]
			if last[0] != op.action || last[1] != op.outcome {
				t.Fatalf("operation %d recorded %s/%s, want %s/%s", i+1, last[0], last[1], op.action, op.outcome)
			}
		}
	})
}
