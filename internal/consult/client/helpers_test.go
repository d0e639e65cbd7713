package client_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"haven/internal/consult/client"
	"haven/internal/consult/e2ee"
	"haven/internal/server/servertest"
	"haven/internal/store/storetest"
)

// forEachStore runs fn against a real Haven server on each store.
func forEachStore(t *testing.T, fn func(t *testing.T, e *servertest.Env)) {
	t.Helper()
	if testing.Short() {
		t.Skip("a Haven server per store")
	}
	for _, d := range storetest.Dialects() {
		t.Run(string(d), func(t *testing.T) { fn(t, servertest.New(t, storetest.DSN(t, d))) })
	}
}

var ada = servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+1 555 0100 123", Email: "ada.canary@example.test"}

// visit is a started visit: a clinician and a patient, the patient admitted.
type visit struct {
	ID                string
	PatientID         string
	Clin, Patient     *servertest.Client
	ClinID, PatientAc string
}

// startedVisit books a visit in 10 minutes (as the scheduling side would, straight into the
// database), and the patient accepts the telehealth consent and checks in, and the clinician
// admits them: as internal/server/visits_helpers_test.go does.
func startedVisit(t testing.TB, e *servertest.Env) visit {
	t.Helper()
	admin := e.Admin()
	clin, clinID := e.Clinician(admin, "consult-dr@haven.test")
	patient, pid := e.Patient(clin, ada)
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	at := e.Clock.Now().Add(10 * time.Minute)
	if _, err := e.Srv.DB().ExecContext(context.Background(), `INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at)
		VALUES ($1, $2, $3, 'scheduled', 'booked', $4, $5, $2, $6)`, id, clinID, pid, at.UnixNano(), at.Add(20*time.Minute).UnixNano(), e.Clock.Now().UnixNano()); err != nil {
		t.Fatal(err)
	}
	consent := e.Client().Must(200, "GET", "/api/v1/consent/telehealth", nil)["version"]
	patient.Must(200, "POST", "/api/v1/me/consent/telehealth", map[string]any{"version": consent})
	patient.Must(200, "POST", "/api/v1/visits/"+id+"/check-in", nil)
	clin.Must(200, "POST", "/api/v1/visits/"+id+"/admit", nil)
	return visit{ID: id, PatientID: pid, Clin: clin, Patient: patient, ClinID: clinID}
}

// deviceOf is a client.Client for the person signed in on sc, talking to base (Haven itself
// or a test double in front of it), with fresh device keys registered through it.
func deviceOf(t testing.TB, e *servertest.Env, sc *servertest.Client, base, label string) (*client.Client, e2ee.DeviceKeys) {
	t.Helper()
	keys, err := e2ee.NewDeviceKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	return deviceWith(t, e, sc, base, label, keys), keys
}

// deviceWith is deviceOf with given keys (registering the same keys again answers the same
// device).
func deviceWith(t testing.TB, e *servertest.Env, sc *servertest.Client, base, label string, keys e2ee.DeviceKeys) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{BaseURL: base, Origin: e.BaseURL, HTTP: &http.Client{Jar: sc.HTTP.Jar,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}) // the test server's own certificate
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterDevice(context.Background(), keys, label); err != nil {
		t.Fatal(err)
	}
	return c
}

// ctxFor is a context bounded for one test step.
func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// offerFrom waits on s for an offer from device.
func offerFrom(t *testing.T, s *client.Signal, device string, within time.Duration) client.ServerMessage {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case m, ok := <-s.Events():
			if !ok {
				t.Fatalf("the socket closed before an offer: %v", s.Err())
			}
			if m.Type == "signal" && m.From.Device == device {
				return m
			}
		case <-timeout:
			t.Fatalf("no offer from %s", device)
		}
	}
}
