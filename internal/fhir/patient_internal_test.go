package fhir

import (
	"net/url"
	"slices"
	"testing"

	"haven/internal/clinical"
	"haven/internal/services"
)

// TestPatientOf: Haven's one name as written becomes text, with its last word as the family
// name; an unreadable record shows its id alone.
func TestPatientOf(t *testing.T) {
	f := &FHIR{d: services.Services{BaseURL: "https://h.test"}}
	cases := []struct {
		in     clinical.Patient
		family string
		given  []string
		birth  string
	}{
		{clinical.Patient{ID: "a", Name: "Ada Quill Lovelace", BirthDate: "1980-02-29"}, "Lovelace", []string{"Ada", "Quill"}, "1980-02-29"},
		{clinical.Patient{ID: "b", Name: "Madonna", BirthDate: "not a date"}, "Madonna", nil, ""},
		{clinical.Patient{ID: "c", Unreadable: true, Name: "hidden"}, "", nil, ""},
	}
	for _, c := range cases {
		p := patientOf(f.d.BaseURL, c.in)
		var family string
		var given []string
		if len(p.Name) > 0 {
			family, given = p.Name[0].Family, p.Name[0].Given
		}
		if family != c.family || !slices.Equal(given, c.given) || p.BirthDate != c.birth || p.Identifier[0].Value != c.in.ID ||
			p.Identifier[0].System != "https://h.test/fhir/patient-id" {
			t.Errorf("patientOf(%+v) = %+v", c.in, p)
		}
	}
}

// TestPatientCriteria: what each Patient search reads, and what it refuses with a 400.
func TestPatientCriteria(t *testing.T) {
	f := &FHIR{d: services.Services{BaseURL: "https://h.test"}}
	cases := []struct {
		query   string
		names   []string
		birth   string
		ids     []string
		refused bool
	}{
		{query: "name=ada", names: []string{"ada"}},
		{query: "name=ada,bob", names: []string{"ada", "bob"}},
		{query: "name=ada&name=lovelace", names: []string{"ada lovelace"}},
		{query: "name=ada,bob&name=lovelace", refused: true},
		{query: "name=1980-02-29", refused: true},
		{query: "birthdate=1980-02-29", birth: "1980-02-29"},
		{query: "birthdate=eq1980-02-29", birth: "1980-02-29"},
		{query: "birthdate=ge1980-02-29", refused: true},
		{query: "birthdate=1980-02", refused: true},
		{query: "birthdate=1980-02-29&birthdate=1980-03-01", refused: true},
		{query: "identifier=https://h.test/fhir/patient-id|p1", ids: []string{"p1"}},
		{query: "identifier=p1,p2&_id=p2", ids: []string{"p2"}},
		{query: "identifier=http://other|p1", ids: []string{}},
		{query: "_id=p1,p2", ids: []string{"p1", "p2"}},
	}
	for _, c := range cases {
		v, _ := url.ParseQuery(c.query)
		crit, err := f.patientCriteria(NewQuery(v))
		if (err != nil) != c.refused {
			t.Errorf("%s: err = %v, refused want %v", c.query, err, c.refused)
			continue
		}
		if c.refused {
			continue
		}
		if !slices.Equal(crit.names, c.names) || crit.birthDate != c.birth || !slices.Equal(crit.ids, c.ids) || (crit.ids == nil) != (c.ids == nil) {
			t.Errorf("%s: criteria = %+v", c.query, crit)
		}
	}
}

// TestPatientRefAndDateTime: the references and dates a body may carry.
func TestPatientRefAndDateTime(t *testing.T) {
	for ref, want := range map[string]string{"Patient/p1": "p1", "https://h.test/fhir/R4/Patient/p1": "p1", "Patient/": "", "Group/p1": "",
		"Patient/p1/_history/2": "", "XPatient/p1": "", "": ""} {
		got, err := patientRef("subject", &Reference{Reference: ref})
		if got != want || (err == nil) != (want != "") {
			t.Errorf("patientRef(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
	for v, ok := range map[string]bool{"2026": true, "2026-11-24": true, "2026-11-24T08:00:00Z": true, "2026-11-24T08:00:00+01:00": true,
		"ge2026": false, "24/11/2026": false, "2026-11-24T08:00": false} {
		if _, err := dateTime("effectiveDateTime", v); (err == nil) != ok {
			t.Errorf("dateTime(%q) err = %v, want ok %v", v, err, ok)
		}
	}
}
