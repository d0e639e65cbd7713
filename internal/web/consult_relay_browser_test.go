package web_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"haven/internal/server"
	"haven/internal/server/servertest"
)

// relayOnly is a script the test (never the product) puts into the page before Haven's own: every
// RTCPeerConnection the page makes may use only relay candidates (iceTransportPolicy "relay"),
// as a browser behind a network that lets nothing through but the relay would; the connections
// are kept in window.__havenPCs for the test to read their statistics. With expire set it also
// moves the expiry in each relay username twenty minutes back, as a stolen or replayed old
// credential would be: the relay must refuse it (the expiry is past, and the password's HMAC no
// longer matches the username).
func relayOnly(expire bool) string {
	return fmt.Sprintf(`(() => {
  const expire = %t;
  const Native = window.RTCPeerConnection;
  window.__havenPCs = [];
  const policy = (config) => {
    const c = Object.assign({}, config || {}, { iceTransportPolicy: "relay" });
    if (expire && c.iceServers) {
      c.iceServers = c.iceServers.map((s) => {
        if (!s.username) return s;
        const [exp, ...rest] = s.username.split(":");
        window.__havenExpired = (window.__havenExpired || 0) + 1;
        return Object.assign({}, s, { username: [String(Number(exp) - 1200), ...rest].join(":") });
      });
    }
    return c;
  };
  class RelayOnly extends Native {
    constructor(config) { super(policy(config)); window.__havenPCs.push(this); }
    setConfiguration(config) { return super.setConfiguration(policy(config)); }
  }
  window.RTCPeerConnection = RelayOnly;
})();`, expire)
}

// selectedPairs lists, for each connected peer connection of the page, the candidate types of
// its selected pair as "local/remote".
const selectedPairs = `Promise.all((window.__havenPCs || []).filter((pc) => pc.connectionState === "connected").map((pc) => pc.getStats().then((r) => {
  let pair;
  r.forEach((x) => { if (x.type === "transport" && x.selectedCandidatePairId) pair = r.get(x.selectedCandidatePairId); });
  if (!pair) r.forEach((x) => { if (x.type === "candidate-pair" && x.nominated && x.state === "succeeded") pair = x; });
  const l = pair && r.get(pair.localCandidateId), m = pair && r.get(pair.remoteCandidateId);
  return (l ? l.candidateType : "none") + "/" + (m ? m.candidateType : "none");
}))).then((a) => a.join(","))`

// relayCandidates counts the relay candidates the page's connections gathered.
const relayCandidates = `Promise.all((window.__havenPCs || []).map((pc) => pc.getStats().then((r) => {
  let n = 0;
  r.forEach((x) => { if (x.type === "local-candidate" && x.candidateType === "relay") n++; });
  return n;
}))).then((a) => a.reduce((s, n) => s + n, 0))`

// freePort is a loopback port free for UDP and TCP a moment ago, for the embedded relay (its
// credentials name the port, so it cannot be 0).
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		pc.Close()
		if err == nil {
			ln.Close()
			return port
		}
	}
	t.Fatal("no free port for the relay")
	return 0
}

// TestConsultVideoRelayOnly is the call through the embedded TURN relay alone: the server runs
// its relay, and the clinician's and the patient's browsers may use relay candidates only. Video
// is decoded on both sides and each side's selected candidate pair is relay to relay. Then a
// guest whose browser presents a relay credential with its expiry moved back (a replayed old
// credential) gathers no relay candidate at all, so it connects to no one and decodes nothing:
// the relay allocates only for a credential the server issued and that is still good.
func TestConsultVideoRelayOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("drives three browsers")
	}
	port := freePort(t)
	e := servertest.New(t, "", func(c *server.Config) {
		c.TURNListen = "127.0.0.1:" + strconv.Itoa(port)
		c.TURNPublicIP = "127.0.0.1"
	})
	if err := e.Srv.StartTURN(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Srv.StopTURN() })
	clin, patient, id := startedConsult(t, e, true)
	visit := "/api/v1/visits/" + id

	inject := func(b *browser, src string) {
		b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: src})
			return err
		}))
	}
	doc := newMediaBrowser(t, e, 4*time.Minute)
	doc.do(chromedp.EmulateViewport(1280, 900))
	doc.signIn(person{Email: clin.Email, PW: clin.PW, Secret: clin.Secret}, "My patients")
	pat := newMediaBrowser(t, e, 4*time.Minute)
	pat.do(chromedp.EmulateViewport(375, 812))
	pat.signIn(person{Email: patient.Email, PW: patient.PW, Secret: patient.Secret}, "My record")
	inject(doc, relayOnly(false))
	inject(pat, relayOnly(false))

	doc.visit("/visits/"+id, "Visit in progress")
	pat.visit("/visits/"+id, "Your visit has started")
	joined := time.Now()
	doc.until("the patient's video at the clinician's, relayed", decodingFrom(1), 60*time.Second)
	pat.until("the clinician's video at the patient's, relayed", decodingFrom(1), 60*time.Second)
	t.Logf("video both ways through the relay %v after both pages were open", time.Since(joined).Round(10*time.Millisecond))
	for name, b := range map[string]*browser{"clinician": doc, "patient": pat} {
		pairs, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](selectedPairs, chromedp.EvalAwaitPromise))
		if err != nil || pairs == "" {
			t.Fatalf("the %s's page has no selected candidate pair (%v)", name, err)
		}
		for _, p := range strings.Split(pairs, ",") {
			if p != "relay/relay" {
				t.Errorf("the %s's selected candidate pair is %s (local/remote), want relay/relay", name, p)
			}
		}
		t.Logf("selected pairs at the %s's: %s", name, pairs)
	}

	// A guest with a replayed, expired credential: no allocation, so no relay candidate.
	link := clin.Must(201, "POST", visit+"/guests", map[string]string{"name": "Iris Interpreter", "relation": "interpreter"})
	guest := newMediaBrowser(t, e, 2*time.Minute)
	guest.do(chromedp.EmulateViewport(375, 812))
	inject(guest, relayOnly(true))
	guest.visit(pathOf(t, link["url"].(string)), "Join a video visit")
	guest.submit(`main form`, "The visit has started")
	guest.until("the guest's connections made with the old credential", `(window.__havenExpired || 0) >= 1 && window.__havenPCs.length >= 2`, 30*time.Second)
	time.Sleep(5 * time.Second) // time enough to gather candidates and connect, were the credential good
	n, err := chromedp.Run(guest.ctx, chromedp.Evaluate[int](relayCandidates, chromedp.EvalAwaitPromise))
	if err != nil || n != 0 {
		t.Errorf("the guest's page gathered %d relay candidates (%v) with an expired credential", n, err)
	}
	frames, err := chromedp.Run(guest.ctx, chromedp.Evaluate[int](`window.havenCall.stats().then(s => s.reduce((n, p) => n + (p.framesDecoded || 0), 0))`, chromedp.EvalAwaitPromise))
	if err != nil || frames != 0 {
		t.Errorf("the guest's page decoded %d frames (%v) without a relay it may use", frames, err)
	}
}
