package servertest

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"haven/internal/mail"
	"haven/internal/mail/mailtest"
	"haven/internal/server"
)

// WithMail starts an in-process SMTP server (STARTTLS) and returns the option that points
// Haven's e-mail at it, and its inbox.
func WithMail(t testing.TB) (func(*server.Config), *mailtest.Inbox) {
	addr, conf, inbox := mailtest.Server(t, true)
	return func(c *server.Config) {
		c.SMTP = mail.Sender{Addr: addr, TLS: conf, From: "haven@clinic.test"}
	}, inbox
}

// MailTo waits for the n-th message (counting from 1) addressed to to and returns it.
func MailTo(t testing.TB, inbox *mailtest.Inbox, to string, n int) mailtest.Received {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		seen := 0
		for _, m := range inbox.Messages() {
			if len(m.To) == 1 && strings.EqualFold(m.To[0], to) {
				if seen++; seen == n {
					return m
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %d to %s did not arrive; inbox holds %d messages", n, to, len(inbox.Messages()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var linkInMail = regexp.MustCompile(`https://\S+\?token=[A-Za-z0-9_-]+`)

// LinkIn returns the single-use link an e-mail carries.
func LinkIn(t testing.TB, m mailtest.Received) string {
	t.Helper()
	l := linkInMail.FindString(m.Data)
	if l == "" {
		t.Fatalf("no link in message:\n%s", m.Data)
	}
	return l
}

// MailAbout waits for a message to to whose subject line is subject and returns it.
func MailAbout(t testing.TB, inbox *mailtest.Inbox, to, subject string) mailtest.Received {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, m := range inbox.Messages() {
			if len(m.To) == 1 && strings.EqualFold(m.To[0], to) && strings.Contains(m.Data, "Subject: "+subject+"\r\n") {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message %q to %s arrived; inbox holds %d messages", subject, to, len(inbox.Messages()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
