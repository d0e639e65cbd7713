package turnrelay

import (
	"bytes"
	"errors"
	"fmt"
	"haven/internal/turncred"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// peer makes a PeerConnection that may use only relayed candidates through the relay.
func peer(t *testing.T, r *testRelay, network, visitID, deviceID string, expired bool) *webrtc.PeerConnection {
	t.Helper()
	now := time.Now()
	user, pass := turncred.Credential(r.secret, now, visitID, deviceID)
	if expired {
		user = turncred.Username(now.Add(-time.Minute), visitID, deviceID)
		pass = turncred.Password(r.secret, user)
	}
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{
		ICETransportPolicy: webrtc.ICETransportPolicyRelay,
		ICEServers: []webrtc.ICEServer{{URLs: []string{fmt.Sprintf("turn:%s?transport=%s", r.addr(), network)},
			Username: user, Credential: pass}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// describe sets pc's local description to d and returns it with every candidate gathered.
func gathered(t *testing.T, pc *webrtc.PeerConnection, d webrtc.SessionDescription) webrtc.SessionDescription {
	t.Helper()
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(d); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ICE gathering did not complete")
	}
	return *pc.LocalDescription()
}

// TestConsultTURNRelay: two peers that may use only the embedded relay open a DTLS data channel
// through it, over UDP and over TCP; the relay carries the message only as ciphertext. A peer
// with an expired credential gets no relayed candidate at all.
func TestConsultTURNRelay(t *testing.T) {
	if testing.Short() {
		t.Skip("WebRTC through the relay: not under -short")
	}
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			r := startRelay(t)
			canary := []byte("CANARY-" + network + "-the-patient-said-something-private")
			r.sniff.mu.Lock()
			r.sniff.canary = canary
			r.sniff.mu.Unlock()

			a := peer(t, r, network, "visit-1", "dev-a", false)
			b := peer(t, r, network, "visit-1", "dev-b", false)
			got := make(chan []byte, 1)
			b.OnDataChannel(func(dc *webrtc.DataChannel) {
				dc.OnMessage(func(m webrtc.DataChannelMessage) { got <- m.Data })
			})
			dc, err := a.CreateDataChannel("chat", nil)
			if err != nil {
				t.Fatal(err)
			}
			opened := make(chan struct{})
			dc.OnOpen(func() { close(opened) })

			offer, err := a.CreateOffer(nil)
			if err != nil {
				t.Fatal(err)
			}
			offer = gathered(t, a, offer)
			if !strings.Contains(offer.SDP, "typ relay") || strings.Contains(offer.SDP, "typ host") {
				t.Fatalf("offer candidates are not relay only:\n%s", offer.SDP)
			}
			if err := b.SetRemoteDescription(offer); err != nil {
				t.Fatal(err)
			}
			answer, err := b.CreateAnswer(nil)
			if err != nil {
				t.Fatal(err)
			}
			answer = gathered(t, b, answer)
			if err := a.SetRemoteDescription(answer); err != nil {
				t.Fatal(err)
			}
			select {
			case <-opened:
			case <-time.After(20 * time.Second):
				t.Fatalf("the data channel did not open through the relay (ICE %s)", a.ICEConnectionState())
			}
			if err := dc.Send(canary); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-got:
				if !bytes.Equal(m, canary) {
					t.Fatalf("received %q; want %q", m, canary)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the message did not arrive through the relay")
			}
			pair, err := selectedPair(a)
			if err != nil {
				t.Fatal(err)
			}
			if pair.Local.Typ != webrtc.ICECandidateTypeRelay || pair.Remote.Typ != webrtc.ICECandidateTypeRelay {
				t.Fatalf("selected pair %s; want relay on both ends", pair)
			}
			r.sniff.mu.Lock()
			seen, n := r.sniff.seen, r.sniff.bytes
			r.sniff.mu.Unlock()
			if n == 0 {
				t.Fatal("the sniffer saw no traffic: it is not watching the relay")
			}
			if seen {
				t.Fatal("the relay saw the message in clear; it must carry only DTLS ciphertext")
			}
		})
	}
	t.Run("expired credential", func(t *testing.T) {
		r := startRelay(t)
		a := peer(t, r, "udp", "visit-1", "dev-a", true)
		if _, err := a.CreateDataChannel("chat", nil); err != nil {
			t.Fatal(err)
		}
		offer, err := a.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		offer = gathered(t, a, offer)
		if strings.Contains(offer.SDP, "typ relay") {
			t.Fatalf("an expired credential got a relayed candidate:\n%s", offer.SDP)
		}
	})
}

// selectedPair is the candidate pair pc's ICE transport chose.
func selectedPair(pc *webrtc.PeerConnection) (*webrtc.ICECandidatePair, error) {
	sctp := pc.SCTP()
	if sctp == nil {
		return nil, errors.New("no SCTP transport")
	}
	return sctp.Transport().ICETransport().GetSelectedCandidatePair()
}
