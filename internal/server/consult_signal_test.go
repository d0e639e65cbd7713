package server_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/turn/v4"

	"haven/internal/server"
	"haven/internal/server/servertest"
)

// startedVisit books a visit of the patient with the clinician in the time given, checks the patient in and
// admits them: the call can start.
func startedVisit(t *testing.T, e *servertest.Env, clin, patient *servertest.Client, clinID, pid string, in time.Duration) string {
	t.Helper()
	id := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(in))
	consent := e.Client().Must(200, "GET", "/api/v1/consent/telehealth", nil)
	patient.Must(200, "POST", "/api/v1/me/consent/telehealth", map[string]any{"version": consent["version"]})
	patient.Must(200, "POST", "/api/v1/visits/"+id+"/check-in", nil)
	clin.Must(200, "POST", "/api/v1/visits/"+id+"/admit", nil)
	return id
}

// device registers fresh public keys for c and returns the device id.
func device(t *testing.T, c *servertest.Client) string {
	t.Helper()
	key := func() string {
		var b [32]byte
		rand.Read(b[:])
		return base64.RawURLEncoding.EncodeToString(b[:])
	}
	d := c.Must(201, "POST", "/api/v1/me/devices", map[string]string{"signKey": key(), "agreeKey": key(), "label": "test browser"})
	id, _ := d["deviceId"].(string)
	if id == "" {
		t.Fatalf("registered device = %v", d)
	}
	return id
}

func accountID(t *testing.T, c *servertest.Client) string {
	t.Helper()
	return c.Must(200, "GET", "/api/v1/me", nil)["id"].(string)
}

// dialSignal opens the visit's signalling socket as c (its session cookie) from origin. The
// socket is no JSON answer: it bypasses the client's OpenAPI contract check.
func dialSignal(e *servertest.Env, c *servertest.Client, visitID, deviceID, origin string) (*websocket.Conn, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the test server's own certificate
	if c != nil {
		hc.Jar = c.HTTP.Jar
	}
	u := "wss" + strings.TrimPrefix(e.TS.URL, "https") + "/api/v1/visits/" + visitID + "/signal?device=" + deviceID
	ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Origin": {origin}}})
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	return ws, status, err
}

func readSignal(t *testing.T, ws *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("read %s: %v", b, err)
	}
	return m
}

// TestConsultNonParticipant: a signed-in person who is not a participant of the visit — a
// patient of another visit, a clinician outside the care team, a guest of another visit —
// opening the visit's signalling socket is refused before the upgrade, and the refusal is in
// the audit log as consult.join by that person. The participants' sockets work: a signal
// between them arrives with the sender stamped by the server.
func TestConsultNonParticipant(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "signal-dr@haven.test")
		outsider, _ := e.Clinician(admin, "signal-outsider@haven.test")
		patient, pid := e.Patient(clin, ada)
		other, otherPID := e.Patient(clin, servertest.PatientIn{Name: "Bo Other", BirthDate: "1975-05-05", Phone: "+1 555 0100 777", Email: "bo.other@example.test"})
		visit := startedVisit(t, e, clin, patient, clinID, pid, 10*time.Minute)
		otherVisit := startedVisit(t, e, clin, other, clinID, otherPID, 12*time.Minute)
		otherGuest := guestOf(t, e, other, clin, otherVisit, "Cy Guest")

		for _, tc := range []struct {
			name string
			c    *servertest.Client
		}{{"a patient of another visit", other}, {"a clinician outside the care team", outsider}, {"a guest of another visit", otherGuest}} {
			t.Run(tc.name, func(t *testing.T) {
				dev := device(t, tc.c)
				before := len(e.AuditRows())
				ws, status, err := dialSignal(e, tc.c, visit, dev, e.BaseURL)
				if err == nil || ws != nil || status != http.StatusForbidden {
					t.Fatalf("dial = %d, %v; want 403 before the upgrade", status, err)
				}
				var denied []string
				for _, r := range e.AuditRows()[before:] {
					if r[0] == "consult.join" && r[1] == "deny" {
						denied = append(denied, r[2])
					}
				}
				if len(denied) != 1 || denied[0] == "" || denied[0] == accountID(t, patient) || denied[0] == accountID(t, clin) {
					t.Fatalf("consult.join denials by %v; want one, by the person refused", denied)
				}
				if tc.c != otherGuest && denied[0] != accountID(t, tc.c) {
					t.Fatalf("consult.join denied to %s; want %s", denied[0], accountID(t, tc.c))
				}
			})
		}

		pDev, cDev := device(t, patient), device(t, clin)
		if _, status, err := dialSignal(e, nil, visit, pDev, e.BaseURL); err == nil || status != http.StatusUnauthorized {
			t.Fatalf("no session: %d, %v; want 401", status, err)
		}
		if _, status, err := dialSignal(e, patient, visit, pDev, "https://evil.example"); err == nil || status != http.StatusForbidden {
			t.Fatalf("cross-origin: %d, %v; want 403", status, err)
		}
		if _, status, err := dialSignal(e, patient, visit, cDev, e.BaseURL); err == nil || status < 400 {
			t.Fatalf("another account's device: %d, %v; want refused", status, err)
		}
		pws, status, err := dialSignal(e, patient, visit, pDev, e.BaseURL)
		if err != nil {
			t.Fatalf("the patient's socket: %d, %v", status, err)
		}
		defer pws.CloseNow()
		readSignal(t, pws) // welcome
		cws, status, err := dialSignal(e, clin, visit, cDev, e.BaseURL)
		if err != nil {
			t.Fatalf("the clinician's socket: %d, %v", status, err)
		}
		defer cws.CloseNow()
		if w := readSignal(t, cws); w["type"] != "welcome" || len(w["peers"].([]any)) != 1 {
			t.Fatalf("clinician's welcome = %v", w)
		}
		readSignal(t, pws) // peer-joined
		b, _ := json.Marshal(map[string]any{"type": "signal", "to": pDev, "payload": map[string]any{"kind": "ice", "candidate": map[string]any{}}})
		cws.Write(context.Background(), websocket.MessageText, b)
		got := readSignal(t, pws)
		if from := got["from"].(map[string]any); got["type"] != "signal" || from["account"] != accountID(t, clin) || from["device"] != cDev {
			t.Fatalf("relayed = %v; want from the clinician's device, stamped by the server", got)
		}

		// A graceful shutdown says bye and closes with StatusGoingAway.
		e.Srv.EndLiveStreams()
		if m := readSignal(t, pws); m["type"] != "bye" || !strings.Contains(m["reason"].(string), "reconnects by itself") {
			t.Fatalf("on shutdown: %v; want bye", m)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _, err = pws.Read(ctx)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusGoingAway {
			t.Fatalf("after bye: %v; want close %v", err, websocket.StatusGoingAway)
		}
	})
}

// freeUDPPort is a port free on loopback for UDP and TCP now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// TestConsultTURNCredentialIssued: the credential the API issues to a participant allocates at
// the embedded relay (the two agree on the format and share the secret); the same credential
// with its username changed to another visit is refused.
func TestConsultTURNCredentialIssued(t *testing.T) {
	port := freeUDPPort(t)
	e := servertest.New(t, dsnFor(t, "sqlite"), func(c *server.Config) {
		c.TURNListen, c.TURNPublicIP = fmt.Sprintf("127.0.0.1:%d", port), "127.0.0.1"
	})
	if err := e.Srv.StartTURN(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Srv.StopTURN() })
	admin := e.Admin()
	clin, clinID := e.Clinician(admin, "turn-dr@haven.test")
	patient, pid := e.Patient(clin, ada)
	visit := startedVisit(t, e, clin, patient, clinID, pid, 10*time.Minute)
	dev := device(t, patient)
	ice := patient.Must(200, "GET", "/api/v1/visits/"+visit+"/turn?device="+dev, nil)
	servers := ice["iceServers"].([]any)
	if len(servers) != 1 {
		t.Fatalf("iceServers = %v; want the embedded relay", ice)
	}
	s := servers[0].(map[string]any)
	user, pass := s["username"].(string), s["credential"].(string)
	if urls := fmt.Sprint(s["urls"]); !strings.Contains(urls, fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", port)) || !strings.Contains(urls, "transport=tcp") {
		t.Fatalf("urls = %s", urls)
	}
	allocate := func(user, pass string) error {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		c, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn, Username: user, Password: pass, Realm: "haven", RTO: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Listen(); err != nil {
			t.Fatal(err)
		}
		r, err := c.Allocate()
		if err == nil {
			r.Close()
		}
		return err
	}
	if err := allocate(user, pass); err != nil {
		t.Fatalf("the issued credential: %v", err)
	}
	parts := strings.SplitN(user, ":", 3)
	if err := allocate(parts[0]+":"+otherID(visit)+":"+parts[2], pass); err == nil {
		t.Fatal("a credential with another visit in its username allocated")
	}
}

// otherID is a visit id that is not id.
func otherID(id string) string {
	if strings.HasPrefix(id, "0") {
		return "1" + id[1:]
	}
	return "0" + id[1:]
}

// byeOf reads the socket until the server's bye and returns its reason and the close code.
func byeOf(t *testing.T, ws *websocket.Conn) (string, websocket.StatusCode) {
	t.Helper()
	for {
		m := readSignal(t, ws)
		if m["type"] != "bye" {
			continue // a peer leaving first
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _, err := ws.Read(ctx)
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("after bye: %v; want a close frame", err)
		}
		reason, _ := m["reason"].(string)
		return reason, ce.Code
	}
}

// TestConsultSocketsCloseWhenAccessEnds: a call's signalling socket does not outlive the access
// that opened it. A visit the clinician ends closes both participants' sockets at once; signing
// out closes that person's socket at its next re-check, and an administrator disabling an
// account closes its socket the same way — each with a bye that says what happened.
func TestConsultSocketsCloseWhenAccessEnds(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "close-dr@haven.test")
		patient, pid := e.Patient(clin, ada)
		pDev, cDev := device(t, patient), device(t, clin)
		open := func(c *servertest.Client, visit, dev string) *websocket.Conn {
			t.Helper()
			ws, status, err := dialSignal(e, c, visit, dev, e.BaseURL)
			if err != nil {
				t.Fatalf("socket: %d, %v", status, err)
			}
			t.Cleanup(func() { ws.CloseNow() })
			readSignal(t, ws) // welcome
			return ws
		}

		visit := startedVisit(t, e, clin, patient, clinID, pid, 10*time.Minute)
		pws, cws := open(patient, visit, pDev), open(clin, visit, cDev)
		clin.Must(200, "POST", "/api/v1/visits/"+visit+"/end", map[string]string{"summary": "synthetic: rest and fluids"})
		for name, ws := range map[string]*websocket.Conn{"patient": pws, "clinician": cws} {
			if reason, code := byeOf(t, ws); !strings.Contains(reason, "ended the visit") || code != websocket.StatusNormalClosure {
				t.Errorf("the %s's socket after the visit ended: bye %q, close %v", name, reason, code)
			}
		}

		visit = startedVisit(t, e, clin, patient, clinID, pid, 14*time.Minute)
		pws, cws = open(patient, visit, pDev), open(clin, visit, cDev)
		patient.Must(200, "POST", "/api/v1/auth/logout", nil)
		if reason, code := byeOf(t, pws); !strings.Contains(reason, "no longer signed in") || code != websocket.StatusPolicyViolation {
			t.Errorf("the patient's socket after signing out: bye %q, close %v", reason, code)
		}
		admin.Must(200, "POST", "/api/v1/admin/staff/"+clinID+"/disable", nil)
		if reason, code := byeOf(t, cws); !strings.Contains(reason, "no longer signed in") || code != websocket.StatusPolicyViolation {
			t.Errorf("the disabled clinician's socket: bye %q, close %v", reason, code)
		}
	}, func(c *server.Config) { c.SignalPing = 50 * time.Millisecond })
}
