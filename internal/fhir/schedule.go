package fhir

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"haven/internal/fault"
	"haven/internal/visits"
)

// Schedule is one clinician's bookable time: one per clinician, with the clinician's id.
type Schedule struct {
	Head
	Active          bool        `json:"active"`
	Actor           []Reference `json:"actor"`
	PlanningHorizon *Period     `json:"planningHorizon,omitempty"`
}

// Slot is one free time of a schedule. Only free slots exist: Haven computes them from the
// clinician's hours less the booked appointments, so a booked time is an Appointment, not a
// busy Slot. Its id is the clinician's id and the start in Unix seconds: <clinician>.<seconds>.
type Slot struct {
	Head
	Schedule *Reference `json:"schedule"`
	Status   string     `json:"status"`
	Start    string     `json:"start"`
	End      string     `json:"end"`
}

// Slot search bounds: without a start, the next defaultSlotDays; never more than
// visits.MaxSlotWindow at once.
const defaultSlotDays = 14

func (f *FHIR) schedule(c visits.Clinician) *Schedule {
	ref := Reference{Reference: "Practitioner/" + c.ID, Display: c.Name}
	now := f.d.Visits.Now()
	return &Schedule{Head: NewHead("Schedule", c.ID, time.Time{}, 0), Active: true, Actor: []Reference{ref},
		PlanningHorizon: &Period{Start: Instant(now), End: Instant(now.Add(f.d.Visits.Policy().Horizon))}}
}

func (f *FHIR) scheduleType() *Type {
	return &Type{
		Name:          "Schedule",
		NoLastUpdated: true,
		Params: []Param{
			{Name: "actor", Type: "reference", Doc: "the clinician whose schedule it is (Practitioner/<id>)"},
		},
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			cs, err := f.d.Visits.Bookable(ctx, c.By, "Availability", c.Origin)
			if err != nil {
				return nil, err
			}
			cl, err := clinician(cs, id)
			if err != nil {
				return nil, err
			}
			return f.schedule(cl), nil
		},
		Search: func(ctx context.Context, c Caller, q Query) ([]Resource, error) {
			who, named, err := q.Reference("actor", "Practitioner")
			if err != nil {
				return nil, err
			}
			cs, err := f.d.Visits.Bookable(ctx, c.By, "Availability", c.Origin)
			if err != nil {
				return nil, err
			}
			out := []Resource{}
			for _, cl := range cs {
				if !named || cl.ID == who {
					out = append(out, f.schedule(cl))
				}
			}
			return out, nil
		},
	}
}

// slotID is a slot's FHIR id; parseSlotID reads one back.
func slotID(clinicianID string, start time.Time) string {
	return clinicianID + "." + strconv.FormatInt(start.Unix(), 10)
}

func parseSlotID(id string) (clinicianID string, start time.Time, ok bool) {
	i := strings.LastIndexByte(id, '.')
	if i <= 0 || i == len(id)-1 {
		return "", time.Time{}, false
	}
	secs, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil || secs < 0 || secs > 253402300799 { // up to 9999-12-31
		return "", time.Time{}, false
	}
	return id[:i], time.Unix(secs, 0).UTC(), true
}

func slot(clinicianID string, s visits.Slot) *Slot {
	return &Slot{Head: NewHead("Slot", slotID(clinicianID, s.Start), time.Time{}, 0), Schedule: Ref("Schedule", clinicianID),
		Status: "free", Start: Instant(s.Start), End: Instant(s.End)}
}

func (f *FHIR) slotType() *Type {
	return &Type{
		Name:          "Slot",
		NoLastUpdated: true,
		Params: []Param{
			{Name: "schedule", Type: "reference", Doc: "the clinician's schedule (Schedule/<id>); without it, the slots of every clinician the caller may book"},
			{Name: "start", Type: "date", Doc: fmt.Sprintf("when the slot starts, with a prefix (ge2026-12-01); without it the next %d days, at most %d days at once", defaultSlotDays, int(visits.MaxSlotWindow/(24*time.Hour)))},
			{Name: "status", Type: "token", Doc: "free (the only status Haven's slots have)"},
		},
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			cid, start, ok := parseSlotID(id)
			if !ok {
				return nil, errNoSlot
			}
			ss, err := f.d.Visits.OpenSlots(ctx, c.By, cid, start, start.Add(time.Second), c.Origin)
			if err != nil {
				return nil, err
			}
			for _, s := range ss {
				if s.Start.Equal(start) {
					return slot(cid, s), nil
				}
			}
			return nil, errNoSlot
		},
		Search: f.searchSlots,
	}
}

func (f *FHIR) searchSlots(ctx context.Context, c Caller, q Query) ([]Resource, error) {
	who, named, err := q.Reference("schedule", "Schedule")
	if err != nil {
		return nil, err
	}
	starts, err := q.Dates("start")
	if err != nil {
		return nil, err
	}
	for _, or := range q.Tokens("status") {
		free := false
		for _, t := range or {
			free = free || t.Match("http://hl7.org/fhir/slotstatus", "free")
		}
		if !free {
			return []Resource{}, nil
		}
	}
	now := f.d.Visits.Now()
	from, to := window(starts, now, now.AddDate(0, 0, defaultSlotDays), visits.MaxSlotWindow)
	if from.Before(now) {
		from = now
	}
	if !from.Before(to) {
		return []Resource{}, nil
	}
	ids := []string{who}
	if !named {
		cs, err := f.d.Visits.Bookable(ctx, c.By, "Slot", c.Origin)
		if err != nil {
			return nil, err
		}
		ids = ids[:0]
		for _, cl := range cs {
			ids = append(ids, cl.ID)
		}
	}
	out := []Resource{}
	for _, id := range ids {
		ss, err := f.d.Visits.OpenSlots(ctx, c.By, id, from, to, c.Origin)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			if MatchDates(starts, s.Start, time.Time{}) {
				out = append(out, slot(id, s))
			}
		}
	}
	return out, nil
}

// window is the period a date search covers: the latest lower bound and the earliest upper
// bound its AND terms of one value give (ge and eq from the value's start, gt and sa from its
// end; le and eq to its end, lt and eb to its start), else def; at most longest long (a
// window longer is cut from its start). The terms are matched against each resource
// afterwards, so the window only bounds the work.
func window(terms [][]DateParam, defFrom, defTo time.Time, longest time.Duration) (from, to time.Time) {
	var lo, hi time.Time
	later := func(t time.Time) {
		if lo.IsZero() || t.After(lo) {
			lo = t
		}
	}
	earlier := func(t time.Time) {
		if hi.IsZero() || t.Before(hi) {
			hi = t
		}
	}
	for _, or := range terms {
		if len(or) != 1 {
			continue
		}
		switch d := or[0]; d.Prefix {
		case "eq":
			later(d.Lo)
			earlier(d.Hi)
		case "ge":
			later(d.Lo)
		case "gt", "sa":
			later(d.Hi)
		case "le":
			earlier(d.Hi)
		case "lt", "eb":
			earlier(d.Lo)
		}
	}
	switch {
	case lo.IsZero() && hi.IsZero():
		lo, hi = defFrom, defTo
	case lo.IsZero():
		lo = hi.Add(-defTo.Sub(defFrom))
	case hi.IsZero():
		hi = lo.Add(defTo.Sub(defFrom))
	}
	if hi.Sub(lo) > longest {
		hi = lo.Add(longest)
	}
	return lo, hi
}

// errNoSlot answers a Slot id that names no free slot (taken, past, or never one).
var errNoSlot = fault.New(fault.NotFound, "no free slot has this id; search Slot for the free times")
