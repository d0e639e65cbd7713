package fhir

import (
	"haven/internal/clinical"
)

// Code systems of the item resources' statuses, beside datatypes.go's.
const (
	systemAllVer     = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
	systemObsStatus  = "http://hl7.org/fhir/observation-status"
	systemMedStatus  = "http://hl7.org/fhir/CodeSystem/medication-statement-status"
	systemEventState = "http://hl7.org/fhir/event-status"
	systemAllCat     = "http://hl7.org/fhir/allergy-intolerance-category"
)

// Condition is a problem on the patient's list.
type Condition struct {
	Head
	ClinicalStatus     *CodeableConcept  `json:"clinicalStatus,omitempty"`
	VerificationStatus *CodeableConcept  `json:"verificationStatus,omitempty"`
	Category           []CodeableConcept `json:"category,omitempty"`
	Code               *CodeableConcept  `json:"code,omitempty"`
	Subject            Reference         `json:"subject"`
	OnsetDateTime      string            `json:"onsetDateTime,omitempty"`
	RecordedDate       string            `json:"recordedDate,omitempty"`
	Recorder           *Reference        `json:"recorder,omitempty"`
	Note               []Annotation      `json:"note,omitempty"`
}

// conditionClinical is a condition's clinical status code; an entered-in-error one has none
// (FHIR's con-5).
func conditionClinical(status string) string {
	switch status {
	case clinical.StatusActive, clinical.StatusResolved:
		return status
	}
	return ""
}

func verification(status string) string {
	if status == clinical.StatusEnteredInError {
		return "entered-in-error"
	}
	return "confirmed"
}

func conditionSpec() itemSpec {
	return itemSpec{
		name: "Condition", kind: clinical.KindCondition, profile: "http://hl7.org/fhir/StructureDefinition/Condition",
		patientParams: []string{"patient", "subject"},
		params: []itemParam{
			codeParam("code"),
			tokenParam("clinical-status", "active or resolved", func(it clinical.Item) []Coding {
				return []Coding{{System: SystemCondClin, Code: conditionClinical(it.Status)}}
			}),
			tokenParam("verification-status", "confirmed or entered-in-error", func(it clinical.Item) []Coding {
				return []Coding{{System: SystemCondVer, Code: verification(it.Status)}}
			}),
			tokenParam("category", "problem-list-item", func(clinical.Item) []Coding {
				return []Coding{{System: SystemCondCat, Code: "problem-list-item"}}
			}),
			dateParam("onset-date", "when the problem began, with a prefix (ge2025-01-01)", effective),
			dateParam("recorded-date", "when it was recorded, with a prefix", recorded),
		},
		toFHIR: func(it clinical.Item) Resource {
			code := itemConcept(it)
			r := &Condition{Head: itemHead("Condition", it), Code: &code, Subject: *Ref("Patient", it.PatientID),
				Category:           []CodeableConcept{*Concept(SystemCondCat, "problem-list-item", "Problem List Item")},
				VerificationStatus: Concept(SystemCondVer, verification(it.Status), ""),
				OnsetDateTime:      Instant(it.EffectiveAt), RecordedDate: Instant(it.CreatedAt), Recorder: recorder(it), Note: itemNote(it)}
			if c := conditionClinical(it.Status); c != "" {
				r.ClinicalStatus = Concept(SystemCondClin, c, "")
			}
			return r
		},
		parse: parseCondition,
	}
}

// AllergyIntolerance is an allergy or an intolerance.
type AllergyIntolerance struct {
	Head
	ClinicalStatus     *CodeableConcept  `json:"clinicalStatus,omitempty"`
	VerificationStatus *CodeableConcept  `json:"verificationStatus,omitempty"`
	Category           []string          `json:"category,omitempty"`
	Code               *CodeableConcept  `json:"code,omitempty"`
	Patient            Reference         `json:"patient"`
	OnsetDateTime      string            `json:"onsetDateTime,omitempty"`
	RecordedDate       string            `json:"recordedDate,omitempty"`
	Recorder           *Reference        `json:"recorder,omitempty"`
	Note               []Annotation      `json:"note,omitempty"`
	Reaction           []AllergyReaction `json:"reaction,omitempty"`
}

// AllergyReaction is what happens on exposure, and how badly.
type AllergyReaction struct {
	Manifestation []CodeableConcept `json:"manifestation"`
	Severity      string            `json:"severity,omitempty"`
}

func allergyClinical(status string) string {
	switch status {
	case clinical.StatusActive, clinical.StatusInactive:
		return status
	}
	return ""
}

func allergySpec() itemSpec {
	return itemSpec{
		name: "AllergyIntolerance", kind: clinical.KindAllergy, profile: "http://hl7.org/fhir/StructureDefinition/AllergyIntolerance",
		patientParams: []string{"patient"},
		params: []itemParam{
			codeParam("code"),
			tokenParam("clinical-status", "active or inactive", func(it clinical.Item) []Coding {
				return []Coding{{System: SystemAllClin, Code: allergyClinical(it.Status)}}
			}),
			tokenParam("verification-status", "confirmed or entered-in-error", func(it clinical.Item) []Coding {
				return []Coding{{System: systemAllVer, Code: verification(it.Status)}}
			}),
			tokenParam("category", "medication, food, environment or biologic", func(it clinical.Item) []Coding {
				return []Coding{{System: systemAllCat, Code: it.Category}}
			}),
			dateParam("date", "when it was recorded, with a prefix (ge2025-01-01)", recorded),
		},
		toFHIR: func(it clinical.Item) Resource {
			code := itemConcept(it)
			r := &AllergyIntolerance{Head: itemHead("AllergyIntolerance", it), Code: &code, Patient: *Ref("Patient", it.PatientID),
				VerificationStatus: Concept(systemAllVer, verification(it.Status), ""),
				OnsetDateTime:      Instant(it.EffectiveAt), RecordedDate: Instant(it.CreatedAt), Recorder: recorder(it), Note: itemNote(it)}
			if c := allergyClinical(it.Status); c != "" {
				r.ClinicalStatus = Concept(SystemAllClin, c, "")
			}
			if it.Category != "" {
				r.Category = []string{it.Category}
			}
			// FHIR's severity is a reaction's: a severity recorded with no reaction described
			// has no manifestation to carry it and is left out rather than invent one.
			if it.Reaction != "" {
				r.Reaction = []AllergyReaction{{Manifestation: []CodeableConcept{{Text: it.Reaction}}, Severity: it.Severity}}
			}
			return r
		},
		parse: parseAllergy,
	}
}

// MedicationStatement is a medication the patient takes (or took).
type MedicationStatement struct {
	Head
	Status                    string          `json:"status"`
	MedicationCodeableConcept CodeableConcept `json:"medicationCodeableConcept"`
	Subject                   Reference       `json:"subject"`
	EffectiveDateTime         string          `json:"effectiveDateTime,omitempty"`
	DateAsserted              string          `json:"dateAsserted,omitempty"`
	InformationSource         *Reference      `json:"informationSource,omitempty"`
	Note                      []Annotation    `json:"note,omitempty"`
	Dosage                    []DosageText    `json:"dosage,omitempty"`
}

// DosageText is how a medication is taken, as written.
type DosageText struct {
	Text string `json:"text"`
}

func medicationSpec() itemSpec {
	return itemSpec{
		name: "MedicationStatement", kind: clinical.KindMedication, profile: "http://hl7.org/fhir/StructureDefinition/MedicationStatement",
		patientParams: []string{"patient", "subject"},
		params: []itemParam{
			codeParam("code"),
			tokenParam("status", "active, stopped or entered-in-error", func(it clinical.Item) []Coding {
				return []Coding{{System: systemMedStatus, Code: it.Status}}
			}),
			dateParam("effective", "when it was started, with a prefix (ge2025-01-01)", effective),
		},
		toFHIR: func(it clinical.Item) Resource {
			r := &MedicationStatement{Head: itemHead("MedicationStatement", it), Status: it.Status, MedicationCodeableConcept: itemConcept(it),
				Subject: *Ref("Patient", it.PatientID), EffectiveDateTime: Instant(it.EffectiveAt), DateAsserted: Instant(it.CreatedAt),
				InformationSource: recorder(it), Note: itemNote(it)}
			if it.Dosage != "" {
				r.Dosage = []DosageText{{Text: it.Dosage}}
			}
			return r
		},
	}
}

// Immunization is a vaccine given.
type Immunization struct {
	Head
	Status             string          `json:"status"`
	VaccineCode        CodeableConcept `json:"vaccineCode"`
	Patient            Reference       `json:"patient"`
	OccurrenceDateTime string          `json:"occurrenceDateTime"`
	Recorded           string          `json:"recorded,omitempty"`
	LotNumber          string          `json:"lotNumber,omitempty"`
	Note               []Annotation    `json:"note,omitempty"`
}

func eventStatus(status string) string {
	if status == clinical.StatusEnteredInError {
		return "entered-in-error"
	}
	return "completed"
}

func immunizationSpec() itemSpec {
	return itemSpec{
		name: "Immunization", kind: clinical.KindImmunization, profile: "http://hl7.org/fhir/StructureDefinition/Immunization",
		patientParams: []string{"patient"},
		params: []itemParam{
			codeParam("vaccine-code"),
			tokenParam("status", "completed or entered-in-error", func(it clinical.Item) []Coding {
				return []Coding{{System: systemEventState, Code: eventStatus(it.Status)}}
			}),
			dateParam("date", "when it was given, with a prefix (ge2025-01-01)", effective),
		},
		toFHIR: func(it clinical.Item) Resource {
			return &Immunization{Head: itemHead("Immunization", it), Status: eventStatus(it.Status), VaccineCode: itemConcept(it),
				Patient: *Ref("Patient", it.PatientID), OccurrenceDateTime: Instant(it.EffectiveAt), Recorded: Instant(it.CreatedAt),
				LotNumber: it.Lot, Note: itemNote(it)}
		},
	}
}
