package monitor_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"haven/internal/monitor"
)

type inbox struct {
	mu   sync.Mutex
	msgs []string
	rcpt []string
}

type session struct{ in *inbox }

func (s session) Reset()        {}
func (s session) Logout() error { return nil }
func (s session) Mail(string, *smtp.MailOptions) error {
	return nil
}
func (s session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.in.mu.Lock()
	s.in.rcpt = append(s.in.rcpt, to)
	s.in.mu.Unlock()
	return nil
}
func (s session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.in.mu.Lock()
	s.in.msgs = append(s.in.msgs, string(b))
	s.in.mu.Unlock()
	return err
}

// smtpServer runs an in-process SMTP server on loopback, with STARTTLS when withTLS.
func smtpServer(t *testing.T, withTLS bool) (string, *tls.Config, *inbox) {
	ts := httptest.NewUnstartedServer(nil) // for its self-signed certificate
	ts.StartTLS()
	cert := ts.TLS.Certificates[0]
	ts.Close()
	in := &inbox{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return session{in}, nil }))
	s.Domain = "localhost"
	if withTLS {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	pool := x509.NewCertPool()
	leaf, _ := x509.ParseCertificate(cert.Certificate[0])
	pool.AddCert(leaf)
	return ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "example.com"}, in
}

func TestAlertEmailRequiresTLS(t *testing.T) {
	a := monitor.Alert{Kind: monitor.MassAccess, Severity: "high", Subject: "acct-42", Detail: "30 patients opened in 10m0s", Seq: 99, Time: time.Now()}

	addr, conf, in := smtpServer(t, true)
	m := &monitor.Mailer{Addr: addr, TLS: conf, From: "haven@clinic.test", To: []string{"security@clinic.test"}}
	if err := m.Send(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	in.mu.Lock()
	if len(in.msgs) != 1 || !strings.Contains(in.msgs[0], "Subject: [Haven] security alert: mass-access") || !strings.Contains(in.msgs[0], "acct-42") {
		t.Fatalf("mail = %q", in.msgs)
	}
	if in.rcpt[0] != "security@clinic.test" {
		t.Fatalf("recipients = %v", in.rcpt)
	}
	in.mu.Unlock()

	plainAddr, _, plain := smtpServer(t, false)
	m.Addr = plainAddr
	if err := m.Send(t.Context(), a); err == nil {
		t.Fatal("an alert was sent to a server without STARTTLS")
	}
	if len(plain.msgs) != 0 {
		t.Fatal("the message reached a server in clear")
	}
}
