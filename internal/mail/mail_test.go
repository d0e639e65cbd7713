package mail_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

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

// TestSendWithAttachment: a message with an .ics attachment arrives as multipart/mixed, the
// text first and the calendar file after it, both intact once decoded; an attachment whose
// name or type would break the headers is refused before anything is sent.
func TestSendWithAttachment(t *testing.T) {
	ics := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nEND:VCALENDAR\r\n")
	body := "You have an appointment.\nSee it at https://haven.test/appointments\n" + strings.Repeat("long line ", 20)
	msg := mail.Message{To: []string{"someone@clinic.test"}, Subject: "Appointment reminder", Body: body,
		Attachments: []mail.Attachment{{Name: "appointment.ics", ContentType: "text/calendar; charset=utf-8; method=PUBLISH", Data: ics}}}

	addr, conf, in := mailtest.Server(t, true)
	s := &mail.Sender{Addr: addr, TLS: conf, From: "haven@clinic.test"}
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	got := in.Messages()
	if len(got) != 1 {
		t.Fatalf("received %d messages", len(got))
	}
	parsed, err := netmail.ReadMessage(strings.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header.Get("Subject") != "Appointment reminder" || parsed.Header.Get("MIME-Version") != "1.0" {
		t.Errorf("headers %v", parsed.Header)
	}
	mt, params, err := mime.ParseMediaType(parsed.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" || params["boundary"] == "" {
		t.Fatalf("Content-Type %q: %v", parsed.Header.Get("Content-Type"), err)
	}
	type part struct {
		contentType, disposition string
		data                     []byte
	}
	var parts []part
	r := multipart.NewReader(parsed.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			data, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		} else {
			data, err = io.ReadAll(p) // quoted-printable is decoded by the reader
		}
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, part{p.Header.Get("Content-Type"), p.Header.Get("Content-Disposition"), data})
	}
	if len(parts) != 2 {
		t.Fatalf("%d parts, want the text and the attachment", len(parts))
	}
	if parts[0].contentType != "text/plain; charset=utf-8" || strings.ReplaceAll(string(parts[0].data), "\r\n", "\n") != body {
		t.Errorf("text part %q:\n%q", parts[0].contentType, parts[0].data)
	}
	if mt, p, _ := mime.ParseMediaType(parts[1].contentType); mt != "text/calendar" || p["method"] != "PUBLISH" || p["charset"] != "utf-8" {
		t.Errorf("attachment type %q", parts[1].contentType)
	}
	if _, p, _ := mime.ParseMediaType(parts[1].disposition); p["filename"] != "appointment.ics" {
		t.Errorf("attachment disposition %q", parts[1].disposition)
	}
	if !bytes.Equal(parts[1].data, ics) {
		t.Errorf("attachment %q, want %q", parts[1].data, ics)
	}

	for name, a := range map[string]mail.Attachment{
		"a line break in the name":     {Name: "a.ics\r\nBcc: attacker@evil.test", ContentType: "text/calendar", Data: ics},
		"a line break in the type":     {Name: "a.ics", ContentType: "text/calendar\r\nBcc: attacker@evil.test", Data: ics},
		"a type that does not parse":   {Name: "a.ics", ContentType: "text/calendar; =", Data: ics},
		"no name":                      {ContentType: "text/calendar", Data: ics},
		"a header hidden in parameter": {Name: "a.ics", ContentType: "text/calendar; x=\"a\rb\"", Data: ics},
	} {
		bad := msg
		bad.Attachments = []mail.Attachment{a}
		if err := s.Send(t.Context(), bad); !errors.Is(err, mail.ErrHeader) {
			t.Errorf("%s: Send = %v, want ErrHeader", name, err)
		}
	}
	if n := len(in.Messages()); n != 1 {
		t.Errorf("%d messages arrived, want only the good one", n)
	}
}

// TestRedactedKeepsOnlyCodes: an SMTP server's reply, which may quote the recipient's address,
// is cut to its status codes before it can reach a log; other errors pass unchanged.
func TestRedactedKeepsOnlyCodes(t *testing.T) {
	refusal := fmt.Errorf("mail: send: %w", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<ada@example.test>: no such user"})
	if got := mail.Redacted(refusal).Error(); got != "mail: the server answered 550 5.1.1" {
		t.Errorf("Redacted = %q", got)
	}
	plain := errors.New("mail: dial tcp 192.0.2.1:587: connection refused")
	if got := mail.Redacted(plain); got != plain {
		t.Errorf("Redacted changed %v to %v", plain, got)
	}
}
