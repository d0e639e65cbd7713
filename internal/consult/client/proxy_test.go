package client_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"haven/internal/server/servertest"
)

// The test doubles of the attack tests: a signalling path and a key directory that sit between
// the clients and the real Haven server and change what passes. They exist only here, never
// as a product flag.

// insecure is a transport that trusts the test server's own certificate.
var insecure = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}

// signalRewriter is a WebSocket proxy in front of Haven's signalling socket: a client connects
// to it as to Haven (with its session cookie), it connects to Haven with that cookie and
// Haven's Origin, and relays messages both ways, passing each server → client message
// through rewrite.
func signalRewriter(t *testing.T, e *servertest.Env, rewrite func(msg []byte) []byte) *httptest.Server {
	t.Helper()
	upstream, _ := url.Parse(e.TS.URL)
	rp := httputil.NewSingleHostReverseProxy(upstream)
	rp.Transport = insecure
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/signal") {
			rp.ServeHTTP(w, r)
			return
		}
		up, resp, err := websocket.Dial(r.Context(), e.TS.URL+r.URL.RequestURI(), &websocket.DialOptions{
			HTTPClient: &http.Client{Transport: insecure},
			HTTPHeader: http.Header{"Origin": {e.BaseURL}, "Cookie": r.Header.Values("Cookie")},
		})
		if err != nil {
			status := http.StatusBadGateway
			if resp != nil {
				status = resp.StatusCode
			}
			http.Error(w, "upstream refused", status)
			return
		}
		defer up.CloseNow()
		down, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer down.CloseNow()
		up.SetReadLimit(1 << 20)
		down.SetReadLimit(1 << 20)
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		go func() {
			defer cancel()
			for {
				typ, b, err := down.Read(ctx)
				if err != nil || up.Write(ctx, typ, b) != nil {
					return
				}
			}
		}()
		for {
			typ, b, err := up.Read(ctx)
			if err != nil || down.Write(ctx, typ, rewrite(b)) != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// rewriteDescriptions returns a rewrite of the signal messages carrying a description of one of
// kinds: the SDP's a=fingerprint lines get another certificate's fingerprint (the relay's own,
// as a man in the middle would put), and, if signed, the payload's signed fingerprint field too.
func rewriteDescriptions(kinds []string, signed bool) func([]byte) []byte {
	return func(b []byte) []byte {
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil || string(m["type"]) != `"signal"` {
			return b
		}
		var p map[string]any
		if json.Unmarshal(m["payload"], &p) != nil {
			return b
		}
		kind, _ := p["kind"].(string)
		if !contains(kinds, kind) {
			return b
		}
		sdp, _ := p["sdp"].(string)
		var lines []string
		for _, l := range strings.Split(sdp, "\r\n") {
			if v, ok := strings.CutPrefix(l, "a=fingerprint:sha-256 "); ok {
				l = "a=fingerprint:sha-256 " + mitmFingerprint(v)
			}
			lines = append(lines, l)
		}
		p["sdp"] = strings.Join(lines, "\r\n")
		if fp, ok := p["fingerprint"].(string); ok && signed {
			p["fingerprint"] = "sha-256 " + mitmFingerprint(strings.TrimPrefix(fp, "sha-256 "))
		}
		m["payload"], _ = json.Marshal(p)
		out, _ := json.Marshal(m)
		return out
	}
}

// mitmFingerprint is a well-formed fingerprint other than fp (its first byte changed).
func mitmFingerprint(fp string) string {
	if strings.HasPrefix(fp, "00") {
		return "11" + fp[2:]
	}
	return "00" + fp[2:]
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// directoryDouble is an HTTP proxy in front of Haven that passes everything through except the
// answers of the key directory, which it passes through edit first.
func directoryDouble(t *testing.T, e *servertest.Env, edit func(answer map[string]any)) *httptest.Server {
	t.Helper()
	upstream, _ := url.Parse(e.TS.URL)
	rp := httputil.NewSingleHostReverseProxy(upstream)
	rp.Transport = insecure
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Request.URL.Path, "/keys") {
			return nil
		}
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			return err
		}
		resp.Body.Close()
		edit(m)
		b, _ := json.Marshal(m)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewTLSServer(rp)
	t.Cleanup(srv.Close)
	return srv
}
