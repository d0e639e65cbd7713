// Package mail sends Haven's e-mail (invitations, password-reset links, sign-in notices and
// security alerts) over SMTP with TLS required: a server that does not offer STARTTLS is
// refused, never written to in clear. Messages carry links and identifiers, never PHI.
package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Sender is an SMTP submission client.
type Sender struct {
	Addr     string      // host:port of the SMTP server (submission, usually :587)
	TLS      *tls.Config // how to verify the server; nil verifies the host of Addr against system roots
	Username string      // empty for no authentication
	Password string
	From     string
	Now      func() time.Time
}

// Message is one plain-text e-mail.
type Message struct {
	To      []string
	Subject string
	Body    string
}

// Send delivers m, or fails without writing anything to a server that refuses TLS.
func (s *Sender) Send(ctx context.Context, m Message) error {
	if len(m.To) == 0 {
		return fmt.Errorf("mail: no recipient")
	}
	for _, v := range append([]string{m.Subject, s.From}, m.To...) {
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("mail: header value with a line break")
		}
	}
	conf := s.TLS
	if conf == nil {
		host, _, _ := net.SplitHostPort(s.Addr)
		conf = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	c, err := smtp.DialStartTLS(s.Addr, conf)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	defer c.Close()
	if s.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", s.Username, s.Password)); err != nil {
			return fmt.Errorf("mail: auth: %w", err)
		}
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n", s.From, strings.Join(m.To, ", "), m.Subject, now().UTC().Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nAuto-Submitted: auto-generated\r\n\r\n")
	b.WriteString(strings.ReplaceAll(m.Body, "\n", "\r\n"))
	if err := c.SendMail(s.From, m.To, strings.NewReader(b.String())); err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}
	return c.Quit()
}
