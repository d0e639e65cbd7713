package visits

import (
	"context"
	"fmt"
	"slices"
	"time"

	"haven/internal/access"
	"haven/internal/fault"
	"haven/internal/guard"
)

// MaxSlotWindow is the longest window one slot query covers.
const MaxSlotWindow = 31 * 24 * time.Hour

// A clinician's hours are wall-clock times in their own zone, so slots are computed day by day
// in that zone with time.Date: 09:00 stays 09:00 local across a daylight-saving change, and a
// patient in another zone sees the same instants (an instant is an instant). A local time that
// does not exist (the hour skipped in spring) gives no slot; one that happens twice (the hour
// repeated in autumn) is its first instant.

// ComputeSlots returns the slots a's hours give whose start is in [from, to), in order: every
// local day's weekly ranges and extra hours (merged where they overlap), each stepped by
// SlotMinutes+BufferMinutes from its start, a slot ending within its range; slots overlapping
// time off are removed. It reads no database and knows no bookings (see Free). a must be valid.
func ComputeSlots(a Availability, from, to time.Time) ([]Slot, error) {
	loc, err := time.LoadLocation(a.TimeZone)
	if err != nil {
		return nil, fault.InvalidField("timeZone", "these hours cannot be read; set them again")
	}
	return computeSlotsIn(a, loc, from, to)
}

// computeSlotsIn is ComputeSlots with a's zone already loaded.
func computeSlotsIn(a Availability, loc *time.Location, from, to time.Time) ([]Slot, error) {
	if a.SlotMinutes <= 0 || loc == nil {
		return nil, fault.InvalidField("timeZone", "these hours cannot be read; set them again")
	}
	if !from.Before(to) {
		return []Slot{}, nil
	}
	step := a.SlotMinutes + max(a.BufferMinutes, 0)
	length := time.Duration(a.SlotMinutes) * time.Minute
	out := []Slot{}
	// From the day before from (a slot of the previous local day may start in the window when
	// the zone is behind UTC) to the day of to.
	first := from.In(loc)
	day := time.Date(first.Year(), first.Month(), first.Day()-1, 12, 0, 0, 0, loc)
	last := to.In(loc)
	lastDay := time.Date(last.Year(), last.Month(), last.Day(), 12, 0, 0, 0, loc)
	for ; !day.After(lastDay); day = time.Date(day.Year(), day.Month(), day.Day()+1, 12, 0, 0, 0, loc) {
		ranges, off := a.dayRanges(day)
		offs := offInstants(loc, day, off)
		// Most days have no daylight-saving change: minute m is then midnight plus m minutes,
		// and only the days with a change need the wall clock worked out slot by slot.
		midnight, steady := steadyDay(loc, day)
		for _, r := range ranges {
			for m := r[0]; m+a.SlotMinutes <= r[1]; m += step {
				start, ok := midnight.Add(time.Duration(m)*time.Minute), true
				if !steady {
					start, ok = localInstant(loc, day, m)
				}
				if !ok || start.Before(from) || !start.Before(to) {
					continue
				}
				s := Slot{Start: start, End: start.Add(length)}
				if overlapsAny(s, offs) {
					continue
				}
				out = append(out, s)
			}
		}
	}
	slices.SortFunc(out, func(x, y Slot) int { return x.Start.Compare(y.Start) })
	return slices.CompactFunc(out, func(x, y Slot) bool { return x.Start.Equal(y.Start) }), nil
}

// Free removes from slots those overlapping a busy interval and those starting before now.
// slots are in order of start (as ComputeSlots gives them); busy may be in any order. It sweeps
// both once, so a month of slots against a month of bookings costs their sum, not their product.
func Free(slots []Slot, busy []Slot, now time.Time) []Slot {
	busy = slices.Clone(busy)
	slices.SortFunc(busy, func(x, y Slot) int { return x.Start.Compare(y.Start) })
	out := make([]Slot, 0, len(slots))
	// reach is the latest end among busy[:next], the intervals starting before the slot ends.
	var reach time.Time
	next := 0
	for _, s := range slots {
		for next < len(busy) && busy[next].Start.Before(s.End) {
			if busy[next].End.After(reach) {
				reach = busy[next].End
			}
			next++
		}
		// Every interval counted starts before the slot ends; one overlaps the slot if it also
		// ends after the slot starts, and the latest end tells whether any does.
		if s.Start.Before(now) || reach.After(s.Start) {
			continue
		}
		out = append(out, s)
	}
	return out
}

func overlapsAny(s Slot, xs []Slot) bool {
	for _, x := range xs {
		if s.Start.Before(x.End) && x.Start.Before(s.End) {
			return true
		}
	}
	return false
}

// dayRanges returns the working ranges of the local day (minutes after midnight, merged and
// sorted) and its time off: [start, end) minutes, whole day as [0, 1440).
func (a Availability) dayRanges(day time.Time) (ranges, off [][2]int) {
	wd := weekdayIndex(day.Weekday())
	for _, h := range a.Weekly {
		if dayIndex(h.Day) != wd {
			continue
		}
		if r, ok := clockRange(h.Start, h.End); ok {
			ranges = append(ranges, r)
		}
	}
	date := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	for _, x := range a.Exceptions {
		if !x.covers(date) {
			continue
		}
		r, ok := clockRange(x.Start, x.End)
		switch {
		case x.Kind == ExceptionExtra && ok:
			ranges = append(ranges, r)
		case x.Kind == ExceptionOff && x.Start == "" && x.End == "":
			off = append(off, [2]int{0, 24 * 60})
		case x.Kind == ExceptionOff && ok:
			off = append(off, r)
		}
	}
	return mergeRanges(ranges), off
}

// covers reports whether the exception applies on date (midnight UTC of a local date).
func (x Exception) covers(date time.Time) bool {
	first, ok := parseDate(x.Date)
	if !ok {
		return false
	}
	last := first
	if x.Until != "" {
		if last, ok = parseDate(x.Until); !ok {
			return false
		}
	}
	return !date.Before(first) && !date.After(last)
}

func clockRange(start, end string) ([2]int, bool) {
	s, ok1 := parseClock(start)
	e, ok2 := parseClock(end)
	return [2]int{s, e}, ok1 && ok2 && s < e
}

// mergeRanges sorts ranges and joins those that overlap or touch, so that extra hours next to
// (or over) the weekly hours make one grid rather than two that collide.
func mergeRanges(rs [][2]int) [][2]int {
	if len(rs) < 2 {
		return rs
	}
	slices.SortFunc(rs, func(x, y [2]int) int { return x[0] - y[0] })
	out := rs[:1]
	for _, r := range rs[1:] {
		lastR := &out[len(out)-1]
		if r[0] <= lastR[1] {
			lastR[1] = max(lastR[1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}

// steadyDay returns the local midnight starting day and whether the day is 24 hours of one
// offset (no daylight-saving change within it), so that its minutes are plain additions.
func steadyDay(loc *time.Location, day time.Time) (time.Time, bool) {
	y, mo, d := day.Date()
	midnight := time.Date(y, mo, d, 0, 0, 0, 0, loc)
	next := time.Date(y, mo, d+1, 0, 0, 0, 0, loc)
	_, o1 := midnight.Zone()
	_, o2 := next.Zone()
	// Probe the middle too: a zone could change and change back within a day.
	_, o3 := midnight.Add(12 * time.Hour).Zone()
	return midnight, o1 == o2 && o1 == o3 && next.Sub(midnight) == 24*time.Hour && midnight.Hour() == 0
}

// offInstants turns a day's time off into instants. A bound that does not exist locally is
// taken as time.Date normalises it: time off is never narrowed by a skipped hour.
func offInstants(loc *time.Location, day time.Time, off [][2]int) []Slot {
	out := make([]Slot, 0, len(off))
	for _, r := range off {
		start := time.Date(day.Year(), day.Month(), day.Day(), 0, r[0], 0, 0, loc)
		end := time.Date(day.Year(), day.Month(), day.Day(), 0, r[1], 0, 0, loc)
		if s, ok := localInstant(loc, day, r[0]); ok {
			start = s
		}
		out = append(out, Slot{Start: start, End: end})
	}
	return out
}

// localInstant is the instant of minute m (0 to 1439) of the local day, false if that
// wall-clock time does not exist there (skipped by a daylight-saving change). A time that
// happens twice is its first instant.
func localInstant(loc *time.Location, day time.Time, m int) (time.Time, bool) {
	y, mo, d := day.Date()
	h, mi := m/60, m%60
	t := time.Date(y, mo, d, h, mi, 0, 0, loc)
	if !hasWall(t, y, mo, d, h, mi) {
		return time.Time{}, false
	}
	// An earlier instant with the same wall clock exists if the offset was larger a little
	// before (autumn: the clocks went back): prefer it.
	_, off := t.Zone()
	for _, probe := range []time.Duration{-12 * time.Hour, -3 * time.Hour} {
		_, before := t.Add(probe).Zone()
		if before <= off {
			continue
		}
		earlier := t.Add(-time.Duration(before-off) * time.Second)
		if _, o := earlier.Zone(); o == before && hasWall(earlier, y, mo, d, h, mi) {
			return earlier, true
		}
	}
	return t, true
}

// hasWall reports whether t (in its location) reads as the given wall-clock date and time.
func hasWall(t time.Time, y int, mo time.Month, d, h, mi int) bool {
	ty, tmo, td := t.Date()
	th, tmi, _ := t.Clock()
	return ty == y && tmo == mo && td == d && th == h && tmi == mi
}

// selectBusy reads the live appointments overlapping a window. The bound on start_at from below
// ($4: the window's start less the longest an appointment lasts) keeps the index range to the
// window rather than to the clinician's whole history.
const selectBusy = `SELECT start_at, end_at FROM appointments
	WHERE clinician_id = $1 AND state <> 'cancelled' AND start_at < $2 AND start_at > $4 AND end_at > $3`

// busy returns the live appointments of a clinician overlapping [from, to), in one query.
func (s *Service) busy(ctx context.Context, clinicianID string, from, to time.Time) ([]Slot, error) {
	rows, err := s.db.QueryPrepared(ctx, selectBusy, clinicianID, to.UnixNano(), from.UnixNano(), s.overlapFloor(from))
	if err != nil {
		return nil, fmt.Errorf("visits: appointments in window: %w", err)
	}
	defer rows.Close()
	var out []Slot
	for rows.Next() {
		var st, en int64
		if err := rows.Scan(&st, &en); err != nil {
			return nil, fmt.Errorf("visits: appointments in window: %w", err)
		}
		out = append(out, Slot{Start: time.Unix(0, st).UTC(), End: time.Unix(0, en).UTC()})
	}
	return out, rows.Err()
}

// checkWindow refuses a slot or list window that is empty or longer than longest.
func checkWindow(from, to time.Time, longest time.Duration) error {
	if from.IsZero() {
		return fault.InvalidField("from", "give the start of the period, as a date and time with its offset (RFC 3339)")
	}
	if to.IsZero() {
		return fault.InvalidField("to", "give the end of the period, as a date and time with its offset (RFC 3339)")
	}
	if !from.Before(to) {
		return fault.InvalidField("to", "the end of the period must come after its start")
	}
	if to.Sub(from) > longest {
		return fault.InvalidField("to", fmt.Sprintf("ask for at most %s at a time", describeDuration(longest)))
	}
	return nil
}

// Slots computes a clinician's free slots in [from, to), at most 31 days (slots.read): the
// computed slots less those overlapping a live appointment and those already started. A
// clinician who has set no hours has none, nor has one who cannot be booked (not yet
// activated, or disabled).
func (s *Service) Slots(ctx context.Context, by access.Subject, clinicianID string, from, to time.Time, o Origin) ([]Slot, error) {
	return s.slots(ctx, by, "Availability", clinicianID, from, to, o)
}

// slots is Slots as an act on resources of type typ: the clinician's hours, or the slots
// themselves (a connected system's scopes name one or the other).
func (s *Service) slots(ctx context.Context, by access.Subject, typ, clinicianID string, from, to time.Time, o Origin) ([]Slot, error) {
	a := act(by, access.ReadSlots, typ, clinicianID, "", o)
	if err := s.door.Admit(ctx, a); err != nil {
		return nil, err
	}
	if err := checkWindow(from, to, MaxSlotWindow); err != nil {
		return nil, err
	}
	return guard.Do(ctx, s.door, a, func(ctx context.Context) ([]Slot, error) {
		h, err := s.bookableHours(ctx, clinicianID)
		switch {
		case err != nil:
			return nil, err
		case !h.clinician:
			return nil, ErrNoClinician
		case !h.active || !h.set:
			return []Slot{}, nil
		}
		return s.freeSlots(ctx, clinicianID, h.av, from, to)
	})
}

// freeSlots is the computation of Slots: one query for the live appointments in the window.
func (s *Service) freeSlots(ctx context.Context, clinicianID string, av Availability, from, to time.Time) ([]Slot, error) {
	loc, err := s.zone(av.TimeZone)
	if err != nil {
		return nil, fault.InvalidField("timeZone", "these hours cannot be read; set them again")
	}
	slots, err := computeSlotsIn(av, loc, from, to)
	if err != nil {
		return nil, err
	}
	if len(slots) == 0 {
		return slots, nil
	}
	busy, err := s.busy(ctx, clinicianID, slots[0].Start, slots[len(slots)-1].End)
	if err != nil {
		return nil, err
	}
	return Free(slots, busy, s.now()), nil
}
