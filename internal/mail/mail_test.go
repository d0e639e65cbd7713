package mail_test

import (
	"strings"
	"testing"

	"haven/internal/mail"
	"haven/internal/mail/mailtest"
)

// TestSendRequiresTLS: a message goes to a server that offers STARTTLS, and never to one that
// does not; header injection is refused.
func TestSendRequiresTLS(t *testing.T) {
	msg := mail.Message{To: []string{"someone@clinic.test"}, Subject: "Haven test", Body: "line one\nline two"}

	addr, conf, in := mailtest.Server(t, true)
	s := &mail.Sender{Addr: addr, TLS: conf, From: "haven@clinic.test"}
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	got := in.Messages()
	if len(got) != 1 || got[0].To[0] != "someone@clinic.test" || !strings.Contains(got[0].Data, "Subject: Haven test") || !strings.Contains(got[0].Data, "line one\r\nline two") {
		t.Fatalf("received %+v", got)
	}

	plainAddr, _, plain := mailtest.Server(t, false)
	s.Addr = plainAddr
	if err := s.Send(t.Context(), msg); err == nil {
		t.Fatal("a message was sent to a server without STARTTLS")
	}
	if len(plain.Messages()) != 0 {
		t.Fatal("the message reached a server in clear")
	}

	s.Addr = addr
	bad := msg
	bad.Subject = "hi\r\nBcc: attacker@evil.test"
	if err := s.Send(t.Context(), bad); err == nil {
		t.Fatal("a subject with a line break was sent")
	}
}
