package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"haven/internal/audit"
	"haven/internal/consult"
	"haven/internal/consult/e2ee"
	"haven/internal/server/servertest"
	"haven/internal/turncred"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// newKeys is a device's public keys (their private halves are no business of the server's).
func newKeys() map[string]string {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	return map[string]string{"signKey": b64(pub), "agreeKey": b64(randomBytes(32)), "label": "Test browser"}
}

// registerDevice registers a device for c and answers its id.
func registerDevice(t *testing.T, c *servertest.Client) string {
	t.Helper()
	return c.Must(201, "POST", "/api/v1/me/devices", newKeys())["deviceId"].(string)
}

// envelope is a synthetic envelope: its "ciphertext" is random bytes (the server cannot tell).
func envelope(thread, account, device string, seq int, ciphertext []byte) []byte {
	env := map[string]any{"v": 1, "thread": thread, "id": b64(randomBytes(16)),
		"sender": map[string]string{"account": account, "device": device}, "seq": seq,
		"sentAt": "2026-11-30T09:12:03Z", "epk": b64(randomBytes(32)),
		"recipients": []map[string]string{{"device": device, "iv": b64(randomBytes(12)), "wrapped": b64(randomBytes(48))}},
		"iv":         b64(randomBytes(12)), "ciphertext": b64(ciphertext), "sig": b64(randomBytes(64))}
	b, _ := json.Marshal(env)
	return b
}

func accountOf(t *testing.T, c *servertest.Client) string {
	t.Helper()
	// A guest may not read /me: their own devices' leaves name them.
	ds := c.Must(200, "GET", "/api/v1/me/devices", nil)["devices"].([]any)
	if len(ds) == 0 {
		t.Fatal("no device registered")
	}
	return ds[0].(map[string]any)["entry"].(map[string]any)["actorId"].(string)
}

// TestConsultDeviceLeafAndProof: registering a device writes a key-transparency leaf with its
// keys and no source address, and the visit's directory proves it against a checkpoint signed
// by the published key: the proof verifies with tlog, the checkpoint with note.
func TestConsultDeviceLeafAndProof(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "consult-clin@haven.test")
		patient, pid := e.Patient(clin, ada)
		visit := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(5*time.Minute))
		keys := newKeys()
		dev := patient.Must(201, "POST", "/api/v1/me/devices", keys)
		again := patient.Must(201, "POST", "/api/v1/me/devices", keys)
		if again["deviceId"] != dev["deviceId"] {
			t.Fatalf("the same keys registered again made a second device: %v, %v", again["deviceId"], dev["deviceId"])
		}
		entry := dev["entry"].(map[string]any)
		if entry["action"] != consult.ActionKeyAdd || entry["sourceAddr"] != "" || entry["resourceId"] != dev["deviceId"] ||
			entry["reason"] != consult.LeafReason(keys["signKey"], keys["agreeKey"]) || entry["requestId"] == "" {
			t.Fatalf("leaf = %v", entry)
		}
		registerDevice(t, clin)

		_, _, raw := clin.DoRaw("GET", "/api/v1/audit/key", nil)
		verifier, err := note.NewVerifier(strings.TrimSpace(string(raw)))
		if err != nil {
			t.Fatal(err)
		}
		var keysAnswer consult.Keys
		answer := mustGet(t, patient, "/api/v1/visits/"+visit+"/keys")
		if err := json.Unmarshal(answer, &keysAnswer); err != nil {
			t.Fatal(err)
		}
		// The client package's strict parser and its three checks accept the answer as served.
		parsed, err := e2ee.ParseDirectoryAnswer(answer)
		if err != nil {
			t.Fatalf("e2ee parse: %v", err)
		}
		for _, p := range parsed.People {
			for _, d := range p.Devices {
				if err := e2ee.VerifyDevice(d, p.AccountID, []byte(parsed.Checkpoint), parsed.Origin, verifier); err != nil {
					t.Fatalf("e2ee verify %s's device: %v", p.Role, err)
				}
			}
		}
		n, err := note.Open([]byte(keysAnswer.Checkpoint), note.VerifierList(verifier))
		if err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
		origin, tree, err := audit.ParseCheckpoint([]byte(n.Text))
		if err != nil || origin != keysAnswer.Origin {
			t.Fatalf("checkpoint %q: origin %q, %v", n.Text, keysAnswer.Origin, err)
		}
		roles := map[string]int{}
		for _, p := range keysAnswer.People {
			roles[p.Role] += len(p.Devices)
			if p.DisplayName == "" {
				t.Errorf("%s has no name", p.Role)
			}
			for _, d := range p.Devices {
				seq, _ := strconv.ParseInt(d.Entry.Seq, 10, 64)
				ns, _ := strconv.ParseInt(d.Entry.Time, 10, 64)
				leaf := audit.Entry{Seq: seq, Time: time.Unix(0, ns), ActorID: d.Entry.ActorID, ActorRole: d.Entry.ActorRole,
					Action: d.Entry.Action, ResourceType: d.Entry.ResourceType, ResourceID: d.Entry.ResourceID, PatientID: d.Entry.PatientID,
					Outcome: d.Entry.Outcome, Reason: d.Entry.Reason, SourceAddr: d.Entry.SourceAddr, RequestID: d.Entry.RequestID, Purpose: d.Entry.Purpose}
				var proof tlog.RecordProof
				for _, h := range d.Proof {
					b, _ := base64.RawURLEncoding.DecodeString(h)
					var hh tlog.Hash
					copy(hh[:], b)
					proof = append(proof, hh)
				}
				if err := tlog.CheckRecord(proof, tree.N, tree.Hash, seq-1, audit.LeafHash(leaf)); err != nil {
					t.Fatalf("%s's device %s: proof: %v", p.Role, d.DeviceID, err)
				}
				if d.Entry.ActorID != p.AccountID || d.Entry.Reason != consult.LeafReason(d.SignKey, d.AgreeKey) {
					t.Fatalf("leaf %v does not name %s's keys", d.Entry, p.AccountID)
				}
			}
		}
		if roles["patient"] != 1 || roles["clinician"] != 1 {
			t.Fatalf("devices by role = %v", roles)
		}
		// Removed: a leaf of its own, and gone from the directory.
		patient.Must(200, "DELETE", "/api/v1/me/devices/"+dev["deviceId"].(string), nil)
		if last := e.LastAudit(); !strings.Contains(strings.Join(last[:], " "), consult.ActionKeyRemove) {
			t.Fatalf("last entry after removal = %v", last)
		}
		if ds := patient.Must(200, "GET", "/api/v1/me/devices", nil)["devices"].([]any); len(ds) != 0 {
			t.Fatalf("a removed device is still listed: %v", ds)
		}
	})
}

func mustGet(t *testing.T, c *servertest.Client, path string) []byte {
	t.Helper()
	code, _, raw := c.DoRaw("GET", path, nil)
	if code != 200 {
		t.Fatalf("GET %s = %d %s", path, code, raw)
	}
	return raw
}

// TestConsultNonParticipantRefused: someone who is not in the visit gets neither its keys,
// nor a relay credential, nor its chat, and each refusal is recorded; a guest of the visit
// may, a guest of another visit may not.
func TestConsultNonParticipantRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "consult-clin2@haven.test")
		other, _ := e.Clinician(admin, "consult-other@haven.test")
		patient, pid := e.Patient(clin, ada)
		visit := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(5*time.Minute))
		elsewhere := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(60*time.Minute))
		guest := guestOf(t, e, patient, clin, visit, "Consult Guest")
		stranger := guestOf(t, e, patient, clin, elsewhere, "Other Guest")
		otherDev := registerDevice(t, other)
		guestDev := registerDevice(t, guest)
		strangerDev := registerDevice(t, stranger)
		thread := consult.VisitThread(visit)
		for _, tc := range []struct {
			name   string
			c      *servertest.Client
			device string
			want   int
		}{
			{"clinician outside the care team", other, otherDev, 403},
			{"guest of another visit", stranger, strangerDev, 403},
			{"guest of this visit", guest, guestDev, 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, path := range []string{"/visits/" + visit + "/keys", "/visits/" + visit + "/turn?device=" + tc.device, "/threads/" + thread + "/messages"} {
					before := len(e.AuditRows())
					code, _, raw := tc.c.DoRaw("GET", "/api/v1"+path, nil)
					if code != tc.want {
						t.Fatalf("GET %s = %d %s, want %d", path, code, raw, tc.want)
					}
					if rows := e.AuditRows(); len(rows) != before+1 || (tc.want == 403 && rows[len(rows)-1][1] != audit.Deny) {
						t.Fatalf("GET %s left %d entries, last %v", path, len(rows)-before, rows[len(rows)-1])
					}
				}
				acct := accountOf(t, tc.c)
				code, _, raw := tc.c.DoRaw("POST", "/api/v1/threads/"+thread+"/messages", bytes.NewReader(envelope(thread, acct, tc.device, 1, randomBytes(40))))
				if want := map[int]int{200: 201, 403: 403}[tc.want]; code != want {
					t.Fatalf("post = %d %s, want %d", code, raw, want)
				}
			})
		}
		// The patient's own thread is not the guest's.
		if code, _, _ := guest.DoRaw("GET", "/api/v1/threads/"+consult.PatientThread(pid)+"/messages", nil); code != 403 {
			t.Fatalf("a guest read the patient's thread: %d", code)
		}
	})
}

// TestConsultEnvelopeChecks: what the server can check without keys, it checks: the sender is
// the caller from one of their current devices, the thread is the one posted to, the size, and
// that (sender device, seq) is new. A message is stored and answered byte for byte as it came,
// and its random "ciphertext" carries nothing the database could show in clear.
func TestConsultEnvelopeChecks(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "consult-clin3@haven.test")
		patient, pid := e.Patient(clin, ada)
		visit := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(5*time.Minute))
		thread := consult.VisitThread(visit)
		pdev, cdev := registerDevice(t, patient), registerDevice(t, clin)
		pacct, cacct := accountOf(t, patient), accountOf(t, clin)
		post := func(c *servertest.Client, body []byte) (int, []byte) {
			code, _, raw := c.DoRaw("POST", "/api/v1/threads/"+thread+"/messages", bytes.NewReader(body))
			return code, raw
		}
		const canary = "CANARY-CHAT-TEXT-7f3a"
		first := envelope(thread, pacct, pdev, 1, randomBytes(64))
		if code, raw := post(patient, first); code != 201 {
			t.Fatalf("post = %d %s", code, raw)
		}
		for _, tc := range []struct {
			name string
			c    *servertest.Client
			body []byte
			want int
			says string
		}{
			{"another's account", patient, envelope(thread, cacct, pdev, 2, randomBytes(8)), 422, "sender"},
			{"another's device", patient, envelope(thread, pacct, cdev, 2, randomBytes(8)), 422, "device"},
			{"another thread", patient, envelope(consult.PatientThread(pid), pacct, pdev, 2, randomBytes(8)), 422, "thread"},
			{"a repeated seq", patient, envelope(thread, pacct, pdev, 1, randomBytes(8)), 409, "already sent"},
			{"a repeated message", patient, first, 409, "already sent"},
			{"over 256 KiB", patient, envelope(thread, pacct, pdev, 2, randomBytes(consult.MaxEnvelopeBytes)), 413, "KiB"},
			{"not an envelope", patient, []byte(`{"v":2}`), 422, "envelope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, raw := post(tc.c, tc.body)
				if code != tc.want || !strings.Contains(string(raw), tc.says) {
					t.Fatalf("= %d %s, want %d saying %q", code, raw, tc.want, tc.says)
				}
			})
		}
		second := envelope(thread, cacct, cdev, 1, []byte(canary)) // a canary the database must not hold in clear
		if code, raw := post(clin, second); code != 201 {
			t.Fatalf("post = %d %s", code, raw)
		}
		raw := mustGet(t, patient, "/api/v1/threads/"+thread+"/messages")
		if want := `{"messages":[` + string(first) + `,` + string(second) + `]}`; strings.TrimSpace(string(raw)) != want {
			t.Fatalf("messages = %s\nwant %s", raw, want)
		}
		var firstID struct{ ID string }
		json.Unmarshal(first, &firstID)
		raw = mustGet(t, patient, "/api/v1/threads/"+thread+"/messages?after="+firstID.ID)
		if strings.TrimSpace(string(raw)) != `{"messages":[`+string(second)+`]}` {
			t.Fatalf("after = %s", raw)
		}
		var stored []byte
		if err := e.Srv.DB().QueryRowContext(context.Background(), `SELECT envelope FROM consult_messages WHERE thread = $1 ORDER BY created_at, id LIMIT 1`, thread).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stored, first) && !bytes.Equal(stored, second) {
			t.Fatalf("stored envelope differs from what was sent")
		}
		// An attachment: ciphertext in, the same ciphertext out.
		blob := randomBytes(5000)
		code, raw := doRaw(t, e, patient, "POST", "/api/v1/threads/"+thread+"/attachments", "application/octet-stream", blob)
		if code != 201 {
			t.Fatalf("attachment = %d %s", code, raw)
		}
		var att struct{ ID string }
		json.Unmarshal(raw, &att)
		if got := mustGet(t, clin, "/api/v1/threads/"+thread+"/attachments/"+att.ID); !bytes.Equal(got, blob) {
			t.Fatalf("attachment came back different")
		}
		if code, _ := doRaw(t, e, patient, "POST", "/api/v1/threads/"+thread+"/attachments", "application/octet-stream", make([]byte, consult.MaxAttachmentBytes+1)); code != 413 {
			t.Fatalf("an attachment over 10 MiB = %d", code)
		}
		// The canary's bytes appear nowhere in the tables in clear (the browser test scans the files).
		for _, q := range []string{`SELECT envelope FROM consult_messages`, `SELECT bytes FROM consult_attachments`} {
			rows, err := e.Srv.DB().QueryContext(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var b []byte
				rows.Scan(&b)
				if bytes.Contains(b, []byte(canary)) {
					t.Fatalf("%s holds the canary in clear", q)
				}
			}
			rows.Close()
		}
	})
}

// TestConsultTURNCredential: a participant's credential is "<expiry>:<visit>:<device>" with the
// HMAC-SHA1 of the server's secret, good for ten minutes; TURN off answers no servers.
func TestConsultTURNCredential(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	user := fmt.Sprintf("%d:%s:%s", int64(1764500000), "visit1", "dev1")
	m := hmac.New(sha1.New, secret)
	m.Write([]byte(user))
	if got, want := turncred.Password(secret, user), base64.StdEncoding.EncodeToString(m.Sum(nil)); got != want {
		t.Fatalf("the credential = %s, want %s", got, want)
	}
	exp, v, d, err := turncred.ParseUsername(user, time.Unix(1764500000-60, 0))
	if err != nil || exp.Unix() != 1764500000 || v != "visit1" || d != "dev1" {
		t.Fatalf("parse = %v %s %s %v", exp, v, d, err)
	}
	for _, bad := range []string{"", "1:a", "x:a:b", "1:a:b:c", "-5:a:b", "1:a b:c"} {
		if _, _, _, err := turncred.ParseUsername(bad, time.Unix(1764500000-60, 0)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if urls := consult.TURNURLs("203.0.113.7", 3478); len(urls) != 2 || urls[0] != "turn:203.0.113.7:3478?transport=udp" || urls[1] != "turn:203.0.113.7:3478?transport=tcp" {
		t.Fatalf("urls = %v", urls)
	}
	e := servertest.New(t, "")
	admin := e.Admin()
	clin, clinID := e.Clinician(admin, "consult-turn@haven.test")
	patient, pid := e.Patient(clin, ada)
	visit := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(5*time.Minute))
	dev := registerDevice(t, patient)
	ice := patient.Must(200, "GET", "/api/v1/visits/"+visit+"/turn?device="+dev, nil)
	if ice["ttl"] != float64(600) {
		t.Fatalf("ttl = %v", ice["ttl"])
	}
	if code, _, _ := patient.DoRaw("GET", "/api/v1/visits/"+visit+"/turn?device=not-mine", nil); code != http.StatusUnprocessableEntity {
		t.Fatalf("a device not the caller's = %d", code)
	}
}
