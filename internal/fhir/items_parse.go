package fhir

import (
	"strings"

	"haven/internal/clinical"
)

// The body parsers of the writable item types. Each reads what Haven keeps of the resource
// and refuses, naming the element, what it cannot keep faithfully (a unit it does not record,
// an observation it does not measure); the domain then validates the values as for the JSON
// API. Each has a fuzz target (items_fuzz_test.go).

// parseObservation reads an Observation: a vital Haven records (by its LOINC code), its value
// or blood pressure's components, when it was measured, and a note.
func parseObservation(body []byte) (itemBody, error) {
	var w struct {
		ID                string           `json:"id"`
		Status            string           `json:"status"`
		Code              *CodeableConcept `json:"code"`
		Subject           *Reference       `json:"subject"`
		EffectiveDateTime string           `json:"effectiveDateTime"`
		ValueQuantity     *Quantity        `json:"valueQuantity"`
		Component         []struct {
			Code          *CodeableConcept `json:"code"`
			ValueQuantity *Quantity        `json:"valueQuantity"`
		} `json:"component"`
		Note []Annotation `json:"note"`
	}
	if err := decodeBody(body, "Observation", &w); err != nil {
		return itemBody{}, err
	}
	b := itemBody{id: w.ID}
	switch w.Status {
	case "final", "amended", "corrected":
		b.status = clinical.StatusCompleted
	case "entered-in-error":
		b.status = clinical.StatusEnteredInError
	default:
		return b, invalid("Observation.status", "Haven records final observations: final, amended or corrected, or entered-in-error to withdraw one")
	}
	var err error
	if b.patientID, err = patientRef("Observation.subject", w.Subject); err != nil {
		return b, err
	}
	v, ok := vitalOf(w.Code)
	if !ok {
		return b, invalid("Observation.code", "use a LOINC code of a vital Haven records: "+vitalCodes())
	}
	b.in.Code = &clinical.Code{System: SystemLOINC, Code: v.Code}
	if b.in.EffectiveAt, err = dateTime("Observation.effectiveDateTime", w.EffectiveDateTime); err != nil {
		return b, err
	}
	if q := w.ValueQuantity; q != nil {
		if q.Value == nil {
			return b, invalid("Observation.valueQuantity.value", "give the measured value")
		}
		unit, err := ucumUnit("Observation.valueQuantity", q, v.Unit)
		if err != nil {
			return b, err
		}
		b.in.Value, b.in.Unit = q.Value, unit
	}
	for _, c := range w.Component {
		el := "Observation.component"
		part, ok := vitalOf(c.Code)
		if !ok || !isPart(v, part.Code) {
			return b, invalid(el+".code", "a "+v.Name+" has no such component; use the LOINC codes of its parts")
		}
		if c.ValueQuantity == nil || c.ValueQuantity.Value == nil {
			return b, invalid(el+".valueQuantity", "give each component's value")
		}
		if _, err := ucumUnit(el+".valueQuantity", c.ValueQuantity, v.Unit); err != nil {
			return b, err
		}
		b.in.Components = append(b.in.Components, clinical.Component{Code: clinical.Code{System: SystemLOINC, Code: part.Code},
			Value: *c.ValueQuantity.Value, Unit: v.Unit})
	}
	b.in.Note = notes(w.Note)
	return b, nil
}

// vitalOf finds the vital (or, for a component, the part, as a Vital with its code) a
// concept's LOINC coding names.
func vitalOf(cc *CodeableConcept) (clinical.Vital, bool) {
	if cc == nil {
		return clinical.Vital{}, false
	}
	for _, c := range cc.Coding {
		if c.System != SystemLOINC && c.System != "" {
			continue
		}
		if v, ok := clinical.VitalByCode(c.Code); ok {
			return v, true
		}
		for _, v := range clinical.Vitals() {
			for _, p := range v.Components {
				if p.Code == c.Code {
					return clinical.Vital{Code: p.Code, Name: p.Name, Unit: v.Unit}, true
				}
			}
		}
	}
	return clinical.Vital{}, false
}

func isPart(v clinical.Vital, code string) bool {
	for _, p := range v.Components {
		if p.Code == code {
			return true
		}
	}
	return false
}

func vitalCodes() string {
	var out []string
	for _, v := range clinical.Vitals() {
		out = append(out, v.Code+" ("+v.Name+")")
	}
	return strings.Join(out, ", ")
}

// ucumUnit checks a quantity is in want, the UCUM unit Haven records the vital in.
func ucumUnit(element string, q *Quantity, want string) (string, error) {
	if q.System != "" && q.System != SystemUCUM {
		return "", invalid(element+".system", "use UCUM units ("+SystemUCUM+")")
	}
	unit := q.Code
	if unit == "" {
		unit = q.Unit
	}
	if unit != "" && unit != want {
		return "", invalid(element+".code", "record this measurement in "+want)
	}
	return want, nil
}

// parseCondition reads a Condition: the problem's name and code, its clinical status (or
// entered-in-error as its verification status), its onset and a note.
func parseCondition(body []byte) (itemBody, error) {
	var w struct {
		ID                 string           `json:"id"`
		ClinicalStatus     *CodeableConcept `json:"clinicalStatus"`
		VerificationStatus *CodeableConcept `json:"verificationStatus"`
		Code               *CodeableConcept `json:"code"`
		Subject            *Reference       `json:"subject"`
		OnsetDateTime      string           `json:"onsetDateTime"`
		Note               []Annotation     `json:"note"`
	}
	if err := decodeBody(body, "Condition", &w); err != nil {
		return itemBody{}, err
	}
	b := itemBody{id: w.ID}
	var err error
	if b.patientID, err = patientRef("Condition.subject", w.Subject); err != nil {
		return b, err
	}
	switch {
	case statusCode(w.VerificationStatus, SystemCondVer) == "entered-in-error":
		b.status = clinical.StatusEnteredInError
	default:
		switch statusCode(w.ClinicalStatus, SystemCondClin) {
		case "active", "recurrence", "relapse", "":
			b.status = clinical.StatusActive
		case "inactive", "remission", "resolved":
			b.status = clinical.StatusResolved
		default:
			return b, invalid("Condition.clinicalStatus", "use a code of "+SystemCondClin)
		}
	}
	text, code := conceptOf(w.Code)
	if text == "" {
		return b, invalid("Condition.code", "name the problem in code.text, or code it with a display")
	}
	b.in.Text, b.in.Code = text, code
	if b.in.EffectiveAt, err = dateTime("Condition.onsetDateTime", w.OnsetDateTime); err != nil {
		return b, err
	}
	b.in.Note = notes(w.Note)
	return b, nil
}

// parseAllergy reads an AllergyIntolerance: the substance's name and code, its category, its
// clinical status (or entered-in-error), the first reaction's manifestation and severity, its
// onset and a note.
func parseAllergy(body []byte) (itemBody, error) {
	var w struct {
		ID                 string           `json:"id"`
		ClinicalStatus     *CodeableConcept `json:"clinicalStatus"`
		VerificationStatus *CodeableConcept `json:"verificationStatus"`
		Category           []string         `json:"category"`
		Code               *CodeableConcept `json:"code"`
		Patient            *Reference       `json:"patient"`
		OnsetDateTime      string           `json:"onsetDateTime"`
		Note               []Annotation     `json:"note"`
		Reaction           []struct {
			Manifestation []CodeableConcept `json:"manifestation"`
			Severity      string            `json:"severity"`
		} `json:"reaction"`
	}
	if err := decodeBody(body, "AllergyIntolerance", &w); err != nil {
		return itemBody{}, err
	}
	b := itemBody{id: w.ID}
	var err error
	if b.patientID, err = patientRef("AllergyIntolerance.patient", w.Patient); err != nil {
		return b, err
	}
	switch {
	case statusCode(w.VerificationStatus, systemAllVer) == "entered-in-error":
		b.status = clinical.StatusEnteredInError
	default:
		switch statusCode(w.ClinicalStatus, SystemAllClin) {
		case "active", "":
			b.status = clinical.StatusActive
		case "inactive", "resolved":
			b.status = clinical.StatusInactive
		default:
			return b, invalid("AllergyIntolerance.clinicalStatus", "use a code of "+SystemAllClin)
		}
	}
	text, code := conceptOf(w.Code)
	if text == "" {
		return b, invalid("AllergyIntolerance.code", "name the substance in code.text, or code it with a display")
	}
	b.in.Text, b.in.Code = text, code
	switch len(w.Category) {
	case 0:
	case 1:
		b.in.Category = w.Category[0]
	default:
		return b, invalid("AllergyIntolerance.category", "Haven keeps one category: medication, food, environment or biologic")
	}
	if len(w.Reaction) > 1 {
		return b, invalid("AllergyIntolerance.reaction", "Haven keeps one reaction: describe it in one manifestation")
	}
	for _, r := range w.Reaction {
		var words []string
		for _, m := range r.Manifestation {
			if t, _ := conceptOf(&m); t != "" {
				words = append(words, t)
			}
		}
		b.in.Reaction, b.in.Severity = strings.Join(words, ", "), r.Severity
	}
	if b.in.EffectiveAt, err = dateTime("AllergyIntolerance.onsetDateTime", w.OnsetDateTime); err != nil {
		return b, err
	}
	b.in.Note = notes(w.Note)
	return b, nil
}
