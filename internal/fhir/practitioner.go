package fhir

import (
	"context"
	"strings"
	"time"

	"haven/internal/visits"
)

// Practitioner is a clinician: their account id and the name the clinic shows patients. No
// e-mail or telephone: the schedule discloses neither to the people who book.
type Practitioner struct {
	Head
	Active bool        `json:"active"`
	Name   []HumanName `json:"name,omitempty"`
}

// PractitionerRole is a clinician's one role at the clinic: bookable, with their weekly hours
// when they have set them.
type PractitionerRole struct {
	Head
	Active        bool            `json:"active"`
	Practitioner  *Reference      `json:"practitioner"`
	AvailableTime []AvailableTime `json:"availableTime,omitempty"`
	// AvailabilityExceptions says which zone the hours are in, and that dated exceptions
	// (time off, extra hours) are in the Schedule's slots.
	AvailabilityExceptions string `json:"availabilityExceptions,omitempty"`
}

// AvailableTime is one weekly range of a PractitionerRole, in the clinician's own zone (FHIR
// times carry none; the Schedule's slots are instants).
type AvailableTime struct {
	DaysOfWeek         []string `json:"daysOfWeek,omitempty"`
	AvailableStartTime string   `json:"availableStartTime,omitempty"`
	AvailableEndTime   string   `json:"availableEndTime,omitempty"`
}

func practitioner(c visits.Clinician) *Practitioner {
	p := &Practitioner{Head: NewHead("Practitioner", c.ID, time.Time{}, 0), Active: true}
	if c.Name != "" {
		p.Name = []HumanName{{Text: c.Name}}
	}
	return p
}

// clinician finds one clinician the caller may book (as Clinicians lists them), or NotFound.
func clinician(cs []visits.Clinician, id string) (visits.Clinician, error) {
	for _, c := range cs {
		if c.ID == id {
			return c, nil
		}
	}
	return visits.Clinician{}, visits.ErrNoClinician
}

// matchName is FHIR's string search on a name: case-insensitive, from the start of the name
// or of any of its words.
func matchName(terms [][]string, name string) bool {
	name = strings.ToLower(name)
	for _, or := range terms {
		hit := false
		for _, v := range or {
			v = strings.ToLower(v)
			if strings.HasPrefix(name, v) || strings.Contains(name, " "+v) {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

func (f *FHIR) practitionerType() *Type {
	return &Type{
		Name:          "Practitioner",
		NoLastUpdated: true,
		Params: []Param{
			{Name: "name", Type: "string", Doc: "the clinician's name, from its start or the start of any word, case-insensitive"},
		},
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			cs, err := f.d.Visits.Clinicians(ctx, c.By, c.Origin)
			if err != nil {
				return nil, err
			}
			cl, err := clinician(cs, id)
			if err != nil {
				return nil, err
			}
			return practitioner(cl), nil
		},
		Search: func(ctx context.Context, c Caller, q Query) ([]Resource, error) {
			cs, err := f.d.Visits.Clinicians(ctx, c.By, c.Origin)
			if err != nil {
				return nil, err
			}
			out := []Resource{}
			for _, cl := range cs {
				if matchName(q.Values("name"), cl.Name) {
					out = append(out, practitioner(cl))
				}
			}
			return out, nil
		},
	}
}

func (f *FHIR) practitionerRoleType() *Type {
	return &Type{
		Name:          "PractitionerRole",
		NoLastUpdated: true,
		Params: []Param{
			{Name: "practitioner", Type: "reference", Doc: "the clinician (Practitioner/<id>)"},
		},
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			rs, err := f.d.Visits.Roles(ctx, c.By, c.Origin)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				if r.ID == id {
					return practitionerRole(r), nil
				}
			}
			return nil, visits.ErrNoClinician
		},
		Search: func(ctx context.Context, c Caller, q Query) ([]Resource, error) {
			who, named, err := q.Reference("practitioner", "Practitioner")
			if err != nil {
				return nil, err
			}
			rs, err := f.d.Visits.Roles(ctx, c.By, c.Origin)
			if err != nil {
				return nil, err
			}
			out := []Resource{}
			for _, r := range rs {
				if !named || r.ID == who {
					out = append(out, practitionerRole(r))
				}
			}
			return out, nil
		},
	}
}

// practitionerRole is a clinician's role, with their weekly hours if they have set some.
func practitionerRole(cl visits.Role) *PractitionerRole {
	r := &PractitionerRole{Head: NewHead("PractitionerRole", cl.ID, time.Time{}, 0), Active: true, Practitioner: Ref("Practitioner", cl.ID)}
	r.Practitioner.Display = cl.Name
	if cl.Hours == nil {
		return r
	}
	r.AvailableTime = availableTimes(cl.Hours.Weekly)
	if len(r.AvailableTime) > 0 {
		r.AvailabilityExceptions = "Hours in the " + cl.Hours.TimeZone + " time zone; time off and extra hours are in the schedule's free slots."
	}
	return r
}

// availableTimes are weekly hours as FHIR writes them: a FHIR time cannot be 24:00, so a
// range to midnight ends at 23:59:59.
func availableTimes(hs []visits.Hours) []AvailableTime {
	var out []AvailableTime
	for _, h := range hs {
		end := h.End + ":00"
		if h.End == "24:00" {
			end = "23:59:59"
		}
		out = append(out, AvailableTime{DaysOfWeek: []string{h.Day}, AvailableStartTime: h.Start + ":00", AvailableEndTime: end})
	}
	return out
}
