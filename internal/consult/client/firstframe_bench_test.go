package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"haven/internal/httpx"
	"haven/internal/server/servertest"
)

// The browser's first-decoded-frame benchmarks (docs/benchmarks.md, "11. Consultations"): the
// time from both sides having joined (camera open) to each side having decoded a first video
// frame from the other, through Haven's signalling (BenchmarkConsultFirstFrame: two Chromium
// profiles, the signed offer and answer through the visit's socket) against two peers wired
// directly in one page (BenchmarkDirectFirstFrame). Both skip unless HAVEN_CHROMIUM names
// Chromium:
//
//	HAVEN_CHROMIUM=/usr/bin/chromium go test ./internal/consult/client -run '^$' -bench FirstFrame -benchtime 20x

// chromium starts a headless Chromium with a fake camera and microphone (a fresh profile).
func chromium(b *testing.B) context.Context {
	b.Helper()
	path := os.Getenv("HAVEN_CHROMIUM")
	if path == "" {
		b.Skip("set HAVEN_CHROMIUM to Chromium's path to run the browser benchmarks")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.UserDataDir(b.TempDir()),
		chromedp.Flag("ignore-certificate-errors", true), // the test server's own certificate
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// Host candidates as addresses, not mDNS names: two browsers on one machine without a
		// multicast responder could not resolve each other's.
		chromedp.Flag("disable-features", "WebRtcHideLocalIpsWithMdns"),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 10*time.Minute)
	b.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// firstFrameJS is shared by both pages: it resolves with performance.now() when video el has
// presented its first frame from stream.
const firstFrameJS = `
function firstFrame(stream) {
  const v = document.createElement("video");
  v.muted = true; v.autoplay = true; v.playsInline = true;
  document.body.append(v);
  v.srcObject = stream;
  return new Promise(res => v.requestVideoFrameCallback(() => { res(performance.now()); v.remove(); }));
}
`

// directPage wires two RTCPeerConnections in one page, each sending the fake camera, and
// answers the milliseconds from creating them to both having decoded a first frame.
const directPage = `<!doctype html><meta charset="utf-8"><title>direct</title><body><script>` + firstFrameJS + `
async function directCall() {
  const cam = await navigator.mediaDevices.getUserMedia({video: true, audio: false});
  const t0 = performance.now();
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = e => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = e => e.candidate && a.addIceCandidate(e.candidate);
  const got = pc => new Promise(res => pc.ontrack = e => res(firstFrame(e.streams[0])));
  const fa = got(a), fb = got(b);
  for (const pc of [a, b]) cam.getTracks().forEach(t => pc.addTrack(t, cam));
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  const done = Math.max(await fa, await fb);
  a.close(); b.close(); cam.getTracks().forEach(t => t.stop());
  return done - t0;
}
</script>`

// BenchmarkDirectFirstFrame is the baseline: two peers in one page, no signalling at all.
func BenchmarkDirectFirstFrame(b *testing.B) {
	ctx := chromium(b)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(directPage))
	}))
	defer page.Close()
	u, _ := url.Parse(page.URL)
	if err := chromedp.Do(ctx, chromedp.Navigate("http://localhost:"+u.Port()+"/")); err != nil { // localhost: a secure context
		b.Fatal(err)
	}
	var ms []float64
	for b.Loop() {
		d, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`directCall()`, chromedp.EvalAwaitPromise))
		if err != nil {
			b.Fatal(err)
		}
		ms = append(ms, d)
	}
	reportFrames(b, ms)
}

// reportFrames reports the median and the mean of the measured times to the first frame.
func reportFrames(b *testing.B, ms []float64) {
	slices.Sort(ms)
	var sum float64
	for _, m := range ms {
		sum += m
	}
	b.ReportMetric(ms[len(ms)/2], "p50-ms")
	b.ReportMetric(sum/float64(len(ms)), "mean-ms")
}

// consultJS runs in a Haven page of each profile: it makes and registers device keys with the
// browser modules (static/consult/crypto.js), opens the camera and joins the visit's signalling
// socket. callOnce and answerOnce then run one call: a signed offer and answer through the
// socket, each verified before use, and ICE candidates trickled through it; each answers the
// milliseconds from its start to its first decoded frame.
const consultJS = firstFrameJS + `
window.consultSetup = async (visit) => {
  const c = await import("/static/consult/crypto.js");
  const keys = await c.generateDeviceKeys();
  const reg = await fetch("/api/v1/me/devices", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({signKey: c.b64(keys.signKey), agreeKey: c.b64(keys.agreeKey), label: "benchmark"})});
  if (reg.status !== 201) throw new Error("register: " + reg.status);
  const me = (await reg.json()).deviceId;
  const cam = await navigator.mediaDevices.getUserMedia({video: true, audio: false});
  const ws = new WebSocket("wss://" + location.host + "/api/v1/visits/" + visit + "/signal?device=" + encodeURIComponent(me));
  const s = {c, keys, me, cam, ws, visit, n: 0, pc: null, pending: [], queue: [], waiters: [], seen: new Set()};
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.type === "signal" && m.payload.kind === "ice") {
      if (m.payload.n !== s.n) return; // a candidate of an earlier call
      if (s.pc && s.pc.remoteDescription) s.pc.addIceCandidate(m.payload.candidate); else s.pending.push(m.payload.candidate);
      return;
    }
    s.queue.push(m);
    s.waiters.splice(0).forEach((w) => w());
  };
  s.next = async (pred) => {
    for (;;) {
      const i = s.queue.findIndex(pred);
      if (i >= 0) return s.queue.splice(i, 1)[0];
      await new Promise((r) => s.waiters.push(r));
    }
  };
  await s.next((m) => m.type === "welcome");
  window.consult = s;
  return me;
};

// consultPeer takes the other device's signing key from the visit's directory (its proof is
// checked at join by the product; here the join is before the timed part).
window.consultPeer = async (device) => {
  const s = window.consult;
  const d = await (await fetch("/api/v1/visits/" + s.visit + "/keys")).json();
  for (const p of d.people) for (const dv of p.devices) if (dv.deviceId === device) s.peer = {device, signKey: s.c.fromB64(dv.signKey)};
  if (!s.peer) throw new Error("peer not in the directory");
};

function newCall(s) {
  s.n++;
  s.pending = [];
  const pc = new RTCPeerConnection();
  s.pc = pc;
  const n = s.n;
  pc.onicecandidate = (e) => e.candidate && s.ws.send(JSON.stringify({type: "signal", to: s.peer.device, payload: {kind: "ice", n, candidate: e.candidate.toJSON()}}));
  const frame = new Promise((res) => pc.ontrack = (e) => res(firstFrame(e.streams[0])));
  s.cam.getTracks().forEach((t) => pc.addTrack(t, s.cam));
  return frame;
}

async function remote(s, m, type) {
  await s.c.verifyDescription(m.payload, {visitId: s.visit, from: m.from.device, to: s.me, me: s.me, signKey: s.peer.signKey, seenNonces: s.seen, who: "the other person"});
  await s.pc.setRemoteDescription({type, sdp: m.payload.sdp});
  s.pending.splice(0).forEach((c) => s.pc.addIceCandidate(c));
}

window.callOnce = async () => {
  const s = window.consult, t0 = performance.now();
  const frame = newCall(s);
  await s.pc.setLocalDescription(await s.pc.createOffer());
  const offer = await s.c.signDescription({kind: "offer", sdp: s.pc.localDescription.sdp, visitId: s.visit, from: s.me, to: s.peer.device, signPrivate: s.keys.signPrivate});
  s.ws.send(JSON.stringify({type: "signal", to: s.peer.device, payload: offer}));
  await remote(s, await s.next((m) => m.type === "signal" && m.payload.kind === "answer"), "answer");
  return (await frame) - t0;
};

window.answerOnce = async () => {
  const s = window.consult, t0 = performance.now();
  const m = await s.next((m) => m.type === "signal" && m.payload.kind === "offer");
  const frame = newCall(s);
  await remote(s, m, "offer");
  await s.pc.setLocalDescription(await s.pc.createAnswer());
  const answer = await s.c.signDescription({kind: "answer", sdp: s.pc.localDescription.sdp, visitId: s.visit, from: s.me, to: s.peer.device, signPrivate: s.keys.signPrivate});
  s.ws.send(JSON.stringify({type: "signal", to: s.peer.device, payload: answer}));
  return (await frame) - t0;
};

window.hangUp = () => { window.consult.pc.close(); return true; };
`

// BenchmarkConsultFirstFrame is a call between a clinician's and a patient's Chromium (two
// profiles, each signed in with its own session) through Haven's signalling: from both having
// joined the visit's socket with their camera open, to both having decoded a first frame from
// the other. Each page measures its own side; an iteration counts the later of the two.
func BenchmarkConsultFirstFrame(b *testing.B) {
	clinCtx, patCtx := chromium(b), chromium(b)
	e := servertest.New(b, "")
	v := startedVisit(b, e)
	devices := map[string]string{}
	for _, side := range []struct {
		name string
		ctx  context.Context
		sc   *servertest.Client
	}{{"clinician", clinCtx, v.Clin}, {"patient", patCtx, v.Patient}} {
		secure := true
		if _, err := chromedp.Call(side.ctx, network.SetCookie, network.SetCookieParams{Name: httpx.SessionCookie, Value: side.sc.SessionCookie(),
			URL: e.BaseURL + "/", Path: "/", Secure: &secure, HTTPOnly: &secure, SameSite: network.CookieSameSiteStrict}); err != nil {
			b.Fatal(err)
		}
		if err := chromedp.Do(side.ctx, chromedp.Navigate(e.BaseURL+"/static/consult/crypto.js")); err != nil { // any page of Haven's origin
			b.Fatal(err)
		}
		if _, err := chromedp.Run(side.ctx, chromedp.Evaluate[chromedp.Void](consultJS)); err != nil {
			b.Fatal(err)
		}
		dev, err := chromedp.Run(side.ctx, chromedp.Evaluate[string](`consultSetup(`+strconv.Quote(v.ID)+`)`, chromedp.EvalAwaitPromise))
		if err != nil {
			b.Fatalf("%s: %v", side.name, err)
		}
		devices[side.name] = dev
	}
	for ctx, other := range map[context.Context]string{clinCtx: devices["patient"], patCtx: devices["clinician"]} {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`consultPeer(`+strconv.Quote(other)+`)`, chromedp.EvalAwaitPromise)); err != nil {
			b.Fatal(err)
		}
	}
	var ms []float64
	for b.Loop() {
		answered := make(chan error, 1)
		var answerMS float64
		go func() {
			var err error
			answerMS, err = chromedp.Run(patCtx, chromedp.Evaluate[float64](`answerOnce()`, chromedp.EvalAwaitPromise))
			answered <- err
		}()
		callMS, err := chromedp.Run(clinCtx, chromedp.Evaluate[float64](`callOnce()`, chromedp.EvalAwaitPromise))
		if err != nil {
			b.Fatal(err)
		}
		if err := <-answered; err != nil {
			b.Fatal(err)
		}
		ms = append(ms, max(callMS, answerMS))
		for _, ctx := range []context.Context{clinCtx, patCtx} {
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`hangUp()`)); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportFrames(b, ms)
}
