package consult_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/consult"
	"haven/internal/guard"
	"haven/internal/ids"
	"haven/internal/store"
	"haven/internal/visits"
)

// env is a consult service on a real database, audit log, checkpointer and policy, with people
// put in the database as identity and clinical would leave them.
type env struct {
	t        *testing.T
	db       *store.DB
	svc      *consult.Service
	verifier note.Verifier
	origin   audit.LogOrigin
	now      time.Time
	notes    *notes
	secret   []byte
	slots    int
}

// notes records what the signalling hub would be told.
type notes struct {
	mu   sync.Mutex
	seen []string
}

func (n *notes) MessagePosted(visitID, thread, id string) {
	n.mu.Lock()
	n.seen = append(n.seen, visitID+" "+thread+" "+id)
	n.mu.Unlock()
}

type names map[string]string

func (m names) DisplayNames(_ context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		out[id] = m[id]
	}
	return out, nil
}

func (m names) OpenNames(ctx context.Context, ids []string) (map[string]string, error) {
	return m.DisplayNames(ctx, ids)
}

func newEnv(t *testing.T, db *store.DB, turn bool) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, db: db, now: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), notes: &notes{}}
	now := func() time.Time { return e.now }
	skey, vkey, err := note.GenerateKey(rand.Reader, "haven-test")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	e.verifier, _ = note.NewVerifier(vkey)
	if e.origin, err = audit.EnsureLogOrigin(ctx, db); err != nil {
		t.Fatal(err)
	}
	cps := audit.NewCheckpointer(db, signer, e.origin, now)
	policy := access.New(access.Relations{clinical.CareTeam{DB: db}, visits.AppointmentCare{DB: db, CareDays: 30, Now: now}})
	door := guard.New(policy, audit.New(db, now), now)
	people := names{}
	cfg := consult.Config{}
	if turn {
		e.secret = []byte("0123456789abcdef0123456789abcdef")
		cfg = consult.Config{TURNSecret: e.secret, TURNURLs: consult.TURNURLs("203.0.113.7", 3478)}
	}
	e.svc = consult.New(db, door, consult.Deps{Staff: people, Patients: people,
		GuestNames: func(ctx context.Context, _ string, ids []string) (map[string]string, error) {
			return people.DisplayNames(ctx, ids)
		},
		Publish: cps.Publish, Origin: e.origin.Name}, cfg, now)
	e.svc.SetNotifier(e.notes)
	return e
}

func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	if _, err := e.db.ExecContext(context.Background(), q, args...); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
}

func (e *env) account(role access.Role, patientID string) access.Subject {
	e.t.Helper()
	id := ids.New()
	var pid any
	if patientID != "" {
		pid = patientID
	}
	e.exec(`INSERT INTO accounts (id, role, status, email_bidx, patient_id, created_at) VALUES ($1, $2, 'active', $3, $4, $5)`,
		id, string(role), []byte(id), pid, e.now.UnixNano())
	return access.Subject{AccountID: id, Role: role, PatientID: patientID}
}

// patient makes a patient record and its account, cared for by clinicians.
func (e *env) patient(clinicians ...access.Subject) access.Subject {
	e.t.Helper()
	pid := ids.New()
	x := []byte(pid)
	e.exec(`INSERT INTO patients (id, name_ct, birth_date_ct, phone_ct, email_ct, name_bidx, birth_date_bidx, phone_bidx, email_bidx, created_by, created_at)
		VALUES ($1, $2, $2, $2, $2, $2, $2, $2, $2, 'test', $3)`, pid, x, e.now.UnixNano())
	for _, c := range clinicians {
		e.exec(`INSERT INTO care_team (patient_id, clinician_id, relation, created_at) VALUES ($1, $2, 'assigned', $3)`, pid, c.AccountID, e.now.UnixNano())
	}
	return e.account(access.Patient, pid)
}

func (e *env) visit(clin, patient access.Subject) string {
	e.t.Helper()
	id := ids.New()
	e.slots++
	at := e.now.Add(time.Duration(e.slots) * 30 * time.Minute)
	e.exec(`INSERT INTO appointments (id, clinician_id, patient_id, kind, state, start_at, end_at, booked_by, booked_at)
		VALUES ($1, $2, $3, 'scheduled', 'booked', $4, $5, $2, $6)`, id, clin.AccountID, patient.PatientID, at.UnixNano(), at.Add(20*time.Minute).UnixNano(), e.now.UnixNano())
	return id
}

func (e *env) guest(visitID string) access.Subject {
	e.t.Helper()
	g := e.account(access.Guest, "")
	e.exec(`INSERT INTO visit_guests (id, appointment_id, account_id, name_ct, relation, token_hash, invited_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, 'family', $4, 'test', $5, $6)`, ids.New(), visitID, g.AccountID, []byte(g.AccountID), e.now.UnixNano(), e.now.Add(time.Hour).UnixNano())
	return g
}

var origin = consult.Origin{Addr: "198.51.100.23", RequestID: "req-1"}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func newKeys() consult.NewDevice {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	return consult.NewDevice{SignKey: b64(pub), AgreeKey: b64(random(32)), Label: "test"}
}

func (e *env) device(by access.Subject) string {
	e.t.Helper()
	d, err := e.svc.RegisterDevice(context.Background(), by, newKeys(), origin)
	if err != nil {
		e.t.Fatal(err)
	}
	return d.DeviceID
}

func envelope(thread, account, device string, seq int, ciphertext []byte) []byte {
	b, _ := json.Marshal(map[string]any{"v": 1, "thread": thread, "id": b64(random(16)),
		"sender": map[string]string{"account": account, "device": device}, "seq": seq, "sentAt": "2026-11-30T09:12:03Z",
		"epk": b64(random(32)), "recipients": []map[string]string{{"device": device, "iv": b64(random(12)), "wrapped": b64(random(48))}},
		"iv": b64(random(12)), "ciphertext": b64(ciphertext), "sig": b64(random(64))})
	return b
}

// lastEntry is the newest audit entry.
func (e *env) lastEntry() audit.Entry {
	e.t.Helper()
	es, err := audit.Search(context.Background(), e.db, audit.Filter{Limit: 1})
	if err != nil || len(es) == 0 {
		e.t.Fatalf("no audit entry: %v", err)
	}
	return es[0]
}
