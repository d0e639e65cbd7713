package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"haven/internal/server/servertest"
)

// newMediaBrowser is a Chromium of its own (its own process and profile, as a second person on
// another device) with a fake camera and microphone that need no prompt.
func newMediaBrowser(t *testing.T, e *servertest.Env, timeout time.Duration) *browser {
	u, _ := url.Parse(e.TS.URL)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("ignore-certificate-errors", true), // the test server's own certificate
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return &browser{t: t, ctx: ctx, e: e, base: "https://localhost:" + u.Port(), axe: axeSource(t), shots: os.Getenv("HAVEN_SCREENSHOTS")}
}

// until polls a JavaScript expression (a value or a promise) until it is true.
func (b *browser) until(what, expr string, timeout time.Duration) {
	b.t.Helper()
	var last error
	for deadline := time.Now().Add(timeout); ; time.Sleep(200 * time.Millisecond) {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr, chromedp.EvalAwaitPromise))
		if err == nil && ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			page, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector("main") ? document.querySelector("main").innerText : ""`))
			b.t.Fatalf("waiting for %s: %s is still false (%v); the page shows:\n%s", what, expr, last, page)
		}
	}
}

// decodingFrom is a condition: the call decodes video from n peers.
func decodingFrom(n int) string {
	return fmt.Sprintf(`window.havenCall.stats().then(s => s.filter(p => p.framesDecoded > 0).length >= %d)`, n)
}

// bookInDB puts a booked 20-minute appointment in the database as the scheduling side would:
// this test is about the consultation, not the booking.
func bookInDB(t *testing.T, e *servertest.Env, clinicianID, patientID string, at time.Time) string {
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

// TestConsultVideoTwoBrowsers is the consultation in two Chromium processes with fake cameras:
// the clinician and the patient join the started visit, video flows both ways (decoded frames
// counted by each browser's own WebRTC statistics), both pages show the same safety number, a
// chat message and an encrypted attachment go from the patient to the clinician; then a guest
// joins from a third browser and decodes both others' video. The visit page is checked with
// axe-core with the call on. Last, the database files (with the WAL) and the server's log are
// searched for the chat's canary text and the attachment's bytes: neither is there, because
// only ciphertext ever reached the server.
func TestConsultVideoTwoBrowsers(t *testing.T) {
	if testing.Short() {
		t.Skip("drives three browsers")
	}
	e := servertest.New(t, "")
	clin, patient, id := startedConsult(t, e, true)
	visit := "/api/v1/visits/" + id

	doc := newMediaBrowser(t, e, 6*time.Minute)
	doc.do(chromedp.EmulateViewport(1280, 900))
	doc.signIn(person{Email: clin.Email, PW: clin.PW, Secret: clin.Secret}, "My patients")
	pat := newMediaBrowser(t, e, 6*time.Minute)
	pat.do(chromedp.EmulateViewport(375, 812))
	pat.signIn(person{Email: patient.Email, PW: patient.PW, Secret: patient.Secret}, "My record")

	doc.visit("/visits/"+id, "Visit in progress")
	pat.visit("/visits/"+id, "Your visit has started")
	joined := time.Now()
	doc.until("the patient's video at the clinician's", decodingFrom(1), 60*time.Second)
	pat.until("the clinician's video at the patient's", decodingFrom(1), 60*time.Second)
	t.Logf("video both ways %v after both pages were open (polled every 200 ms)", time.Since(joined).Round(10*time.Millisecond))
	doc.checkAccessibility("Visit in progress, with the call on")
	pat.checkAccessibility("Your visit has started, with the call on")
	doc.screenshot("consult-clinician")
	pat.screenshot("consult-patient")

	// The same safety number on both screens; each presses "It matches".
	number := regexp.MustCompile(`^(\d{5} ){11}\d{5}$`)
	doc.until("the safety number at the clinician's", `!!document.querySelector("#safety-list .safety-number")`, 20*time.Second)
	pat.until("the safety number at the patient's", `!!document.querySelector("#safety-list .safety-number")`, 20*time.Second)
	docNumber, patNumber := doc.text("#safety-list .safety-number"), pat.text("#safety-list .safety-number")
	if !number.MatchString(docNumber) || docNumber != patNumber {
		t.Fatalf("safety numbers: the clinician sees %q, the patient %q", docNumber, patNumber)
	}
	for _, b := range []*browser{doc, pat} {
		b.do(chromedp.Click(chromedp.CSS("#safety-list li button")))
		b.until("the contact marked verified", `!!document.querySelector('#safety-list li[data-verified="true"]')`, 10*time.Second)
	}

	// A chat message and an attachment, from the patient's phone to the clinician.
	canary := "CANARY-CHAT-" + rand.Text()
	attachment := []byte("CANARY-FILE-" + rand.Text() + "\nA synthetic photo of a rash.\n")
	file := filepath.Join(t.TempDir(), "rash-photo.txt")
	if err := os.WriteFile(file, attachment, 0o600); err != nil {
		t.Fatal(err)
	}
	pat.fill("#chat-text", canary)
	pat.do(chromedp.SetUploadFiles(chromedp.CSS("#chat-file"), []string{file}))
	pat.do(chromedp.Click(chromedp.CSS("#chat-send")))
	opened := fmt.Sprintf(`[...document.querySelectorAll('#chat-messages li[data-state="open"] .body')].some(p => p.textContent === %q)`, canary)
	pat.until("the patient's own message", opened, 20*time.Second)
	doc.until("the patient's message at the clinician's", opened, 20*time.Second)
	if n := doc.count(`#chat-messages li[data-state="refused"]`); n != 0 {
		t.Fatalf("the clinician's page refused %d messages", n)
	}
	doc.do(chromedp.Click(chromedp.CSS(`#chat-messages li[data-state="open"] .attachment button`)))
	doc.until("the attachment opened", `!!document.querySelector("#chat-messages a.attachment-file")`, 20*time.Second)
	// "Save rash-photo.txt" saves the decrypted file as a person would (the page's
	// Content-Security-Policy rightly keeps scripts from fetching it back).
	downloads := t.TempDir()
	doc.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
		return err
	}))
	doc.do(chromedp.Click(chromedp.CSS("#chat-messages a.attachment-file")))
	var got []byte
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got, _ = os.ReadFile(filepath.Join(downloads, "rash-photo.txt"))
		if bytes.Equal(got, attachment) || time.Now().After(deadline) {
			break
		}
	}
	if !bytes.Equal(got, attachment) {
		t.Fatalf("the attachment saved at the clinician's = %q, want what the patient sent", got)
	}

	// A guest (an interpreter) joins from a third browser and sees both others.
	link := clin.Must(201, "POST", visit+"/guests", map[string]string{"name": "Iris Interpreter", "relation": "interpreter"})
	guest := newMediaBrowser(t, e, 4*time.Minute)
	guest.do(chromedp.EmulateViewport(375, 812))
	guest.visit(pathOf(t, link["url"].(string)), "Join a video visit")
	guest.submit(`main form`, "The visit has started")
	guest.until("both others' video at the guest's", decodingFrom(2), 60*time.Second)
	doc.until("the guest's video at the clinician's", decodingFrom(2), 60*time.Second)
	guest.checkAccessibility("The visit has started, with the call on")
	for name, b := range map[string]*browser{"clinician": doc, "patient": pat, "guest": guest} {
		frames, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`window.havenCall.stats().then(s => s.map(p => p.framesDecoded).join(", "))`, chromedp.EvalAwaitPromise))
		t.Logf("frames decoded at the %s's, per peer: %s", name, frames)
	}
	guest.until("the chat's history is not for the guest's new device", `document.querySelectorAll('#chat-messages li[data-state="older"]').length >= 1`, 20*time.Second)

	// What the server kept: the database files, the WAL and the log hold no plaintext.
	var files []string
	filepath.WalkDir(e.DataDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	sawDB := false
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, "haven.db") {
			sawDB = true
		}
		for _, secret := range [][]byte{[]byte(canary), attachment[:30]} {
			if bytes.Contains(raw, secret) {
				t.Errorf("%s holds %q in clear", f, secret)
			}
		}
	}
	if !sawDB {
		t.Fatalf("no haven.db among the data files %v", files)
	}
	for _, secret := range [][]byte{[]byte(canary), attachment[:30]} {
		if bytes.Contains(e.Log.Bytes(), secret) {
			t.Errorf("the server's log holds %q", secret)
		}
	}
}

// TestConsultPrecall is the waiting room's check on a phone with a fake camera and microphone:
// the camera's preview, the microphone's level and a connection that reaches itself, each said
// in words; the page passes axe-core with the check's results shown.
func TestConsultPrecall(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a browser")
	}
	e := servertest.New(t, "")
	admin := e.Admin()
	clin, clinID := e.Clinician(admin, "rivera@haven.test")
	patient, pid := e.Patient(clin, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+34 612 345 678", Email: "ada.canary@example.test"})
	id := bookInDB(t, e, clinID, pid, e.Clock.Now().Add(10*time.Minute))
	patient.Must(200, "POST", "/api/v1/visits/"+id+"/check-in", nil)

	pat := newMediaBrowser(t, e, 3*time.Minute)
	pat.do(chromedp.EmulateViewport(375, 812))
	pat.signIn(person{Email: patient.Email, PW: patient.PW, Secret: patient.Secret}, "My record")
	pat.visit("/visits/"+id, "Waiting room")
	pat.do(chromedp.Click(chromedp.CSS("#precall-start")))
	for _, check := range []string{"camera", "microphone", "connection"} {
		pat.until("the "+check+" check", fmt.Sprintf(`document.querySelector("#check-%s").dataset.state !== "pending"`, check), 30*time.Second)
		if st := eval[string](pat, fmt.Sprintf(`document.querySelector("#check-%s").dataset.state`, check)); st != "ok" {
			t.Errorf("the %s check: %s (%q)", check, st, pat.text("#check-"+check))
		}
	}
	pat.until("the camera's preview", `document.querySelector("#precall-video").videoWidth > 0`, 10*time.Second)
	pat.checkAccessibility("Waiting room, after the pre-call check")
	pat.screenshot("consult-precall")
}

// TestConsultSecureMessaging is secure messaging between a patient and their care team: the
// clinician opens the patient's messages (their browser makes and registers its keys), the
// patient on a phone sends a message with a photo, the clinician's page opens it and files it
// into the record through the ordinary, audited note write (and the photo through the document
// upload), and the record then shows it as a note. The message's text is
// in the database only as that note (sealed like every note), never as the message.
func TestConsultSecureMessaging(t *testing.T) {
	if testing.Short() {
		t.Skip("drives two browsers")
	}
	e := servertest.New(t, "")
	admin := e.Admin()
	clin, clinID := e.Clinician(admin, "rivera@haven.test")
	patient, pid := e.Patient(clin, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+34 612 345 678", Email: "ada.canary@example.test"})

	doc := newMediaBrowser(t, e, 4*time.Minute)
	doc.do(chromedp.EmulateViewport(1280, 900))
	doc.signIn(person{Email: clin.Email, PW: clin.PW, Secret: clin.Secret}, "My patients")
	doc.visit("/clinician/patients/"+pid, "Patient record")
	doc.follow(chromedp.Click(chromedp.CSS("#record-messages")), "Secure messages")
	doc.until("the clinician's device in the thread", `!!document.querySelector("#safety-nobody")`, 20*time.Second)

	pat := newMediaBrowser(t, e, 4*time.Minute)
	pat.do(chromedp.EmulateViewport(375, 812))
	pat.signIn(person{Email: patient.Email, PW: patient.PW, Secret: patient.Secret}, "My record")
	pat.visit("/patient/messages", "Messages with your care team")
	pat.until("the clinician's safety number", `!!document.querySelector("#safety-list .safety-number")`, 20*time.Second)
	canary := "CANARY-MESSAGE-" + rand.Text()
	// With a photo the clinician will add to the record's documents.
	var photo bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	if err := png.Encode(&photo, img); err != nil {
		t.Fatal(err)
	}
	photoFile := filepath.Join(t.TempDir(), "rash.png")
	if err := os.WriteFile(photoFile, photo.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	pat.fill("#chat-text", canary)
	pat.do(chromedp.SetUploadFiles(chromedp.CSS("#chat-file"), []string{photoFile}))
	pat.do(chromedp.Click(chromedp.CSS("#chat-send")))
	opened := fmt.Sprintf(`[...document.querySelectorAll('#chat-messages li[data-state="open"] .body')].some(p => p.textContent === %q)`, canary)
	pat.until("the patient's own message", opened, 20*time.Second)
	pat.checkAccessibility("Messages with your care team, with a message")

	doc.until("the patient's message at the clinician's", opened, 30*time.Second)
	doc.checkAccessibility("Secure messages, with a message")
	doc.do(chromedp.Click(chromedp.CSS(`#chat-messages li[data-state="open"] .file-into button`)))
	doc.do(chromedp.Click(chromedp.CSS(`#chat-messages .file-into .notice button`)))
	doc.until("the message filed", `!!document.querySelector('#chat-messages .ok[role="status"]')`, 20*time.Second)
	// Filing is the ordinary, audited note write by the clinician on this patient's record.
	filed := false
	for _, row := range e.AuditRows() {
		if row == [4]string{"note.write", "allow", clinID, pid} {
			filed = true
		}
	}
	if !filed {
		t.Fatalf("no allowed note.write by the clinician on the patient's record in the audit log: %v", e.AuditRows())
	}
	// The photo: opened on the clinician's device, then filed as a document (document.upload).
	doc.do(chromedp.Click(chromedp.CSS(`#chat-messages li[data-state="open"] .attachment button.link`)))
	doc.until("the photo opened", `!!document.querySelector("#chat-messages a.attachment-file")`, 20*time.Second)
	doc.do(chromedp.Click(chromedp.CSS(`#chat-messages .attachment button.secondary`)))
	doc.until("the photo filed", `[...document.querySelectorAll('#chat-messages .attachment .ok[role="status"]')].some(s => s.textContent.includes("Filed into the record's documents"))`, 20*time.Second)
	if code, _, raw := clin.Do("GET", "/api/v1/patients/"+pid+"/documents", nil); code != 200 || !strings.Contains(string(raw), "rash.png") {
		t.Fatalf("the record's documents do not hold the filed photo: %d %s", code, raw)
	}
	doc.visit("/clinician/patients/"+pid, "Patient record")
	if page := doc.text("main"); !strings.Contains(page, canary) || !strings.Contains(page, "Secure message from") {
		t.Fatalf("the record does not show the filed message: %q", page)
	}
	for _, f := range []string{"haven.db", "haven.db-wal"} {
		raw, err := os.ReadFile(filepath.Join(e.DataDir, f))
		if err == nil && bytes.Contains(raw, []byte(canary)) {
			t.Errorf("%s holds the message in clear", f)
		}
	}
}

// rewriteFingerprints is the test double of a signalling path that tampers with the call: a
// script the test (never the product) puts into the page before Haven's own, which changes the
// DTLS fingerprint of every description this browser sends — in the SDP and in the signed
// field alike — as a relay that wants to sit in the middle of the media would.
const rewriteFingerprints = `(() => {
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    try {
      const m = JSON.parse(data);
      const p = m && m.type === "signal" ? m.payload : null;
      if (p && (p.kind === "offer" || p.kind === "answer")) {
        const swap = (fp) => fp.replace(/sha-256 ([0-9A-F]{2})/, (_, b) => "sha-256 " + (b === "00" ? "01" : "00"));
        p.sdp = p.sdp.replace(/a=fingerprint:(sha-256 [0-9A-F:]+)/g, (_, fp) => "a=fingerprint:" + swap(fp));
        p.fingerprint = swap(p.fingerprint);
        window.__havenRewritten = (window.__havenRewritten || 0) + 1;
        data = JSON.stringify(m);
      }
    } catch (e) {}
    return send.call(this, data);
  };
})();`

// TestConsultVideoFingerprintRefused is the browser side of TestConsultFingerprintRewrite: the
// patient's descriptions reach the clinician with their DTLS fingerprint rewritten on the way.
// Whichever of the two offers, the clinician receives one of them, so the clinician's page
// stops the call with the warning naming the patient, and no video is decoded on either side.
func TestConsultVideoFingerprintRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("drives two browsers")
	}
	e := servertest.New(t, "")
	clin, patient, id := startedConsult(t, e, false)

	doc := newMediaBrowser(t, e, 3*time.Minute)
	doc.do(chromedp.EmulateViewport(1280, 900))
	doc.signIn(person{Email: clin.Email, PW: clin.PW, Secret: clin.Secret}, "My patients")
	pat := newMediaBrowser(t, e, 3*time.Minute)
	pat.do(chromedp.EmulateViewport(375, 812))
	pat.signIn(person{Email: patient.Email, PW: patient.PW, Secret: patient.Secret}, "My record")
	pat.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: rewriteFingerprints})
		return err
	}))

	doc.visit("/visits/"+id, "Visit in progress")
	pat.visit("/visits/"+id, "Your visit has started")
	pat.until("a description rewritten on the way", `(window.__havenRewritten || 0) >= 1`, 30*time.Second)
	warning := `document.querySelector("#call-warnings").textContent.includes("The connection to Ada Canary could not be verified, so the call was stopped.")`
	doc.until("the clinician's warning", warning, 30*time.Second)
	time.Sleep(3 * time.Second) // time enough for media, had the call gone on
	for name, b := range map[string]*browser{"clinician": doc, "patient": pat} {
		frames, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`window.havenCall.stats().then(s => s.reduce((n, p) => n + (p.framesDecoded || 0), 0))`, chromedp.EvalAwaitPromise))
		if err != nil || frames != 0 {
			t.Errorf("the %s's page decoded %d frames (%v) over a connection it could not verify", name, frames, err)
		}
	}
	if n := doc.count(`#consult video[aria-label="Ada Canary's camera"]`); n != 0 {
		t.Errorf("the clinician's page still shows the patient's video after refusing the call")
	}
	doc.checkAccessibility("Visit in progress, the call refused")
}

// startedConsult is a visit of Ada Canary with Dr Rivera, booked, consented to, checked into
// and admitted: the call can start. guests says whether Ada agreed that guests may join.
func startedConsult(t *testing.T, e *servertest.Env, guests bool) (clin, patient *servertest.Client, visitID string) {
	t.Helper()
	admin := e.Admin()
	clin, clinID := e.Clinician(admin, "rivera@haven.test")
	patient, pid := e.Patient(clin, servertest.PatientIn{Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+34 612 345 678", Email: "ada.canary@example.test"})
	visitID = bookInDB(t, e, clinID, pid, e.Clock.Now().Add(10*time.Minute))
	visit := "/api/v1/visits/" + visitID
	consent := e.Client().Must(200, "GET", "/api/v1/consent/telehealth", nil)
	patient.Must(200, "POST", "/api/v1/me/consent/telehealth", map[string]any{"version": consent["version"]})
	patient.Must(200, "POST", visit+"/check-in", nil)
	if guests {
		patient.Must(200, "POST", visit+"/guests-allowed", nil)
	}
	clin.Must(200, "POST", visit+"/admit", nil)
	return clin, patient, visitID
}
