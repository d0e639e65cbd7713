package visits

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/fault"
	"haven/internal/guard"
)

// The calendar feed. A clinician can subscribe their own calendar program to their Haven
// schedule through a private URL. The URL is the only credential (calendar programs send no
// cookies), so it carries a 256-bit random token and nothing else: no account identifier.
// Haven keeps only the token's SHA-256; a new URL revokes the one before, and the clinician can
// revoke it outright. The document lists times only ("Video visit", start, end, status, a link
// to Haven), never a patient's name, identifier or reason: a calendar program syncs it to
// phones, laptops and cloud services Haven does not control.
//
// The feed spans 30 days back to 180 days ahead. Cancelled appointments stay in it with
// STATUS:CANCELLED, so a subscribed calendar shows the slot as cancelled instead of silently
// dropping it (calendar programs remove or strike it through).

// FeedPath is where the API serves a feed: FeedPath + token + ".ics".
const FeedPath = "/api/v1/calendar/"

const (
	feedTokenBytes = 32
	feedPast       = 30 * 24 * time.Hour
	feedAhead      = 180 * 24 * time.Hour
	// EventFeedRead is recorded, by the clinician, each time their feed is read.
	EventFeedRead = "calendar.feed-read"
)

// Details of a calendar.feed entry's reason, and of a feed read's.
const (
	feedMade    = "feed-made"
	feedRevoked = "feed-revoked"
	feedLink    = "calendar-link"
)

// ErrFeedNotFound answers a feed URL that is unknown or revoked: the same answer for both.
var ErrFeedNotFound = fault.New(fault.NotFound, "this calendar link does not work any more; make a new one in Haven")

const (
	revokeFeeds = `UPDATE calendar_feeds SET revoked_at = $1 WHERE clinician_id = $2 AND revoked_at IS NULL`
	insertFeed  = `INSERT INTO calendar_feeds (token_hash, clinician_id, created_at) VALUES ($1, $2, $3)`
	// selectFeed finds a live feed by its hash alone: an index lookup, whatever the token.
	// A disabled account, or one no longer a clinician's, serves nothing.
	selectFeed = `SELECT f.clinician_id FROM calendar_feeds f JOIN accounts a ON a.id = f.clinician_id
		WHERE f.token_hash = $1 AND f.revoked_at IS NULL AND a.status = 'active' AND a.role = 'clinician'`
	selectFeedAppointments = `SELECT id, state, start_at, end_at FROM appointments
		WHERE clinician_id = $1 AND start_at >= $2 AND start_at < $3 ORDER BY start_at, id`
)

// feedAct is the calendar.feed act on the caller's own account.
func feedAct(by access.Subject, detail string, o Origin) guard.Act {
	return guard.Act{By: by, Action: access.ManageCalendarFeed, Resource: access.Resource{Type: "Account", ID: by.AccountID},
		Origin: o, Detail: detail}
}

// NewCalendarFeed makes the caller's private calendar feed URL, revoking any earlier one
// (calendar.feed). The URL is shown this once: Haven keeps only its token's hash.
func (s *Service) NewCalendarFeed(ctx context.Context, by access.Subject, o Origin) (string, error) {
	return guard.Do(ctx, s.door, feedAct(by, feedMade, o), func(ctx context.Context) (string, error) {
		raw := make([]byte, feedTokenBytes)
		if _, err := rand.Read(raw); err != nil {
			return "", fmt.Errorf("visits: feed token: %w", err)
		}
		hash := sha256.Sum256(raw)
		now := s.now().UnixNano()
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, revokeFeeds, now, by.AccountID); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, insertFeed, hash[:], by.AccountID, now)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("visits: new calendar feed: %w", err)
		}
		return s.cfg.BaseURL + FeedPath + base64.RawURLEncoding.EncodeToString(raw) + ".ics", nil
	})
}

// RevokeCalendarFeed ends the caller's calendar feed (calendar.feed). Revoking when there is
// none is not an error: either way, no feed works afterwards.
func (s *Service) RevokeCalendarFeed(ctx context.Context, by access.Subject, o Origin) error {
	return guard.Run(ctx, s.door, feedAct(by, feedRevoked, o), func(ctx context.Context) error {
		if _, err := s.db.ExecContext(ctx, revokeFeeds, s.now().UnixNano(), by.AccountID); err != nil {
			return fmt.Errorf("visits: revoke calendar feed: %w", err)
		}
		return nil
	})
}

// CalendarFeed returns the iCalendar document of a feed token's clinician (no patient names).
// token is the URL's last segment, with or without ".ics". An unknown, revoked or malformed
// token is ErrFeedNotFound; the lookup is by the token's hash, so the work does not depend on
// how close a guess comes. Each read is recorded as the clinician's (calendar.feed-read).
func (s *Service) CalendarFeed(ctx context.Context, token string, o Origin) ([]byte, error) {
	raw, ok := ParseFeedToken(token)
	if !ok {
		return nil, ErrFeedNotFound
	}
	hash := sha256.Sum256(raw)
	var clinicianID string
	err := s.db.QueryRowPrepared(ctx, selectFeed, hash[:]).Scan(&clinicianID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrFeedNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("visits: calendar feed: %w", err)
	}
	now := s.now()
	evs, err := s.feedEvents(ctx, clinicianID, now)
	if err != nil {
		return nil, err
	}
	doc := feedICS(evs, hostOf(s.cfg.BaseURL), s.cfg.BaseURL+AppointmentsPath, now)
	// Recorded before anything is released: an unrecorded read is refused.
	err = s.door.Record(ctx, guard.Event{By: access.Subject{AccountID: clinicianID, Role: access.Clinician}, Action: EventFeedRead,
		Resource: access.Resource{Type: "Account", ID: clinicianID}, Outcome: audit.Success, Reason: feedLink, Origin: o})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// feedEvents lists the clinician's appointments in the feed's window, as events.
func (s *Service) feedEvents(ctx context.Context, clinicianID string, now time.Time) ([]icsEvent, error) {
	rows, err := s.db.QueryPrepared(ctx, selectFeedAppointments, clinicianID, now.Add(-feedPast).UnixNano(), now.Add(feedAhead).UnixNano())
	if err != nil {
		return nil, fmt.Errorf("visits: calendar feed: %w", err)
	}
	defer rows.Close()
	var out []icsEvent
	for rows.Next() {
		var ev icsEvent
		var state string
		var start, end int64
		if err := rows.Scan(&ev.ID, &state, &start, &end); err != nil {
			return nil, fmt.Errorf("visits: calendar feed: %w", err)
		}
		ev.Start, ev.End = time.Unix(0, start).UTC(), time.Unix(0, end).UTC()
		ev.Summary, ev.Cancelled = feedSummary, state == StateCancelled
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("visits: calendar feed: %w", err)
	}
	return out, nil
}

// ParseFeedToken reads a feed URL's token (base64url, 32 bytes, an optional ".ics" after it).
// It accepts nothing else: no padding, no other alphabet, no other length.
func ParseFeedToken(token string) ([]byte, bool) {
	token = strings.TrimSuffix(token, ".ics")
	if len(token) != base64.RawURLEncoding.EncodedLen(feedTokenBytes) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != feedTokenBytes {
		return nil, false
	}
	return raw, true
}
