package fhir

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/httpx"
	"haven/internal/principal"
)

// Patient is a patient's demographics as FHIR: no clinical content (patient.demographics-read),
// which is why the front desk and billing may read it as they read the JSON API's.
type Patient struct {
	Head
	Identifier []Identifier   `json:"identifier,omitempty"`
	Name       []HumanName    `json:"name,omitempty"`
	Telecom    []ContactPoint `json:"telecom,omitempty"`
	BirthDate  string         `json:"birthDate,omitempty"`
}

// patientIDSystem is the identifier system of Haven's patient identifiers: the same value as
// Patient.id, stated as a business identifier so a connected system can keep it beside its own.
func (f *FHIR) patientIDSystem() string { return patientIDSystemAt(f.d.BaseURL) }

// patientIDSystemAt is the patient identifier system of the installation at site.
func patientIDSystemAt(site string) string { return site + "/fhir/patient-id" }

// patientOf maps demographics to a Patient. It has no meta: Haven does not record when
// demographics last changed, and a registration date would claim a lastUpdated it is not. Haven keeps one name as the patient wrote it; its
// last word is given as the family name and the others as given names, which is right for
// most names and is why text carries the whole name as written.
// site is the installation's base URL (services.Services.BaseURL), which names the identifier
// system.
func patientOf(site string, p clinical.Patient) *Patient {
	out := &Patient{Head: NewHead("Patient", p.ID, time.Time{}, 0)}
	out.Identifier = []Identifier{{Use: "usual", System: patientIDSystemAt(site), Value: p.ID}}
	if p.Unreadable {
		return out
	}
	if name := strings.TrimSpace(p.Name); name != "" {
		hn := HumanName{Use: "official", Text: name}
		if words := strings.Fields(name); len(words) > 1 {
			hn.Family, hn.Given = words[len(words)-1], words[:len(words)-1]
		} else {
			hn.Family = name
		}
		out.Name = []HumanName{hn}
	}
	if p.Phone != "" {
		out.Telecom = append(out.Telecom, ContactPoint{System: "phone", Value: p.Phone})
	}
	if p.Email != "" {
		out.Telecom = append(out.Telecom, ContactPoint{System: "email", Value: p.Email})
	}
	if _, err := time.Parse(time.DateOnly, p.BirthDate); err == nil {
		out.BirthDate = p.BirthDate
	}
	return out
}

func (f *FHIR) patientType() *Type {
	return &Type{
		Name:          "Patient",
		NoLastUpdated: true,
		Profile:       "http://hl7.org/fhir/StructureDefinition/Patient",
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			p, err := f.d.Records.Demographics(ctx, c.By, id, c.Origin)
			if err != nil {
				return nil, err
			}
			return patientOf(f.d.BaseURL, p), nil
		},
		Search:     f.searchPatients,
		SearchPage: f.searchPatientsPage,
		Params: []Param{
			{Name: "name", Type: "string", Doc: "any part of the name, or its beginning, through Haven's blind indexes; several words must all match"},
			{Name: "birthdate", Type: "date", Doc: "the whole birth date, YYYY-MM-DD (eq only: the blind index matches whole dates)"},
			{Name: "identifier", Type: "token", Doc: "Haven's patient identifier (system " + "<base>/fhir/patient-id" + "), the same as the id"},
		},
	}
}

// searchPatients finds patients through the blind-index search (clinical Records.Search),
// which discloses only the patients in the caller's care and records one entry per patient
// shown. A patient searches their own record only. A search naming no criterion is refused
// for staff and systems: it would list the clinic.
func (f *FHIR) searchPatients(ctx context.Context, c Caller, q Query) ([]Resource, error) {
	if q.Has("_lastUpdated") {
		// Said, not answered empty: a client syncing by it would conclude nothing changed.
		return nil, ErrInvalid("_lastUpdated is not supported for Patient: Haven does not record when demographics change")
	}
	crit, err := f.patientCriteria(q)
	if err != nil {
		return nil, err
	}
	var ps []clinical.Patient
	switch {
	case c.By.Role == principal.Patient:
		p, err := f.d.Records.Demographics(ctx, c.By, c.By.PatientID, c.Origin)
		if err != nil {
			return nil, err
		}
		// Their own record, reached without the blind index: its name is checked here.
		if len(crit.names) == 0 || slices.ContainsFunc(crit.names, func(n string) bool { return nameMatches(p.Name, n) }) {
			ps = []clinical.Patient{p}
		}
	case len(crit.names) > 0:
		ps, err = f.searchNames(ctx, c, crit.names)
		err = searchInvalid("name", err)
	case crit.birthDate != "":
		ps, err = f.d.Records.Search(ctx, c.By, clinical.ByBirthDate, crit.birthDate, c.Origin)
		err = searchInvalid("birthdate", err)
	case crit.ids != nil:
		ps, err = f.d.Records.PatientsByID(ctx, c.By, crit.ids, c.Origin)
		err = searchInvalid("_id", err)
	default:
		return nil, ErrInvalid("search patients by name, birthdate, identifier or _id")
	}
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, p := range ps {
		if crit.match(p) {
			out = append(out, patientOf(f.d.BaseURL, p))
		}
	}
	return out, nil
}

// searchPatientsPage answers a staff member's or a system's search by one name or one birth
// date alone, the common case, one page at a time: the domain discloses, and records, only
// the patients on the page. Any other search (several alternatives, combined criteria, a
// patient's own) is answered whole by searchPatients.
func (f *FHIR) searchPatientsPage(ctx context.Context, c Caller, q Query, offset, count int) ([]Resource, int, bool, error) {
	if c.By.Role == principal.Patient || q.Has("_lastUpdated") || q.Has("_id") || q.Has("identifier") {
		return nil, 0, false, nil
	}
	crit, err := f.patientCriteria(q)
	if err != nil {
		return nil, 0, false, err
	}
	var kind clinical.SearchKind
	var value, param string
	switch {
	case len(crit.names) == 1 && crit.birthDate == "":
		value, param = crit.names[0], "name"
	case len(crit.names) == 0 && crit.birthDate != "":
		kind, value, param = clinical.ByBirthDate, crit.birthDate, "birthdate"
	default:
		return nil, 0, false, nil
	}
	page, err := f.d.Records.SearchWindow(ctx, c.By, kind, value, clinical.Window{Offset: offset, Limit: count}, c.Origin)
	if err != nil {
		return nil, 0, false, searchInvalid(param, err)
	}
	out := make([]Resource, len(page.Patients))
	for i, p := range page.Patients {
		out[i] = patientOf(f.d.BaseURL, p)
	}
	return out, page.Total, true, nil
}

// searchInvalid is a search the domain found invalid (too many words, a value it cannot
// index) as FHIR answers a bad search, a 400 naming the parameter rather than the JSON API's
// field.
func searchInvalid(param string, err error) error {
	if fe := fault.As(err); fe != nil && fe.Kind == fault.Invalid {
		return &httpx.Error{Status: http.StatusBadRequest, Message: param + ": " + fe.Message, Err: err}
	}
	return err
}

// searchNames runs one blind-index search per alternative name (name=ann,bob) and joins
// their answers; repeated name parameters must all match, as the words of one search do.
func (f *FHIR) searchNames(ctx context.Context, c Caller, names []string) ([]clinical.Patient, error) {
	var out []clinical.Patient
	for _, n := range names {
		ps, err := f.d.Records.Search(ctx, c.By, "", n, c.Origin)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if !slices.ContainsFunc(out, func(o clinical.Patient) bool { return o.ID == p.ID }) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// patientCriteria are a Patient search's criteria, read once.
type patientCriteria struct {
	names     []string // alternatives, each a whole blind-index search
	birthDate string
	ids       []string // from identifier and _id: every one must hold (nil: no such criterion)
	idTerms   [][]string
}

func (f *FHIR) patientCriteria(q Query) (patientCriteria, error) {
	var crit patientCriteria
	names := q.Values("name")
	switch {
	case len(names) == 1:
		crit.names = names[0]
	case len(names) > 1:
		var words []string
		for _, or := range names {
			if len(or) != 1 {
				return crit, ErrInvalid("combine several name parameters, or alternatives separated by commas, not both")
			}
			words = append(words, or[0])
		}
		crit.names = []string{strings.Join(words, " ")}
	}
	// The blind-index search also reads phone numbers, dates and e-mail addresses from its
	// words: a name parameter is kept to names, as FHIR defines it.
	for _, n := range crit.names {
		if strings.ContainsAny(n, "0123456789@+") {
			return crit, ErrInvalid("name matches names only: search a birth date with birthdate, a patient's id with identifier or _id")
		}
	}
	for _, or := range q.Values("birthdate") {
		if len(or) != 1 || crit.birthDate != "" {
			return crit, ErrInvalid("search by one birth date at a time")
		}
		v := strings.TrimPrefix(or[0], "eq")
		if _, err := time.Parse(time.DateOnly, v); err != nil {
			return crit, ErrInvalid("birthdate matches a whole date only: write birthdate=YYYY-MM-DD (Haven's blind index cannot compare dates)")
		}
		crit.birthDate = v
	}
	for _, or := range q.Tokens("identifier") {
		var term []string
		for _, t := range or {
			if t.AnySystem || t.System == f.patientIDSystem() {
				term = append(term, t.Code)
			}
		}
		crit.idTerms = append(crit.idTerms, term)
	}
	crit.idTerms = append(crit.idTerms, q.Values("_id")...)
	for i, term := range crit.idTerms {
		if i == 0 {
			crit.ids = slices.Clone(term)
			continue
		}
		crit.ids = slices.DeleteFunc(crit.ids, func(id string) bool { return !slices.Contains(term, id) })
	}
	if crit.ids == nil && len(crit.idTerms) > 0 {
		crit.ids = []string{}
	}
	return crit, nil
}

// match applies the criteria a search did not run on: the blind index answered one of them,
// and the name, if named (the search matched it).
func (crit patientCriteria) match(p clinical.Patient) bool {
	if crit.birthDate != "" && p.BirthDate != crit.birthDate {
		return false
	}
	for _, term := range crit.idTerms {
		if !slices.Contains(term, p.ID) {
			return false
		}
	}
	return true
}

// nameMatches reports whether every word of query begins some word of name, case aside: the
// blind-index search's rule, for a patient's own record, which they reach without it.
func nameMatches(name, query string) bool {
	words := strings.Fields(strings.ToLower(name))
	for _, q := range strings.Fields(strings.ToLower(query)) {
		if !slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, q) }) {
			return false
		}
	}
	return true
}
