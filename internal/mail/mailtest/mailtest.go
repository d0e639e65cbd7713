// Package mailtest runs an in-process SMTP server (emersion/go-smtp) on loopback for tests.
package mailtest

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// Inbox holds what the server received.
type Inbox struct {
	mu   sync.Mutex
	msgs []Received
}

// Received is one delivered message.
type Received struct {
	To   []string
	Data string // headers and body as sent
}

// Messages returns what has arrived so far.
func (in *Inbox) Messages() []Received {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Received(nil), in.msgs...)
}

type session struct {
	in *Inbox
	to []string
}

func (s *session) Reset()                               { s.to = nil }
func (s *session) Logout() error                        { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.in.mu.Lock()
	s.in.msgs = append(s.in.msgs, Received{To: s.to, Data: string(b)})
	s.in.mu.Unlock()
	return err
}

// Server starts an SMTP server, offering STARTTLS when withTLS, and returns its address, a
// client TLS configuration that trusts it, and its inbox.
func Server(t testing.TB, withTLS bool) (string, *tls.Config, *Inbox) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil) // for its self-signed certificate
	ts.StartTLS()
	cert := ts.TLS.Certificates[0]
	ts.Close()
	in := &Inbox{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{in: in}, nil }))
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
