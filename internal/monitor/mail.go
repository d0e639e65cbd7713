package monitor

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mailer sends alerts by e-mail over SMTP with TLS required (STARTTLS): a server that does not
// offer it is refused, never written to in clear. The message names the alert kind and
// identifiers, never PHI, and points to the privacy review page.
type Mailer struct {
	Addr     string      // host:port of the SMTP server (submission, usually :587)
	TLS      *tls.Config // how to verify the server
	Username string      // empty for no authentication
	Password string
	From     string
	To       []string
	Now      func() time.Time
}

// Send mails one alert.
func (m *Mailer) Send(_ context.Context, a Alert) error {
	c, err := smtp.DialStartTLS(m.Addr, m.TLS)
	if err != nil {
		return fmt.Errorf("monitor: mail: %w", err)
	}
	defer c.Close()
	if m.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", m.Username, m.Password)); err != nil {
			return fmt.Errorf("monitor: mail auth: %w", err)
		}
	}
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: [Haven] security alert: %s\r\nDate: %s\r\n", m.From, strings.Join(m.To, ", "), a.Kind, now().UTC().Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nAuto-Submitted: auto-generated\r\n\r\n")
	fmt.Fprintf(&b, "Haven raised a %s-severity security alert.\r\n\r\nKind: %s\r\nSubject: %s\r\nDetail: %s\r\nAudit entry: %d\r\nTime: %s\r\n\r\n",
		a.Severity, a.Kind, a.Subject, a.Detail, a.Seq, a.Time.UTC().Format(time.RFC3339))
	b.WriteString("Review it on Haven's privacy review page. This message holds identifiers only.\r\n")
	if err := c.SendMail(m.From, m.To, strings.NewReader(b.String())); err != nil {
		return fmt.Errorf("monitor: mail send: %w", err)
	}
	return c.Quit()
}
