package visits

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	// The clinic's zones must load on a machine without a zoneinfo database (a minimal
	// container): the binary carries its own copy.
	_ "time/tzdata"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
)

// Bounds of an availability. They keep the slot computation of any window small and make
// nonsense (a one-minute slot, a thousand exceptions) an answer the clinician can act on.
const (
	MinSlotMinutes   = 5
	MaxSlotMinutes   = 240
	MaxBufferMinutes = 120
	MaxWeeklyRanges  = 70
	MaxExceptions    = 100
	// maxExceptionDays bounds the days one exception spans (time off for a year at most).
	maxExceptionDays = 366
)

// days are the weekly days, as the API names them, Monday first.
var days = [...]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// dayNames are the same days as people read them.
var dayNames = [...]string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}

// dayIndex returns the index of d in days (mon = 0), or -1.
func dayIndex(d string) int {
	for i, x := range days {
		if x == d {
			return i
		}
	}
	return -1
}

// weekdayIndex maps a time.Weekday to days' index (Monday = 0).
func weekdayIndex(w time.Weekday) int { return (int(w) + 6) % 7 }

// parseClock reads "HH:MM" (00:00 to 24:00) as minutes after midnight.
func parseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || s[0] == '+' || s[0] == '-' || s[3] == '+' || s[3] == '-' || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// parseDate reads a YYYY-MM-DD date.
func parseDate(s string) (time.Time, bool) {
	d, err := time.Parse(time.DateOnly, s)
	return d, err == nil && len(s) == len(time.DateOnly)
}

// ordinal is "1st", "2nd", "3rd", "4th"…, for naming an entry of a list in a message.
func ordinal(n int) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}

// ParseAvailability decodes an availability from untrusted JSON (unknown fields refused, one
// value only) and validates it.
func ParseAvailability(data []byte) (Availability, error) {
	var a Availability
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Availability{}, fault.New(fault.Invalid, "the hours are not in the expected form")
	}
	if dec.More() {
		return Availability{}, fault.New(fault.Invalid, "the hours are not in the expected form")
	}
	if err := a.Validate(); err != nil {
		return Availability{}, err
	}
	return a.Canonical(), nil
}

// Canonical is a as it is stored and answered: no weekly hours is an empty list, no
// exceptions none at all.
func (a Availability) Canonical() Availability {
	if a.Weekly == nil {
		a.Weekly = []Hours{}
	}
	if len(a.Exceptions) == 0 {
		a.Exceptions = nil
	}
	return a
}

// Validate checks an availability as a clinician (or the front desk) sets it. The error names
// the field and says, in words, what to change.
func (a Availability) Validate() error {
	if a.TimeZone == "" || len(a.TimeZone) > 64 || a.TimeZone == "Local" {
		return fault.InvalidField("timeZone", "choose the time zone the hours are in, for example Europe/Madrid")
	}
	if _, err := time.LoadLocation(a.TimeZone); err != nil {
		return fault.InvalidField("timeZone", "this is not a time zone Haven knows; choose one such as Europe/Madrid or America/New_York")
	}
	if a.SlotMinutes < MinSlotMinutes || a.SlotMinutes > MaxSlotMinutes {
		return fault.InvalidField("slotMinutes", fmt.Sprintf("an appointment lasts from %d to %d minutes", MinSlotMinutes, MaxSlotMinutes))
	}
	if a.BufferMinutes < 0 || a.BufferMinutes > MaxBufferMinutes {
		return fault.InvalidField("bufferMinutes", fmt.Sprintf("the break between appointments is from 0 to %d minutes", MaxBufferMinutes))
	}
	if len(a.Weekly) > MaxWeeklyRanges {
		return fault.InvalidField("weekly", fmt.Sprintf("at most %d weekly ranges; join ranges that follow each other", MaxWeeklyRanges))
	}
	byDay := [7][][2]int{}
	for i, h := range a.Weekly {
		d := dayIndex(h.Day)
		if d < 0 {
			return fault.InvalidField("weekly", fmt.Sprintf("the %s range has no valid day: use mon, tue, wed, thu, fri, sat or sun", ordinal(i+1)))
		}
		start, ok1 := parseClock(h.Start)
		end, ok2 := parseClock(h.End)
		if !ok1 || !ok2 {
			return fault.InvalidField("weekly", fmt.Sprintf("%s's hours (the %s range) must be times from 00:00 to 24:00, written HH:MM", dayNames[d], ordinal(i+1)))
		}
		if start >= end {
			return fault.InvalidField("weekly", fmt.Sprintf("%s's hours %s–%s end before they start; enter the start first", dayNames[d], h.Start, h.End))
		}
		for _, r := range byDay[d] {
			if start < r[1] && r[0] < end {
				return fault.InvalidField("weekly", fmt.Sprintf("%s's hours %s–%s overlap another range that day; make them one range or move one", dayNames[d], h.Start, h.End))
			}
		}
		byDay[d] = append(byDay[d], [2]int{start, end})
	}
	if len(a.Exceptions) > MaxExceptions {
		return fault.InvalidField("exceptions", fmt.Sprintf("at most %d exceptions; remove those that are over", MaxExceptions))
	}
	for i, x := range a.Exceptions {
		if err := x.validate(i); err != nil {
			return err
		}
	}
	return nil
}

func (x Exception) validate(i int) error {
	which := "the " + ordinal(i+1) + " exception"
	if x.Kind != ExceptionOff && x.Kind != ExceptionExtra {
		return fault.InvalidField("exceptions", which+" must be time off (off) or extra hours (extra)")
	}
	date, ok := parseDate(x.Date)
	if !ok {
		return fault.InvalidField("exceptions", which+" needs a date, written YYYY-MM-DD")
	}
	if x.Until != "" {
		until, ok := parseDate(x.Until)
		if !ok {
			return fault.InvalidField("exceptions", which+" ends on a date that is not written YYYY-MM-DD")
		}
		if until.Before(date) {
			return fault.InvalidField("exceptions", which+" ends before it starts; enter the first day as date and the last as until")
		}
		if until.Sub(date) > maxExceptionDays*24*time.Hour {
			return fault.InvalidField("exceptions", which+" spans more than a year; split it in two")
		}
	}
	if x.Start == "" && x.End == "" {
		if x.Kind == ExceptionExtra {
			return fault.InvalidField("exceptions", which+" adds hours: give their start and end, HH:MM")
		}
		return nil // a whole day (or days) off
	}
	start, ok1 := parseClock(x.Start)
	end, ok2 := parseClock(x.End)
	if !ok1 || !ok2 {
		return fault.InvalidField("exceptions", which+" needs a start and an end from 00:00 to 24:00, written HH:MM (or neither, for whole days off)")
	}
	if start >= end {
		return fault.InvalidField("exceptions", which+" ends before it starts; enter the start first")
	}
	return nil
}

const (
	upsertAvailability = `INSERT INTO availability (clinician_id, spec, accepts_new, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (clinician_id) DO UPDATE SET spec = excluded.spec, accepts_new = excluded.accepts_new,
			updated_by = excluded.updated_by, updated_at = excluded.updated_at`
	selectAvailability = `SELECT spec FROM availability WHERE clinician_id = $1`
	selectClinician    = `SELECT role, status FROM accounts WHERE id = $1`
)

// Errors of availability.
var (
	ErrNoClinician = fault.New(fault.NotFound, "no such clinician")
	// ErrNoHours: the clinician has not set their hours.
	ErrNoHours = fault.New(fault.NotFound, "this clinician has not set their hours yet")
)

// SetAvailability replaces a clinician's availability (availability.set). A clinician sets
// their own; the front desk sets anyone's.
func (s *Service) SetAvailability(ctx context.Context, by access.Subject, clinicianID string, a Availability, o Origin) error {
	act := act(by, access.SetAvailability, "Availability", clinicianID, "", o)
	if err := s.door.Admit(ctx, act); err != nil {
		return err
	}
	if err := a.Validate(); err != nil {
		return err
	}
	if ok, err := s.isClinician(ctx, clinicianID, false); err != nil {
		return err
	} else if !ok {
		return fault.InvalidField("id", "this account is not a clinician's: hours are set for clinicians only")
	}
	spec, err := json.Marshal(a.Canonical())
	if err != nil {
		return fmt.Errorf("visits: encode availability: %w", err)
	}
	return guard.Run(ctx, s.door, act, func(ctx context.Context) error {
		_, err := s.db.ExecPrepared(ctx, upsertAvailability, clinicianID, string(spec), boolInt(a.AcceptsNewPatients), by.AccountID, s.now().UnixNano())
		if err != nil {
			return fmt.Errorf("visits: store availability: %w", err)
		}
		return nil
	})
}

// Availability returns a clinician's availability as set (slots.read).
func (s *Service) Availability(ctx context.Context, by access.Subject, clinicianID string, o Origin) (Availability, error) {
	return guard.Do(ctx, s.door, act(by, access.ReadSlots, "Availability", clinicianID, "", o), func(ctx context.Context) (Availability, error) {
		a, err := s.loadAvailability(ctx, clinicianID)
		if errors.Is(err, ErrNoHours) {
			if ok, cerr := s.isClinician(ctx, clinicianID, false); cerr != nil {
				return Availability{}, cerr
			} else if !ok {
				return Availability{}, ErrNoClinician
			}
		}
		return a, err
	})
}

// loadAvailability reads a clinician's stored availability; ErrNoHours if there is none.
func (s *Service) loadAvailability(ctx context.Context, clinicianID string) (Availability, error) {
	var spec string
	err := s.db.QueryRowPrepared(ctx, selectAvailability, clinicianID).Scan(&spec)
	if errors.Is(err, sql.ErrNoRows) {
		return Availability{}, ErrNoHours
	}
	if err != nil {
		return Availability{}, fmt.Errorf("visits: load availability: %w", err)
	}
	var a Availability
	if err := json.Unmarshal([]byte(spec), &a); err != nil {
		return Availability{}, fmt.Errorf("visits: decode availability: %w", err)
	}
	return a.Canonical(), nil
}

// isClinician reports whether id is a clinician's account; with active, only one that can
// sign in and be booked (not invited still, nor disabled).
func (s *Service) isClinician(ctx context.Context, id string, active bool) (bool, error) {
	var role, status string
	err := s.db.QueryRowPrepared(ctx, selectClinician, id).Scan(&role, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("visits: clinician: %w", err)
	}
	if role != string(access.Clinician) {
		return false, nil
	}
	return !active || status == "active", nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// describeDuration says a duration in days or hours, for a message.
func describeDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d >= 2*time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	case d == time.Hour:
		return "an hour"
	default:
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	}
}
