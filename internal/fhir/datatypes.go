package fhir

import (
	"strconv"
	"time"
)

// FHIR R4 data types shared by every resource. Only the elements Haven fills are declared;
// empty ones are left out of the JSON, as FHIR requires (no empty strings, arrays or objects).

// Meta is a resource's metadata.
type Meta struct {
	VersionID   string   `json:"versionId,omitempty"`
	LastUpdated string   `json:"lastUpdated,omitempty"`
	Profile     []string `json:"profile,omitempty"`
	Tag         []Coding `json:"tag,omitempty"`
}

// Coding is a code from a code system.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a concept: codings and, or only, text.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Concept is a CodeableConcept of one coding.
func Concept(system, code, display string) *CodeableConcept {
	return &CodeableConcept{Coding: []Coding{{System: system, Code: code, Display: display}}}
}

// Reference points at another resource ("Patient/abc").
type Reference struct {
	Reference string `json:"reference,omitempty"`
	Display   string `json:"display,omitempty"`
}

// Ref is a reference to resource id of type typ.
func Ref(typ, id string) *Reference { return &Reference{Reference: typ + "/" + id} }

// Identifier is a business identifier.
type Identifier struct {
	Use    string `json:"use,omitempty"`
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// HumanName is a person's name.
type HumanName struct {
	Use    string   `json:"use,omitempty"`
	Text   string   `json:"text,omitempty"`
	Family string   `json:"family,omitempty"`
	Given  []string `json:"given,omitempty"`
}

// ContactPoint is a phone number or an e-mail address.
type ContactPoint struct {
	System string `json:"system,omitempty"` // phone | email
	Value  string `json:"value,omitempty"`
	Use    string `json:"use,omitempty"`
}

// Period is a time range; either end may be open.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Quantity is a measured amount with its UCUM unit.
type Quantity struct {
	Value  *float64 `json:"value,omitempty"`
	Unit   string   `json:"unit,omitempty"`
	System string   `json:"system,omitempty"`
	Code   string   `json:"code,omitempty"`
}

// Annotation is a note.
type Annotation struct {
	Text string `json:"text"`
	Time string `json:"time,omitempty"`
}

// Attachment is content by reference (a Binary's URL) or, for a short text, inline (Data),
// with its type and size.
type Attachment struct {
	ContentType string `json:"contentType,omitempty"`
	Data        []byte `json:"data,omitempty"`
	URL         string `json:"url,omitempty"`
	Size        int64  `json:"size,omitempty"`
	Title       string `json:"title,omitempty"`
	Creation    string `json:"creation,omitempty"`
}

// Narrative is a resource's human-readable summary (XHTML in a div).
type Narrative struct {
	Status string `json:"status"` // generated
	Div    string `json:"div"`
}

// Code systems Haven uses.
const (
	SystemLOINC    = "http://loinc.org"
	SystemSNOMED   = "http://snomed.info/sct"
	SystemUCUM     = "http://unitsofmeasure.org"
	SystemRxNorm   = "http://www.nlm.nih.gov/research/umls/rxnorm"
	SystemCVX      = "http://hl7.org/fhir/sid/cvx"
	SystemICD10    = "http://hl7.org/fhir/sid/icd-10-cm"
	SystemCPT      = "http://www.ama-assn.org/go/cpt"
	SystemPurpose  = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	SystemObsCat   = "http://terminology.hl7.org/CodeSystem/observation-category"
	SystemCondCat  = "http://terminology.hl7.org/CodeSystem/condition-category"
	SystemCondClin = "http://terminology.hl7.org/CodeSystem/condition-clinical"
	SystemCondVer  = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
	SystemAllClin  = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
	SystemActCode  = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
)

// Instant writes t as a FHIR instant (UTC, seconds, with its zone): the wire format, never
// what a person reads.
func Instant(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Date writes t's calendar date as a FHIR date.
func Date(t time.Time) string { return t.Format(time.DateOnly) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
