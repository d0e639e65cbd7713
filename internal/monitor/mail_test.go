package monitor_test

import (
	"strings"
	"testing"
	"time"

	"haven/internal/mail"
	"haven/internal/mail/mailtest"
	"haven/internal/monitor"
)

func TestAlertEmailRequiresTLS(t *testing.T) {
	a := monitor.Alert{Kind: monitor.MassAccess, Severity: "high", Subject: "acct-42", Detail: "30 patients opened in 10m0s", Seq: 99, Time: time.Now()}

	addr, conf, in := mailtest.Server(t, true)
	m := &monitor.Mailer{Sender: &mail.Sender{Addr: addr, TLS: conf, From: "haven@clinic.test"}, To: []string{"security@clinic.test"}}
	if err := m.Send(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	got := in.Messages()
	if len(got) != 1 || !strings.Contains(got[0].Data, "Subject: [Haven] security alert: mass-access") || !strings.Contains(got[0].Data, "acct-42") {
		t.Fatalf("mail = %+v", got)
	}
	if got[0].To[0] != "security@clinic.test" {
		t.Fatalf("recipients = %v", got[0].To)
	}

	plainAddr, _, plain := mailtest.Server(t, false)
	m.Sender.Addr = plainAddr
	if err := m.Send(t.Context(), a); err == nil {
		t.Fatal("an alert was sent to a server without STARTTLS")
	}
	if len(plain.Messages()) != 0 {
		t.Fatal("the message reached a server in clear")
	}
}
