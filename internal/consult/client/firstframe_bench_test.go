package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
