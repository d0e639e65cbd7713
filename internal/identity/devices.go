package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

	"haven/internal/access"
	"haven/internal/audit"
)

// New-device notices. Each browser carries a long-lived random device cookie; the server keeps
// the SHA-256 of the devices each account has fully signed in from. A full sign-in from a device
// not on that list, on an account that has one already, e-mails the owner a notice that names
// the time and the kind of browser, never PHI and never a link. The very first device of an
// account (activation) sends nothing: there is nothing to compare it with.

type deviceKey struct{}

// WithDevice returns ctx carrying the caller's device identifier (the device cookie's value).
func WithDevice(ctx context.Context, device string) context.Context {
	return context.WithValue(ctx, deviceKey{}, device)
}

func deviceFrom(ctx context.Context) string {
	d, _ := ctx.Value(deviceKey{}).(string)
	return d
}

// NewDeviceID returns a fresh 256-bit device identifier for a browser that has none.
func NewDeviceID() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidDeviceID reports whether a device cookie has the shape NewDeviceID gives it.
func ValidDeviceID(d string) bool {
	b, err := base64.RawURLEncoding.DecodeString(d)
	return err == nil && len(b) == 32
}

const (
	selectDevice = `SELECT COUNT(*), COALESCE(SUM(CASE WHEN device_hash = $2 THEN 1 ELSE 0 END), 0) FROM known_devices WHERE account_id = $1`
	touchDevice  = `UPDATE known_devices SET last_seen = $1 WHERE account_id = $2 AND device_hash = $3`
	insertDevice = `INSERT INTO known_devices (account_id, device_hash, first_seen, last_seen) VALUES ($1, $2, $3, $3)
		ON CONFLICT (account_id, device_hash) DO UPDATE SET last_seen = EXCLUDED.last_seen`
)

// signIn starts a session at stage for an account that has just passed a sign-in step, and
// notes the device when that leaves it fully signed in.
func (s *Service) signIn(ctx context.Context, accountID string, stage Stage, o Origin) (string, error) {
	token, err := s.startSession(ctx, s.db, accountID, stage, o)
	if err != nil {
		return "", err
	}
	if err := s.signedIn(ctx, accountID, stage, o); err != nil {
		return "", err
	}
	return token, nil
}

// signedIn is called when a session reaches stage: at the full stage it notes the device.
func (s *Service) signedIn(ctx context.Context, accountID string, stage Stage, o Origin) error {
	if stage != StageFull {
		return nil
	}
	return s.noteDevice(ctx, accountID, o)
}

// noteDevice records the device a full sign-in came from, and has the owner notified when it
// is new to an account that has signed in before.
func (s *Service) noteDevice(ctx context.Context, accountID string, o Origin) error {
	dev := deviceFrom(ctx)
	if !ValidDeviceID(dev) {
		dev = "" // a client without the cookie (a script) is a new device each time
	}
	h := hashToken(dev)
	var known, this int
	if err := s.db.QueryRowContext(ctx, selectDevice, accountID, h).Scan(&known, &this); err != nil {
		return fmt.Errorf("identity: known devices: %w", err)
	}
	now := s.now().UnixNano()
	if this > 0 {
		_, err := s.db.ExecContext(ctx, touchDevice, now, accountID, h)
		return err
	}
	if dev != "" {
		if _, err := s.db.ExecContext(ctx, insertDevice, accountID, h, now); err != nil {
			return fmt.Errorf("identity: remember device: %w", err)
		}
	}
	if known == 0 {
		return nil
	}
	acct, err := s.accountByID(ctx, accountID)
	if err != nil {
		return err
	}
	subject := access.Subject{AccountID: acct.ID, Role: acct.Role, PatientID: acct.PatientID}
	if s.cfg.Mail == nil {
		return s.record(ctx, subject, "auth.new-device", acct.ID, audit.Success, "no-mail", o)
	}
	if err := s.record(ctx, subject, "auth.new-device", acct.ID, audit.Success, "notice-queued", o); err != nil {
		return err
	}
	s.notify(ctx, acct, newDeviceNotice(deviceSummary(o.UserAgent)), "", o)
	return nil
}

// deviceSummary names a browser and system from a User-Agent in a fixed vocabulary, so that
// nothing a client sends is copied into an e-mail.
func deviceSummary(ua string) string {
	pick := func(table [][2]string) string {
		for _, kv := range table {
			if strings.Contains(ua, kv[0]) {
				return kv[1]
			}
		}
		return ""
	}
	browser := pick([][2]string{{"Edg/", "Edge"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"Go-http-client", "a script"}, {"curl/", "a script"}})
	system := pick([][2]string{{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"}})
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "a browser on " + system
	}
	return "an unrecognised browser or app"
}
