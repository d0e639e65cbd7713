package client_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"haven/internal/consult/client"
	"haven/internal/consult/e2ee"
	"haven/internal/server/servertest"
)

// party is one device in a visit's call: its client, its socket and the directory it verified.
type party struct {
	c   *client.Client
	s   *client.Signal
	me  client.Who
	dir *client.Directory
}

// join registers a fresh device for sc through base (Haven, or a test double in front of it),
// joins visit v's signalling through base and verifies the visit's keys.
func join(t *testing.T, e *servertest.Env, sc *servertest.Client, base, visitID, label string) *party {
	t.Helper()
	c, _ := deviceOf(t, e, sc, base, label)
	ctx := ctxFor(t, 20*time.Second)
	s, err := c.Dial(ctx, visitID, c.Me().Device)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &party{c: c, s: s, me: c.Me()}
}

// keysOf verifies the visit's keys now (after every party registered) and returns other's
// verified device as p sees it.
func (p *party) keysOf(t *testing.T, visitID string, other *party) client.Device {
	t.Helper()
	dir, err := p.c.VisitKeys(ctxFor(t, 10*time.Second), visitID)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := dir.Device(other.me.Device)
	if !ok {
		t.Fatalf("%s's device is not verified in the directory: %+v", other.me.Account, dir.People)
	}
	p.dir = dir
	return d
}

// call has from offer a call to to and to answer the offer it receives; it returns both
// peers (nil on a refusal) and both sides' errors.
func call(t *testing.T, visitID string, from, to *party, video bool, timeout time.Duration) (caller, answerer *client.Peer, callErr, acceptErr error) {
	t.Helper()
	ctx := ctxFor(t, 30*time.Second)
	toDev, fromDev := from.keysOf(t, visitID, to), to.keysOf(t, visitID, from)
	type result struct {
		p   *client.Peer
		err error
	}
	calls := make(chan result, 1)
	go func() {
		p, err := from.c.Call(ctx, from.s, client.PeerConfig{Remote: toDev, DataChannel: true, Video: video, Timeout: timeout})
		calls <- result{p, err}
	}()
	answerer, acceptErr = to.c.Accept(ctx, to.s, offerFrom(t, to.s, from.me.Device, 10*time.Second), client.PeerConfig{Remote: fromDev})
	r := <-calls
	for _, p := range []*client.Peer{r.p, answerer} {
		if p != nil {
			t.Cleanup(func() { p.Close() })
		}
	}
	return r.p, answerer, r.err, acceptErr
}

// TestConsultFingerprintRewrite: a signalling path that rewrites the DTLS fingerprint of the
// descriptions it carries (a WebSocket proxy in front of Haven's socket, standing for a
// compromised server or relay putting its own certificate in the middle) gets the call refused
// by the side that receives the description, with the verification error, and no DTLS
// connection is made; through Haven's own socket the same two devices connect, and text and
// video flow.
//
// The safeguards, and what removing each breaks:
//   - e2ee.Description.Check's `fp != d.Fingerprint` (the SDP's fingerprint must be the
//     signed one): the rows that rewrite the SDP alone pass verification and fail here;
//   - e2ee.Description.Check's call of VerifyDescription (the signature by the sender device's
//     directory key): the rows that rewrite the signed fingerprint too fail here;
//   - client.Peer.acceptDescription's call of d.Check: every refusal row fails.
func TestConsultFingerprintRewrite(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		v := startedVisit(t, e)

		t.Run("through Haven", func(t *testing.T) {
			clin := join(t, e, v.Clin, e.TS.URL, v.ID, "clinic desktop")
			pat := join(t, e, v.Patient, e.TS.URL, v.ID, "patient phone")
			caller, answerer, callErr, acceptErr := call(t, v.ID, clin, pat, true, 10*time.Second)
			if callErr != nil || acceptErr != nil {
				t.Fatalf("call = %v, accept = %v", callErr, acceptErr)
			}
			ctx := ctxFor(t, 20*time.Second)
			for _, p := range []*client.Peer{caller, answerer} {
				if err := p.Connected(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if err := caller.SendText(ctx, "synthetic: can you hear me?"); err != nil {
				t.Fatal(err)
			}
			if s, err := answerer.Text(ctx); err != nil || s != "synthetic: can you hear me?" {
				t.Fatalf("data channel = %q, %v", s, err)
			}
			for answerer.Frames() == 0 && ctx.Err() == nil {
				time.Sleep(20 * time.Millisecond)
			}
			if answerer.Frames() == 0 {
				t.Fatal("no video frame arrived")
			}
		})

		for _, row := range []struct {
			name   string
			kinds  []string
			signed bool
		}{
			{"every description, SDP fingerprint", []string{"offer", "answer"}, false},
			{"every description, SDP and signed fingerprint", []string{"offer", "answer"}, true},
		} {
			t.Run(row.name, func(t *testing.T) {
				proxy := signalRewriter(t, e, rewriteDescriptions(row.kinds, row.signed))
				clin := join(t, e, v.Clin, proxy.URL, v.ID, "clinic desktop")
				pat := join(t, e, v.Patient, proxy.URL, v.ID, "patient phone")
				// Each side offers once, so each side receives a rewritten description.
				for _, dir := range []struct{ from, to *party }{{clin, pat}, {pat, clin}} {
					caller, answerer, callErr, acceptErr := call(t, v.ID, dir.from, dir.to, false, 3*time.Second)
					if !errors.Is(acceptErr, client.ErrUnverifiedDescription) || !errors.Is(acceptErr, e2ee.ErrBadDescription) ||
						!strings.Contains(acceptErr.Error(), "could not be verified, so the call was stopped") {
						t.Fatalf("%s accepting a rewritten offer: %v, want the verification refusal", dir.to.me.Account, acceptErr)
					}
					if answerer != nil || callErr == nil || caller != nil {
						t.Fatalf("a refused call went on: caller %v (%v), answerer %v", caller, callErr, answerer)
					}
				}
			})
		}

		// The answer alone rewritten: the answerer accepted a genuine offer, the caller refuses
		// the answer, and the answerer's side never completes DTLS.
		t.Run("answer, SDP and signed fingerprint", func(t *testing.T) {
			proxy := signalRewriter(t, e, rewriteDescriptions([]string{"answer"}, true))
			clin := join(t, e, v.Clin, proxy.URL, v.ID, "clinic desktop")
			pat := join(t, e, v.Patient, proxy.URL, v.ID, "patient phone")
			caller, answerer, callErr, acceptErr := call(t, v.ID, clin, pat, false, 5*time.Second)
			if acceptErr != nil {
				t.Fatalf("the genuine offer was refused: %v", acceptErr)
			}
			if caller != nil || !errors.Is(callErr, client.ErrUnverifiedDescription) {
				t.Fatalf("the caller took a rewritten answer: %v", callErr)
			}
			time.Sleep(2 * time.Second)
			if answerer.IsConnected() {
				t.Fatal("the answerer connected although the caller refused the answer")
			}
		})
	})
}

// TestConsultSwappedKey: a directory that serves another key for a participant's device (an
// HTTP proxy in front of Haven editing GET /visits/{id}/keys, standing for a server that swaps
// a key) is refused by the client's checks, and nothing is sealed to the swapped key; a device
// Haven legitimately adds for the person has its leaf in the log, verifies, changes the safety
// number, and is reported as a change that stops sending until the person accepts it.
//
// The safeguards, and what removing each breaks:
//   - e2ee.VerifyDevice's `e.Reason != LeafReason(d.SignKey, d.AgreeKey)` (check 1): the "key"
//     row verifies the swapped key against the genuine leaf and fails here;
//   - e2ee.VerifyDevice's tlog.CheckRecord (check 2): the "key and its entry" row fails here;
//   - client.noteKeys's `!slices.Equal(before, keys)` and Seal's `if p.KeysChanged`: the new
//     device is not reported, and the send is not stopped.
func TestConsultSwappedKey(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		v := startedVisit(t, e)
		ctx := ctxFor(t, 60*time.Second)
		pat, _ := deviceOf(t, e, v.Patient, e.TS.URL, "patient phone")
		clin, clinKeys := deviceOf(t, e, v.Clin, e.TS.URL, "clinic desktop")
		patient, patDevice := pat.Me().Account, pat.Me().Device
		thread := client.VisitThread(v.ID)

		dir, err := clin.VisitKeys(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := dir.Person(patient); len(p.Devices) != 1 || len(p.Refused) != 0 || p.KeysChanged {
			t.Fatalf("the genuine directory: %+v", p)
		}
		before, err := clin.SafetyNumber(dir, patient)
		if err != nil {
			t.Fatal(err)
		}
		patDir, err := pat.VisitKeys(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if theirs, _ := pat.SafetyNumber(patDir, v.ClinID); theirs != before || len(strings.Fields(before)) != 12 {
			t.Fatalf("safety numbers differ: %q and %q", before, theirs)
		}

		rogue, err := e2ee.NewDeviceKeys(nil)
		if err != nil {
			t.Fatal(err)
		}
		rogueSign, rogueAgree := b64(rogue.Public("", "").SignKey), b64(rogue.Agree.PublicKey().Bytes())
		for _, row := range []struct {
			name string
			swap func(dev map[string]any)
			want error
		}{
			{"key", func(dev map[string]any) { dev["signKey"] = rogueSign }, e2ee.ErrKeyNotInEntry},
			{"key and its entry", func(dev map[string]any) {
				dev["signKey"], dev["agreeKey"] = rogueSign, rogueAgree
				dev["entry"].(map[string]any)["reason"] = "ed25519:" + rogueSign + " x25519:" + rogueAgree
			}, e2ee.ErrNotInLog},
		} {
			t.Run(row.name, func(t *testing.T) {
				proxy := directoryDouble(t, e, func(answer map[string]any) {
					for _, p := range answer["people"].([]any) {
						for _, d := range p.(map[string]any)["devices"].([]any) {
							if d := d.(map[string]any); d["deviceId"] == patDevice {
								row.swap(d)
							}
						}
					}
				})
				// The clinician's same device, on a fresh client reading through the double.
				viaProxy := deviceWith(t, e, v.Clin, proxy.URL, "clinic desktop", clinKeys)
				swapped, err := viaProxy.VisitKeys(ctx, v.ID)
				if err != nil {
					t.Fatal(err)
				}
				p, _ := swapped.Person(patient)
				if len(p.Devices) != 0 || len(p.Refused) != 1 || p.Refused[0].DeviceID != patDevice || !errors.Is(p.Refused[0].Err, row.want) {
					t.Fatalf("the swapped key: devices %+v refused %+v, want it refused with %v", p.Devices, p.Refused, row.want)
				}
				if w := p.Warning(); !strings.Contains(w, p.DisplayName) || !strings.Contains(w, "could not be checked") {
					t.Fatalf("warning = %q", w)
				}
				env, err := viaProxy.Seal(thread, swapped, e2ee.Message{Text: "synthetic: for verified devices only"})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range env.Recipients {
					if r.Device == patDevice {
						t.Fatal("a content key was sealed to the swapped key")
					}
				}
			})
		}

		// Haven adds a second device for the patient, as it does when they sign in elsewhere.
		pat2, _ := deviceOf(t, e, v.Patient, e.TS.URL, "patient laptop")
		dir, err = clin.VisitKeys(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := dir.Person(patient)
		if len(p.Devices) != 2 || len(p.Refused) != 0 || !p.KeysChanged || !strings.Contains(p.Warning(), "changed") {
			t.Fatalf("after a new device: %+v, want both verified and the change reported", p)
		}
		if after, _ := clin.SafetyNumber(dir, patient); after == before {
			t.Fatal("the safety number did not change with the new device")
		}
		leaves := 0
		for _, row := range e.AuditRows() {
			if row[0] == "device.key-add" && row[2] == patient {
				leaves++
			}
		}
		if leaves != 2 {
			t.Fatalf("device.key-add leaves of the patient = %d, want 2 (the change is in the log)", leaves)
		}
		if _, _, err := clin.Send(ctx, thread, dir, e2ee.Message{Text: "synthetic: before comparing"}); !errors.Is(err, client.ErrKeysChanged) {
			t.Fatalf("sending before the change was accepted = %v, want ErrKeysChanged", err)
		}
		clin.AcceptKeys(p)
		if dir, err = clin.VisitKeys(ctx, v.ID); err != nil {
			t.Fatal(err)
		}
		if p, _ := dir.Person(patient); p.KeysChanged {
			t.Fatal("the accepted change is still reported")
		}
		if _, env, err := clin.Send(ctx, thread, dir, e2ee.Message{Text: "synthetic: after comparing"}); err != nil {
			t.Fatal(err)
		} else if !slices.ContainsFunc(env.Recipients, func(r e2ee.Recipient) bool { return r.Device == pat2.Me().Device }) {
			t.Fatal("the accepted new device got no key")
		}
		dir2, err := pat2.VisitKeys(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pat2.Fetch(ctx, thread, dir2, "")
		if err != nil || len(got) != 1 || got[0].Err != nil || got[0].Message.Text != "synthetic: after comparing" {
			t.Fatalf("the new device reads %+v, %v", got, err)
		}
	})
}

// TestConsultMessageReplay: a message sent through the API is opened; the same envelope posted
// again is refused by the server, and offered again to the receiving device (as a malicious
// server would) is refused as replayed; a pair delivered out of order has its late one refused;
// an envelope altered on the server is refused.
//
// The safeguards, and what removing each breaks:
//   - the server's uniqueness of (sender device, thread, seq): the second POST is stored;
//   - e2ee.Inbox.Open's seq checks (`env.Seq <= in.Last(…)` and, under the lock, `env.Seq <=
//     in.last[k]`: the second repeats the first for concurrent Opens, so both must go): the
//     replayed and the reordered envelopes are opened;
//   - e2ee.Inbox.Open's ed25519.Verify: the envelope whose sentAt was changed is opened (a
//     changed ciphertext or seq is also refused by the AES-GCM openings, whose associated data
//     binds the seq).
func TestConsultMessageReplay(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *servertest.Env) {
		admin := e.Admin()
		clinSC, _ := e.Clinician(admin, "replay-dr@haven.test")
		patSC, pid := e.Patient(clinSC, ada)
		pat, _ := deviceOf(t, e, patSC, e.TS.URL, "patient phone")
		clin, _ := deviceOf(t, e, clinSC, e.TS.URL, "clinic desktop")
		ctx := ctxFor(t, 60*time.Second)
		thread := client.PatientThread(pid)
		patDir, err := pat.ThreadKeys(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		clinDir, err := clin.ThreadKeys(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}

		first, _, err := pat.Send(ctx, thread, patDir, e2ee.Message{Text: "synthetic: my cough is better"})
		if err != nil {
			t.Fatal(err)
		}
		got, err := clin.Fetch(ctx, thread, clinDir, "")
		if err != nil || len(got) != 1 || got[0].Err != nil || got[0].Message.Text != "synthetic: my cough is better" {
			t.Fatalf("first message = %+v, %v", got, err)
		}
		raw := got[0].Raw

		if _, err := pat.PostEnvelope(ctx, thread, raw); client.StatusOf(err) != http.StatusConflict {
			t.Fatalf("the same envelope posted again = %v, want 409", err)
		}
		if r := clin.Open(thread, clinDir, raw); !errors.Is(r.Err, e2ee.ErrReplayed) || r.Message.Text != "" {
			t.Fatalf("the same envelope offered again = %+v, want ErrReplayed", r)
		}

		// Reordered: seq 3 is delivered before seq 2.
		two, err := pat.Seal(thread, patDir, e2ee.Message{Text: "synthetic: second"})
		if err != nil {
			t.Fatal(err)
		}
		three, err := pat.Seal(thread, patDir, e2ee.Message{Text: "synthetic: third"})
		if err != nil {
			t.Fatal(err)
		}
		post := func(env e2ee.Envelope) client.Posted {
			t.Helper()
			p, err := pat.PostEnvelope(ctx, thread, mustJSON(t, env))
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		post(three)
		last := post(two)
		got, err = clin.Fetch(ctx, thread, clinDir, first.ID)
		if err != nil || len(got) != 2 {
			t.Fatalf("reordered pair = %+v, %v", got, err)
		}
		if got[0].Err != nil || got[0].Message.Text != "synthetic: third" || !errors.Is(got[1].Err, e2ee.ErrReplayed) {
			t.Fatalf("reordered pair: %v / %v, want the third opened and the second refused", got[0].Err, got[1].Err)
		}

		// Altered on the server: one bit of the ciphertext, the seq, and the time it claims
		// (signed, but in no AES-GCM associated data: the signature alone refuses it).
		for _, alter := range []func(*e2ee.Envelope){
			func(env *e2ee.Envelope) { env.Ciphertext[0] ^= 1 },
			func(env *e2ee.Envelope) { env.Seq += 100 },
			func(env *e2ee.Envelope) { env.SentAt = "2020-01-01T00:00:00Z" },
		} {
			env, err := pat.Seal(thread, patDir, e2ee.Message{Text: "synthetic: altered on the way"})
			if err != nil {
				t.Fatal(err)
			}
			alter(&env)
			p := post(env)
			got, err = clin.Fetch(ctx, thread, clinDir, last.ID)
			if err != nil || len(got) != 1 || !errors.Is(got[0].Err, e2ee.ErrAltered) || got[0].Message.Text != "" {
				t.Fatalf("altered envelope = %+v, %v, want ErrAltered", got, err)
			}
			last = p
		}
	})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
