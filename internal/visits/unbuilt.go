package visits

// UNBUILT: the methods below are the contract the helpers implement. Each helper moves the
// methods it builds out of this file into its own; the file is deleted before anything lands.

import (
	"context"
	"errors"

	"haven/internal/access"
)

var errUnbuilt = errors.New("visits: not built yet")

// ---- reminders and the calendar feed (remind.go, ics.go, feed.go) ----

// SendReminders sends the reminders now due (a day and an hour before), each once.
func (s *Service) SendReminders(ctx context.Context) (int, error) { return 0, errUnbuilt }

// NewCalendarFeed makes the caller's private calendar feed URL, revoking any earlier one
// (calendar.feed).
func (s *Service) NewCalendarFeed(ctx context.Context, by access.Subject, o Origin) (string, error) {
	return "", errUnbuilt
}

// RevokeCalendarFeed ends the caller's calendar feed (calendar.feed).
func (s *Service) RevokeCalendarFeed(ctx context.Context, by access.Subject, o Origin) error {
	return errUnbuilt
}

// CalendarFeed returns the iCalendar document of a feed token's clinician (no patient names).
func (s *Service) CalendarFeed(ctx context.Context, token string, o Origin) ([]byte, error) {
	return nil, errUnbuilt
}
