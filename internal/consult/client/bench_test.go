package client_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"haven/internal/consult/client"
	"haven/internal/consult/e2ee"
	"haven/internal/server/servertest"
)

// BenchmarkConsultSend is the cost of sending one secure message (docs/benchmarks.md, "11.
// Consultations"): sealing a 1 KiB text on the device for every device of the patient's thread
// (e2ee.Seal: an ephemeral X25519 agreement, HKDF and AES-GCM wrap per recipient, the body's
// AES-GCM, an Ed25519 signature) and posting it, against posting the same text unencrypted in
// an envelope of the same shape and size (what the server does is the same: it cannot tell).
// The two alternate in one loop, so both see the same machine; it reports each one's time and
// their ratio.
//
//	go test ./internal/consult/client -run '^$' -bench ConsultSend -benchtime 2000x
func BenchmarkConsultSend(b *testing.B) {
	e := servertest.New(b, "")
	admin := e.Admin()
	clinSC, _ := e.Clinician(admin, "bench-dr@haven.test")
	patSC, pid := e.Patient(clinSC, ada)
	clin, _ := deviceOf(b, e, clinSC, e.TS.URL, "clinic desktop")
	deviceOf(b, e, patSC, e.TS.URL, "patient phone")
	plainDev, _ := deviceOf(b, e, clinSC, e.TS.URL, "clinic laptop") // the baseline's sender: its own seq
	ctx := context.Background()
	thread := client.PatientThread(pid)
	dir, err := clin.ThreadKeys(ctx, pid)
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("synthetic message text. ", 43)[:1024]
	msg := e2ee.Message{Text: text}

	// The baseline envelope: the text in clear where the ciphertext goes, the other fields
	// random bytes of their sizes, one recipient entry per device as the sealed one has.
	plainMsg, _ := msg.Marshal()
	me := plainDev.Me()
	plain := e2ee.Envelope{V: 1, Thread: thread, Sender: e2ee.DeviceRef{Account: me.Account, Device: me.Device},
		EPK: random(32), IV: random(12), Ciphertext: append(plainMsg, random(16)...), Sig: random(64)}
	for _, d := range dir.Devices() {
		plain.Recipients = append(plain.Recipients, e2ee.Recipient{Device: d.DeviceID, IV: random(12), Wrapped: random(48)})
	}

	var sealed, clear time.Duration
	for i := 1; b.Loop(); i++ {
		t0 := time.Now()
		if _, _, err := clin.Send(ctx, thread, dir, msg); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		plain.ID, plain.Seq, plain.SentAt = b64(random(16)), uint64(i), t1.UTC().Format(time.RFC3339)
		raw, err := json.Marshal(plain)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := plainDev.PostEnvelope(ctx, thread, raw); err != nil {
			b.Fatal(err)
		}
		sealed += t1.Sub(t0)
		clear += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(sealed.Nanoseconds())/n, "ns/sealed-send")
	b.ReportMetric(float64(clear.Nanoseconds())/n, "ns/plain-send")
	b.ReportMetric(float64(sealed)/float64(clear), "sealed/plain")
	b.ReportMetric(float64(len(dir.Devices())), "recipients")
}

// BenchmarkSeal is the device's part of a send alone: sealing a 1 KiB text for three devices.
func BenchmarkSeal(b *testing.B) {
	from, _ := e2ee.NewDeviceKeys(nil)
	var to []e2ee.Device
	for i := range 3 {
		k, _ := e2ee.NewDeviceKeys(nil)
		to = append(to, k.Public("device-"+string(rune('a'+i)), "account"))
	}
	plain, _ := e2ee.Message{Text: strings.Repeat("x", 1024)}.Marshal()
	for i := uint64(1); b.Loop(); i++ {
		if _, err := e2ee.Seal(nil, e2ee.Sender{Account: "account", Device: "device-a", Keys: from}, "patient.p", i, time.Now(), plain, to); err != nil {
			b.Fatal(err)
		}
	}
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
