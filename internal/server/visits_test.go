package server_test

import (
	"bufio"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"haven/internal/httpx"
	"haven/internal/server/servertest"
)

// TestVisitJourneyOverHTTP is a visit through the API: the clinician's waiting room is live
// (a check-in arrives as an event without a reload, and the event names no one); the patient
// accepts the consent, checks in and answers; the clinician admits, invites a guest whose link
// works once, and ends the visit with a summary; the guest's session ends with it; the patient
// reads the summary and the receipt, and finds the guest by name in their access log.
func TestVisitJourneyOverHTTP(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "visit-dr@haven.test")
		patient, pid := e.Patient(clin, ada)
		id := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(10*time.Minute))
		visit := "/api/v1/visits/" + id

		room := clin.Stream("/api/v1/waiting-room/events")
		if room.Status != http.StatusOK || room.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("waiting room stream = %d %s", room.Status, room.Body)
		}
		page := patient.Stream(visit + "/events")
		if v := patient.Must(200, "GET", visit, nil); v["clinicianStatus"] != "online" || v["consentCurrent"] != false {
			t.Fatalf("visit before check-in = %v", v)
		}
		if code, _, raw := patient.Do("POST", visit+"/admit", nil); code != http.StatusForbidden {
			t.Fatalf("a patient admitting themselves = %d %s", code, raw)
		}
		consent := e.Client().Must(200, "GET", "/api/v1/consent/telehealth", nil)
		if !strings.Contains(consent["text"].(string), "does not record the video or the sound") {
			t.Fatalf("consent = %v", consent)
		}
		patient.Must(409, "POST", "/api/v1/me/consent/telehealth", map[string]string{"version": "1999-01"})
		if st := patient.Must(200, "POST", "/api/v1/me/consent/telehealth", map[string]any{"version": consent["version"]}); st["current"] != true || st["sha256"] != consent["sha256"] {
			t.Fatalf("accepted = %v", st)
		}
		if st := patient.Must(200, "GET", "/api/v1/me/consent/telehealth", nil); st["text"] != consent["text"] {
			t.Fatalf("what I accepted = %v", st)
		}

		patient.Must(200, "POST", visit+"/check-in", nil)
		ev, ok := room.Await("check-in", 5*time.Second)
		if !ok || !strings.Contains(ev.Data, id) || strings.Contains(ev.Data, "Ada") || strings.Contains(ev.Data, pid) {
			t.Fatalf("waiting room event = %+v %v, want the check-in naming the visit alone", ev, ok)
		}
		if _, ok := page.Await("check-in", 5*time.Second); !ok {
			t.Fatal("no check-in event on the visit's page")
		}
		patient.Must(200, "PUT", visit+"/intake", map[string]string{"reason": "synthetic cough", "questions": "when can I run again?"})
		waiting := clin.List(200, "GET", "/api/v1/waiting-room", nil)
		if len(waiting) != 1 || waiting[0].(map[string]any)["patientName"] != ada.Name || waiting[0].(map[string]any)["intake"].(map[string]any)["reason"] != "synthetic cough" {
			t.Fatalf("waiting room = %v", waiting)
		}
		clin.Must(409, "POST", visit+"/guests", map[string]string{"name": "Rosa Díaz", "relation": "interpreter"})
		patient.Must(200, "POST", visit+"/guests-allowed", nil)
		if v := clin.Must(200, "POST", visit+"/admit", nil); v["state"] != "in-progress" {
			t.Fatalf("admitted = %v", v)
		}
		link := clin.Must(201, "POST", visit+"/guests", map[string]string{"name": "Rosa Díaz", "relation": "interpreter"})
		guest := e.Client()
		guest.Must(200, "POST", "/api/v1/guest-links/redeem", map[string]string{"token": guestToken(t, link)})
		e.Client().Must(410, "POST", "/api/v1/guest-links/redeem", map[string]string{"token": guestToken(t, link)})
		if v := guest.Must(200, "GET", visit, nil); v["summary"] != nil || !strings.Contains(string(mustJSON(t, v["participants"])), "Rosa Díaz") {
			t.Fatalf("the guest's page = %v", v)
		}
		guestPage := guest.Stream(visit + "/events")
		if guestPage.Status != http.StatusOK {
			t.Fatalf("the guest's live page = %d %s", guestPage.Status, guestPage.Body)
		}

		clin.Must(422, "POST", visit+"/end", map[string]string{"summary": "  "})
		clin.Must(200, "PUT", "/api/v1/clinicians/"+clinID+"/availability", map[string]any{"timeZone": "UTC", "slotMinutes": 30,
			"weekly": []map[string]string{{"day": "wed", "start": "09:00", "end": "17:00"}}})
		followUp := e.Clock.Now().Truncate(24 * time.Hour).Add(24*time.Hour + 10*time.Hour).Format(time.RFC3339) // tomorrow, a Wednesday
		v := clin.Must(200, "POST", visit+"/end", map[string]string{"summary": "Synthetic summary: rest.", "followUp": followUp})
		if v["state"] != "ended" || v["followUpId"] == nil {
			t.Fatalf("ended = %v", v)
		}
		if _, ok := guestPage.Await("end", 5*time.Second); !ok {
			t.Fatal("no end event on the guest's page")
		}
		if code, _, raw := guest.Do("GET", visit, nil); code != http.StatusUnauthorized {
			t.Fatalf("the guest after the end = %d %s, want 401: their session ended", code, raw)
		}
		mine := patient.Must(200, "GET", visit, nil)
		if mine["summary"] != "Synthetic summary: rest." || len(mine["receipt"].([]any)) < 5 || mine["followUpId"] != v["followUpId"] {
			t.Fatalf("the patient's ended visit = %v", mine)
		}
		var named bool
		for _, ev := range patient.List(200, "GET", "/api/v1/me/access-log", nil) {
			named = named || ev.(map[string]any)["who"] == "Rosa Díaz (interpreter, invited to your visit)"
		}
		if !named {
			t.Fatal("the guest is not named in the patient's access log")
		}
	})
}

// TestGuestSessionReachesOnlyItsVisit walks the whole route table with a guest's session:
// every route answers 403 (401 would do) except their own visit's page and its live events;
// the same two at another visit of the same patient are refused by the door, and recorded.
func TestGuestSessionReachesOnlyItsVisit(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clin, clinID := e.Clinician(admin, "guest-walk-dr@haven.test")
		patient, pid := e.Patient(clin, ada)
		mine := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(10*time.Minute))
		other := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(24*time.Hour))
		guest := guestOf(t, e, patient, clin, mine, "Walk Guest")

		guest.Must(200, "GET", "/api/v1/visits/"+mine, nil)
		if s := guest.Stream("/api/v1/visits/" + mine + "/events"); s.Status != http.StatusOK {
			t.Fatalf("the guest's live page = %d %s", s.Status, s.Body)
		} else {
			s.Close()
		}
		wildcard := regexp.MustCompile(`\{[a-z]+\}`)
		walked := 0
		for _, rt := range e.Srv.APIRoutes() {
			if rt.Public {
				continue // no session needed: a guest is anyone there
			}
			if strings.HasPrefix(rt.Path, "/me/devices") {
				continue // the guest's own device keys, for their visit's call (TestConsultNonParticipantRefused)
			}
			path := "/api/v1" + wildcard.ReplaceAllString(rt.Path, other)
			t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
				var code int
				var raw []byte
				if strings.HasSuffix(rt.Path, "/events") {
					s := guest.Stream(path)
					code, raw = s.Status, s.Body
					s.Close()
				} else {
					code, _, raw = guest.Do(rt.Method, path, map[string]any{})
				}
				if code != http.StatusForbidden && code != http.StatusUnauthorized {
					t.Fatalf("as a guest = %d %.200s, want 401 or 403", code, raw)
				}
			})
			walked++
		}
		if walked < 40 {
			t.Fatalf("walked only %d routes", walked)
		}
		var refused int
		for _, r := range e.AuditRows() {
			if r[0] == "visit.read" && r[1] == "deny" {
				refused++
			}
		}
		if refused != 2 {
			t.Fatalf("%d refusals of another visit recorded, want 2 (its page and its events)", refused)
		}
	})
}

// TestLiveStreamEndsAtShutdown: a live stream never goes idle, so shutting down ends it rather
// than waiting out the grace period; a stream opened after that ends at once.
func TestLiveStreamEndsAtShutdown(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	clin, _ := e.Clinician(admin, "stream-dr@haven.test")
	s := clin.Stream("/api/v1/waiting-room/events")
	if s.Status != http.StatusOK {
		t.Fatalf("stream = %d %s", s.Status, s.Body)
	}
	e.Srv.EndLiveStreams()
	if !s.Ended(5 * time.Second) {
		t.Fatal("the stream outlived the shutdown")
	}
	if late := clin.Stream("/api/v1/waiting-room/events"); late.Status == http.StatusOK && !late.Ended(5*time.Second) {
		t.Fatal("a stream opened while shutting down stays open")
	}
}

// TestLiveStreamOutlivesTheServerTimeouts: the server bounds how long reading and writing an
// answer may take; a live stream lifts both for itself and still delivers an event after they
// have passed.
func TestLiveStreamOutlivesTheServerTimeouts(t *testing.T) {
	e := servertest.New(t, "")
	admin := e.Admin()
	clin, clinID := e.Clinician(admin, "timeout-dr@haven.test")
	patient, pid := e.Patient(clin, ada)
	id := bookVisit(t, e, clinID, pid, e.Clock.Now().Add(10*time.Minute))

	const timeout = 200 * time.Millisecond
	srv := &http.Server{Handler: e.Srv.Handler(), ReadHeaderTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/api/v1/waiting-room/events", nil)
	req.AddCookie(&http.Cookie{Name: httpx.SessionCookie, Value: clin.SessionCookie()})
	resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream = %d", resp.StatusCode)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	time.Sleep(5 * timeout) // past both timeouts
	patient.Must(200, "POST", "/api/v1/visits/"+id+"/check-in", nil)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended at the server's timeout")
			}
			if l == "event: check-in" {
				return
			}
		case <-deadline:
			t.Fatal("no event after the timeouts passed")
		}
	}
}
