package monitor_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"haven/internal/audit"
	"haven/internal/monitor"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// collector is a TLS syslog receiver on loopback that reads RFC 5425 frames.
func collector(t *testing.T) (addr string, conf *tls.Config, msgs <-chan string) {
	ts := httptest.NewUnstartedServer(nil) // only for its self-signed certificate
	ts.StartTLS()
	cert := ts.TLS.Certificates[0]
	ts.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan string, 100)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					n, err := r.ReadString(' ')
					if err != nil {
						return
					}
					size, _ := strconv.Atoi(strings.TrimSpace(n))
					buf := make([]byte, size)
					if _, err := io.ReadFull(r, buf); err != nil {
						return
					}
					out <- string(buf)
				}
			}(c)
		}
	}()
	pool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool.AddCert(leaf)
	return ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "example.com"}, out
}

func TestSyslogForwardsEntriesOverTLS(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		addr, conf, msgs := collector(t)
		l := audit.New(db, time.Now)
		l.Append(ctx, audit.Entry{Action: "auth.login", Outcome: audit.Success}) // before the forwarder: not sent
		fwd, err := monitor.NewSyslog(ctx, db, addr, conf, "haven-1")
		if err != nil {
			t.Fatal(err)
		}
		defer fwd.Close()
		l.Append(ctx, audit.Entry{ActorID: "dr-1", ActorRole: "clinician", Action: "record.read", ResourceType: "Patient",
			ResourceID: "pat-1", PatientID: "pat-1", Outcome: audit.Deny, Reason: `not-in-care-team"]`, SourceAddr: "10.0.0.9"})
		n, err := fwd.Forward(ctx)
		if err != nil || n != 1 {
			t.Fatalf("forwarded %d, %v", n, err)
		}
		select {
		case m := <-msgs:
			for _, want := range []string{"<109>1 ", " haven-1 haven - record.read [haven@32473 seq=\"2\" actor=\"dr-1\"", `reason="not-in-care-team\"\]"`, `patient="pat-1"`} {
				if !strings.Contains(m, want) {
					t.Fatalf("message %q lacks %q", m, want)
				}
			}
		case <-time.After(5 * time.Second):
			t.Fatal("collector received nothing")
		}
		if n, _ := fwd.Forward(ctx); n != 0 {
			t.Fatalf("re-sent %d entries", n)
		}
	})
}

func TestSyslogRefusesAnUnverifiedCollector(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	addr, _, _ := collector(t)
	fwd, _ := monitor.NewSyslog(context.Background(), db, addr, &tls.Config{ServerName: "example.com"}, "h")
	audit.New(db, time.Now).Append(context.Background(), audit.Entry{Action: "auth.login"})
	if _, err := fwd.Forward(context.Background()); err == nil {
		t.Fatal("sent to a collector whose certificate is not trusted")
	}
}
