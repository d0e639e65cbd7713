package monitor

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"haven/internal/audit"
	"haven/internal/store"
)

// Syslog forwards audit entries to a SIEM as RFC 5424 messages over TLS (RFC 5425 framing:
// each message prefixed by its length). Entries carry identifiers only, so nothing leaves Haven
// that the audit log itself would not show an auditor.
type Syslog struct {
	Addr     string      // host:port of the collector
	TLS      *tls.Config // how to verify the collector; its ServerName defaults to Addr's host
	Hostname string      // HOSTNAME field
	db       *store.DB

	mu   sync.Mutex
	conn net.Conn
	last int64 // index of the last entry the collector accepted
}

// NewSyslog forwards entries appended after the current end of the log.
func NewSyslog(ctx context.Context, db *store.DB, addr string, conf *tls.Config, hostname string) (*Syslog, error) {
	head, err := audit.Head(ctx, db)
	if err != nil {
		return nil, err
	}
	return &Syslog{Addr: addr, TLS: conf, Hostname: hostname, db: db, last: head.N}, nil
}

// Forward sends every entry appended since the last successful send. On failure it stops and
// tries again from the same entry next time, so the collector misses nothing.
func (s *Syslog) Forward(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sent := 0
	for {
		es, err := audit.Since(ctx, s.db, s.last, 500)
		if err != nil {
			return sent, err
		}
		for _, e := range es {
			if err := s.send(ctx, Format5424(e, s.Hostname)); err != nil {
				return sent, err
			}
			s.last = e.Seq
			sent++
		}
		if len(es) < 500 {
			return sent, nil
		}
	}
}

func (s *Syslog) send(ctx context.Context, msg string) error {
	if s.conn == nil {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: s.TLS}
		c, err := d.DialContext(ctx, "tcp", s.Addr)
		if err != nil {
			return fmt.Errorf("monitor: syslog connect: %w", err)
		}
		s.conn = c
	}
	s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(s.conn, "%d %s", len(msg), msg); err != nil {
		s.conn.Close()
		s.conn = nil
		return fmt.Errorf("monitor: syslog send: %w", err)
	}
	return nil
}

// Close ends the connection.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// Format5424 renders an entry as an RFC 5424 message: facility "log audit" (13), severity
// notice (5) for refusals and failures and informational (6) otherwise, the entry's fields as
// structured data under Haven's SD-ID.
func Format5424(e audit.Entry, hostname string) string {
	severity := 6
	if e.Outcome == audit.Deny || e.Outcome == audit.Failure {
		severity = 5
	}
	if hostname == "" {
		hostname = "-"
	}
	var sd strings.Builder
	sd.WriteString("[haven@32473")
	for _, kv := range [][2]string{{"seq", strconv.FormatInt(e.Seq, 10)}, {"actor", e.ActorID}, {"role", e.ActorRole},
		{"action", e.Action}, {"resourceType", e.ResourceType}, {"resourceId", e.ResourceID}, {"patient", e.PatientID},
		{"outcome", e.Outcome}, {"reason", e.Reason}, {"src", e.SourceAddr}, {"requestId", e.RequestID}, {"purpose", e.Purpose}} {
		if kv[1] == "" {
			continue
		}
		sd.WriteString(" " + kv[0] + `="` + sdEscape(kv[1]) + `"`)
	}
	sd.WriteString("]")
	msgID := strings.ReplaceAll(e.Action, " ", "_")
	if msgID == "" || len(msgID) > 32 {
		msgID = "-"
	}
	return fmt.Sprintf("<%d>1 %s %s haven - %s %s %s %s", 13*8+severity, e.Time.UTC().Format(time.RFC3339Nano),
		hostname, msgID, sd.String(), e.Action, e.Outcome)
}

// sdEscape escapes a structured-data value (RFC 5424 §6.3.3).
func sdEscape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(v)
}
