package fhir

import (
	"context"
	"time"

	"haven/internal/clinical"
	"haven/internal/principal"
)

// The structured record (clinical items) as FHIR: Condition, AllergyIntolerance,
// MedicationStatement, Observation and Immunization. One itemSpec per type says how its items
// map to the resource and which search parameters it understands; itemType builds the
// registry entry from it, so the five types read, search and page alike.

// itemSpec is one record-item resource type.
type itemSpec struct {
	name    string
	kind    clinical.ItemKind
	profile string
	// patientParams name the patient: "patient", and for some types "subject" too.
	patientParams []string
	params        []itemParam
	toFHIR        func(it clinical.Item) Resource
	// parse reads a create or update body (nil: the type is read-only).
	parse func(body []byte) (itemBody, error)
}

// itemParam is a search parameter matched against an item.
type itemParam struct {
	Param
	match func(q Query, it clinical.Item) (bool, error)
}

// tokenParam matches a token parameter against the codings codes returns.
func tokenParam(name, doc string, codes func(clinical.Item) []Coding) itemParam {
	return itemParam{Param{Name: name, Type: "token", Doc: doc}, func(q Query, it clinical.Item) (bool, error) {
		return MatchTokens(q.Tokens(name), codes(it)...), nil
	}}
}

// dateParam matches a date parameter, with its prefixes, against the instant at returns.
func dateParam(name, doc string, at func(clinical.Item) time.Time) itemParam {
	return itemParam{Param{Name: name, Type: "date", Doc: doc}, func(q Query, it clinical.Item) (bool, error) {
		terms, err := q.Dates(name)
		if err != nil {
			return false, err
		}
		return MatchDates(terms, at(it), time.Time{}), nil
	}}
}

func codeParam(name string) itemParam {
	return tokenParam(name, "the item's code (system|code, or code in any system)", func(it clinical.Item) []Coding {
		if it.Code == nil {
			return nil
		}
		return []Coding{{System: it.Code.System, Code: it.Code.Code}}
	})
}

func effective(it clinical.Item) time.Time { return it.EffectiveAt }
func recorded(it clinical.Item) time.Time  { return it.CreatedAt }

// itemType builds the registry entry of a record-item type.
func (f *FHIR) itemType(s itemSpec) *Type {
	t := &Type{
		Name:    s.name,
		Profile: s.profile,
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			it, err := f.d.Records.ItemByID(ctx, c.By, s.kind, id, c.Origin)
			if err != nil {
				return nil, err
			}
			return s.toFHIR(it), nil
		},
		Search: func(ctx context.Context, c Caller, q Query) ([]Resource, error) {
			return f.searchItems(ctx, c, s, q)
		},
		Everything: func(ctx context.Context, c Caller, patientID string) ([]Resource, error) {
			return f.itemsOf(ctx, c, s, patientID, Query{})
		},
	}
	for _, p := range s.patientParams {
		t.Params = append(t.Params, Param{Name: p, Type: "reference", Doc: "the patient (Patient/<id>)"})
	}
	for _, p := range s.params {
		t.Params = append(t.Params, p.Param)
	}
	if s.parse != nil {
		t.Create = func(ctx context.Context, c Caller, body []byte) (Resource, error) {
			return f.createItem(ctx, c, s, body)
		}
		t.Update = func(ctx context.Context, c Caller, id, version string, body []byte) (Resource, error) {
			return f.updateItem(ctx, c, s, id, version, body)
		}
	}
	return t
}

// searchItems answers a search of one patient's items. The patient must be named, except by a
// patient, whose own record it is: a search across every patient is not offered.
func (f *FHIR) searchItems(ctx context.Context, c Caller, s itemSpec, q Query) ([]Resource, error) {
	patientID := ""
	for _, name := range s.patientParams {
		if vs := q.Values(name); len(vs) > 1 || (len(vs) == 1 && len(vs[0]) > 1) {
			return nil, ErrInvalid(name + " names one patient")
		}
		id, ok, err := q.Reference(name, "Patient")
		if err != nil {
			return nil, err
		}
		if ok && patientID != "" && id != patientID {
			return nil, nil // two patients: nothing is both
		}
		if ok {
			patientID = id
		}
	}
	if patientID == "" {
		if c.By.Role != principal.Patient {
			return nil, ErrInvalid("name the patient: " + s.name + "?" + s.patientParams[0] + "=Patient/<id>")
		}
		patientID = c.By.PatientID
	}
	return f.itemsOf(ctx, c, s, patientID, q)
}

// itemsOf reads a patient's items of s's kind (one guarded read of the record) and keeps those
// matching q's parameters.
func (f *FHIR) itemsOf(ctx context.Context, c Caller, s itemSpec, patientID string, q Query) ([]Resource, error) {
	items, err := f.d.Records.Items(ctx, c.By, patientID, s.kind, "", c.Origin)
	if err != nil {
		return nil, err
	}
	out := []Resource{}
next:
	for _, it := range items {
		for _, p := range s.params {
			if !q.Has(p.Name) {
				continue
			}
			ok, err := p.match(q, it)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue next
			}
		}
		out = append(out, s.toFHIR(it))
	}
	return out, nil
}

// itemHead is an item's resource head: its version and last change.
func itemHead(typ string, it clinical.Item, profile ...string) Head {
	h := NewHead(typ, it.ID, it.UpdatedAt, max(it.Version, 1))
	if len(profile) > 0 && profile[0] != "" {
		h.Meta.Profile = profile
	}
	return h
}

// itemConcept is an item's name and code as a CodeableConcept.
func itemConcept(it clinical.Item) CodeableConcept {
	cc := CodeableConcept{Text: it.Text}
	if it.Code != nil && it.Code.Code != "" {
		cc.Coding = []Coding{{System: it.Code.System, Code: it.Code.Code, Display: it.Code.Display}}
	}
	return cc
}

func itemNote(it clinical.Item) []Annotation {
	if it.Note == "" {
		return nil
	}
	return []Annotation{{Text: it.Note}}
}

// recorder is who recorded an item: the patient for their own readings, else the staff
// member by name. A connected system that recorded it has no account to name: left out.
func recorder(it clinical.Item) *Reference {
	if it.PatientReported {
		return Ref("Patient", it.PatientID)
	}
	if it.RecordedByName == "" {
		return nil
	}
	return &Reference{Reference: "Practitioner/" + it.RecordedBy, Display: it.RecordedByName}
}

func (f *FHIR) itemTypes() []*Type {
	var out []*Type
	for _, s := range []itemSpec{conditionSpec(), allergySpec(), medicationSpec(), observationSpec(), immunizationSpec()} {
		out = append(out, f.itemType(s))
	}
	return out
}
