package visits

// UNBUILT: the methods below are the contract the helpers implement. Each helper moves the
// methods it builds out of this file into its own; the file is deleted before anything lands.

import (
	"context"
	"errors"
	"time"

	"haven/internal/access"
)

var errUnbuilt = errors.New("visits: not built yet")

// ---- schedule (availability.go, slots.go, book.go) ----

// SetAvailability replaces a clinician's availability (availability.set).
func (s *Service) SetAvailability(ctx context.Context, by access.Subject, clinicianID string, a Availability, o Origin) error {
	return errUnbuilt
}

// Availability returns a clinician's availability as set (slots.read).
func (s *Service) Availability(ctx context.Context, by access.Subject, clinicianID string, o Origin) (Availability, error) {
	return Availability{}, errUnbuilt
}

// Slots computes a clinician's free slots in [from, to), at most 31 days (slots.read).
func (s *Service) Slots(ctx context.Context, by access.Subject, clinicianID string, from, to time.Time, o Origin) ([]Slot, error) {
	return nil, errUnbuilt
}

// Clinicians lists the clinicians the caller may book (a patient: those in their care, and
// with open booking those accepting new patients; staff: every clinician) (slots.read).
func (s *Service) Clinicians(ctx context.Context, by access.Subject, o Origin) ([]Clinician, error) {
	return nil, errUnbuilt
}

// Book books a slot (appointment.book); a slot taken → ErrSlotTaken.
func (s *Service) Book(ctx context.Context, by access.Subject, b Booking, o Origin) (Appointment, error) {
	return Appointment{}, errUnbuilt
}

// Reschedule moves an appointment to another slot (appointment.reschedule).
func (s *Service) Reschedule(ctx context.Context, by access.Subject, id string, start time.Time, o Origin) (Appointment, error) {
	return Appointment{}, errUnbuilt
}

// Cancel cancels an appointment (appointment.cancel).
func (s *Service) Cancel(ctx context.Context, by access.Subject, id string, o Origin) error {
	return errUnbuilt
}

// MarkNoShow records that the patient did not come (appointment.no-show).
func (s *Service) MarkNoShow(ctx context.Context, by access.Subject, id string, o Origin) error {
	return errUnbuilt
}

// Appointments lists a patient's own appointments, a clinician's schedule, or (front desk) the
// clinic's, in [from, to) (appointment.list).
func (s *Service) Appointments(ctx context.Context, by access.Subject, from, to time.Time, o Origin) ([]Appointment, error) {
	return nil, errUnbuilt
}

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
