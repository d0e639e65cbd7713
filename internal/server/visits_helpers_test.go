package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"haven/internal/server/servertest"
)

// bookVisit puts a booked 20-minute appointment in the database as the scheduling side would:
// these tests are about the visit, not the booking.
func bookVisit(t *testing.T, e *servertest.Env, clinicianID, patientID string, at time.Time) string {
	t.Helper()
	var b [16]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	_, err := e.Srv.DB().ExecContext(context.Background(), `INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at)
		VALUES ($1, $2, $3, 'scheduled', 'booked', $4, $5, $2, $6)`, id, clinicianID, patientID, at.UnixNano(), at.Add(20*time.Minute).UnixNano(), e.Clock.Now().UnixNano())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// endedVisit puts an appointment that ended in the database, as the visit's end leaves it.
func endedVisit(t *testing.T, e *servertest.Env, clinicianID, patientID string, at time.Time) string {
	t.Helper()
	id := bookVisit(t, e, clinicianID, patientID, at)
	if _, err := e.Srv.DB().ExecContext(context.Background(), `UPDATE appointments SET state = 'ended', ended_at = $1 WHERE id = $2`, at.Add(20*time.Minute).UnixNano(), id); err != nil {
		t.Fatal(err)
	}
	return id
}

// guestToken is the token in a guest link's URL.
func guestToken(t *testing.T, link map[string]any) string {
	t.Helper()
	url, _ := link["url"].(string)
	_, token, ok := strings.Cut(url, "/visit/guest/")
	if !ok || token == "" {
		t.Fatalf("guest link %v", link)
	}
	return token
}

// guestOf invites a guest to visit id (the patient agrees first) and returns the guest's
// client, signed in by the link.
func guestOf(t *testing.T, e *servertest.Env, patient, clin *servertest.Client, id, name string) *servertest.Client {
	t.Helper()
	patient.Must(200, "POST", "/api/v1/visits/"+id+"/guests-allowed", nil)
	link := clin.Must(201, "POST", "/api/v1/visits/"+id+"/guests", map[string]string{"name": name, "relation": "family"})
	g := e.Client()
	if m := g.Must(200, "POST", "/api/v1/guest-links/redeem", map[string]string{"token": guestToken(t, link)}); m["visitId"] != id {
		t.Fatalf("redeemed to %v, want %s", m, id)
	}
	return g
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
