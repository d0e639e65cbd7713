package monitor

import (
	"context"
	"fmt"
	"time"

	"haven/internal/mail"
)

// Mailer sends alerts by e-mail through a mail.Sender (STARTTLS required). The message names
// the alert kind and identifiers, never PHI, and points to the privacy review page.
type Mailer struct {
	Sender *mail.Sender
	To     []string
}

// Send mails one alert.
func (m *Mailer) Send(ctx context.Context, a Alert) error {
	body := fmt.Sprintf("Haven raised a %s-severity security alert.\n\nKind: %s\nSubject: %s\nDetail: %s\nAudit entry: %d\nTime: %s\n\n"+
		"Review it on Haven's privacy review page. This message holds identifiers only.\n",
		a.Severity, a.Kind, a.Subject, a.Detail, a.Seq, a.Time.UTC().Format(time.RFC3339))
	if err := m.Sender.Send(ctx, mail.Message{To: m.To, Subject: "[Haven] security alert: " + string(a.Kind), Body: body}); err != nil {
		return fmt.Errorf("monitor: alert mail: %w", err)
	}
	return nil
}
