// Package mail sends Haven's e-mail (invitations, password-reset links, sign-in notices,
// security alerts and appointment reminders) over SMTP with TLS required: a server that does
// not offer STARTTLS is refused, never written to in clear. Messages carry links, identifiers
// and times, never PHI.
package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/textproto"
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

// Message is one plain-text e-mail, with optional attachments. A message without attachments
// is sent as a single text/plain part; one with attachments as multipart/mixed: the text first,
// then each attachment in base64.
type Message struct {
	To          []string
	Subject     string
	Body        string
	Attachments []Attachment
}

// Attachment is a file sent with a message.
type Attachment struct {
	Name        string // the file name the recipient sees ("appointment.ics")
	ContentType string // a media type with its parameters ("text/calendar; charset=utf-8; method=PUBLISH")
	Data        []byte
}

// Errors.
var (
	// ErrHeader: a header value (subject, address, attachment name or type) would break the
	// message's headers: a line break, or a media type that does not parse.
	ErrHeader = errors.New("mail: header value with a line break or not well formed")
)

// Send delivers m, or fails without writing anything to a server that refuses TLS.
func (s *Sender) Send(ctx context.Context, m Message) error {
	if len(m.To) == 0 {
		return fmt.Errorf("mail: no recipient")
	}
	for _, v := range append([]string{m.Subject, s.From}, m.To...) {
		if strings.ContainsAny(v, "\r\n") {
			return ErrHeader
		}
	}
	// The body is built before any connection: a malformed attachment is refused without
	// talking to the server.
	content, body, err := m.content()
	if err != nil {
		return err
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
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: %s\r\nAuto-Submitted: auto-generated\r\n\r\n", content)
	b.Write(body)
	if err := c.SendMail(s.From, m.To, strings.NewReader(b.String())); err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}
	return c.Quit()
}

// content returns the message's Content-Type header value and its body, CRLF line ends.
func (m Message) content() (string, []byte, error) {
	if len(m.Attachments) == 0 {
		return "text/plain; charset=utf-8", []byte(strings.ReplaceAll(m.Body, "\n", "\r\n")), nil
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	text, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return "", nil, fmt.Errorf("mail: body: %w", err)
	}
	qp := quotedprintable.NewWriter(text)
	if _, err := qp.Write([]byte(m.Body)); err != nil {
		return "", nil, fmt.Errorf("mail: body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return "", nil, fmt.Errorf("mail: body: %w", err)
	}
	for _, a := range m.Attachments {
		h, err := a.header()
		if err != nil {
			return "", nil, err
		}
		part, err := w.CreatePart(h)
		if err != nil {
			return "", nil, fmt.Errorf("mail: attachment: %w", err)
		}
		if _, err := part.Write(base64Lines(a.Data)); err != nil {
			return "", nil, fmt.Errorf("mail: attachment: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return "", nil, fmt.Errorf("mail: body: %w", err)
	}
	return mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": w.Boundary()}), buf.Bytes(), nil
}

// header is an attachment's part header. Its type and name are parsed and formatted again by
// package mime, so a value cannot end the header early or add one of its own.
func (a Attachment) header() (textproto.MIMEHeader, error) {
	if strings.ContainsAny(a.Name+a.ContentType, "\r\n") || a.Name == "" {
		return nil, ErrHeader
	}
	mt, params, err := mime.ParseMediaType(a.ContentType)
	if err != nil {
		return nil, ErrHeader
	}
	ct := mime.FormatMediaType(mt, params)
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})
	if ct == "" || disposition == "" {
		return nil, ErrHeader
	}
	return textproto.MIMEHeader{
		"Content-Type":              {ct},
		"Content-Disposition":       {disposition},
		"Content-Transfer-Encoding": {"base64"},
	}, nil
}

// base64Lines encodes data in base64 lines of 76 characters (RFC 2045), each ending in CRLF.
func base64Lines(data []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(data)
	var b bytes.Buffer
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	if enc != "" {
		b.WriteString(enc + "\r\n")
	}
	return b.Bytes()
}

// Redacted is err with any text an SMTP server answered removed, keeping its status codes: a
// server's reply may quote the recipient's address, which must not reach a log.
func Redacted(err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return fmt.Errorf("mail: the server answered %d %d.%d.%d", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
	}
	return err
}
