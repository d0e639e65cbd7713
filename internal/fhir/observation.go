package fhir

import (
	"haven/internal/clinical"
)

// Observation is a vital sign: a LOINC code, a UCUM quantity or, for blood pressure, the
// systolic and diastolic components under the panel's code, as FHIR's vital-signs profile
// has them.
type Observation struct {
	Head
	Status            string                 `json:"status"`
	Category          []CodeableConcept      `json:"category,omitempty"`
	Code              CodeableConcept        `json:"code"`
	Subject           Reference              `json:"subject"`
	EffectiveDateTime string                 `json:"effectiveDateTime,omitempty"`
	Issued            string                 `json:"issued,omitempty"`
	Performer         []Reference            `json:"performer,omitempty"`
	ValueQuantity     *Quantity              `json:"valueQuantity,omitempty"`
	Note              []Annotation           `json:"note,omitempty"`
	Component         []ObservationComponent `json:"component,omitempty"`
}

// ObservationComponent is one value of a measurement with several (blood pressure's).
type ObservationComponent struct {
	Code          CodeableConcept `json:"code"`
	ValueQuantity *Quantity       `json:"valueQuantity,omitempty"`
}

// vitalProfiles are the FHIR vital-signs profiles Haven's vitals conform to (glucose is not
// a vital sign in FHIR's sense and claims none).
var vitalProfiles = map[string]string{
	clinical.CodeBloodPressure: "http://hl7.org/fhir/StructureDefinition/bp",
	clinical.CodeHeartRate:     "http://hl7.org/fhir/StructureDefinition/heartrate",
	clinical.CodeBodyWeight:    "http://hl7.org/fhir/StructureDefinition/bodyweight",
	clinical.CodeTemperature:   "http://hl7.org/fhir/StructureDefinition/bodytemp",
}

// componentDisplay names blood pressure's components as LOINC does.
var componentDisplay = map[string]string{
	clinical.CodeSystolic:  "Systolic blood pressure",
	clinical.CodeDiastolic: "Diastolic blood pressure",
}

func observationStatus(status string) string {
	if status == clinical.StatusEnteredInError {
		return "entered-in-error"
	}
	return "final"
}

func ucum(v float64, unit string) *Quantity {
	return &Quantity{Value: &v, Unit: unit, System: SystemUCUM, Code: unit}
}

func vitalSigns() CodeableConcept {
	return *Concept(SystemObsCat, "vital-signs", "Vital Signs")
}

func observationOf(it clinical.Item) *Observation {
	var profile string
	if it.Code != nil {
		profile = vitalProfiles[it.Code.Code]
	}
	o := &Observation{Head: itemHead("Observation", it, profile), Status: observationStatus(it.Status),
		Category: []CodeableConcept{vitalSigns()}, Code: itemConcept(it), Subject: *Ref("Patient", it.PatientID),
		EffectiveDateTime: Instant(it.EffectiveAt), Issued: Instant(it.CreatedAt), Note: itemNote(it)}
	// A patient's own reading names them as its performer: a reader tells it from a
	// clinician's measurement.
	if r := recorder(it); r != nil {
		o.Performer = []Reference{*r}
	}
	if it.Value != nil {
		o.ValueQuantity = ucum(*it.Value, it.Unit)
	}
	for _, c := range it.Components {
		o.Component = append(o.Component, ObservationComponent{
			Code:          *Concept(SystemLOINC, c.Code.Code, componentDisplay[c.Code.Code]),
			ValueQuantity: ucum(c.Value, c.Unit)})
	}
	return o
}

func observationSpec() itemSpec {
	return itemSpec{
		name: "Observation", kind: clinical.KindObservation, profile: "http://hl7.org/fhir/StructureDefinition/vitalsigns",
		patientParams: []string{"patient", "subject"},
		params: []itemParam{
			codeParam("code"),
			tokenParam("status", "final or entered-in-error", func(it clinical.Item) []Coding {
				return []Coding{{System: systemObsStatus, Code: observationStatus(it.Status)}}
			}),
			tokenParam("category", "vital-signs (every observation Haven records is one)", func(clinical.Item) []Coding {
				return []Coding{{System: SystemObsCat, Code: "vital-signs"}}
			}),
			dateParam("date", "when it was measured, with a prefix (ge2025-01-01)", effective),
		},
		toFHIR: func(it clinical.Item) Resource { return observationOf(it) },
		parse:  parseObservation,
	}
}
