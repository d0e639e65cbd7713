package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/httpx"
)

// Create and update of Observation, Condition and AllergyIntolerance: a body is read into the
// domain's terms (clinical.ItemInput and a status) by the type's parser, and the domain
// validates and decides as it does for the JSON API. Its errors name its own fields; they
// are renamed to the FHIR elements they came from, so a client knows what to fix.

// itemBody is a create or update body in the domain's terms.
type itemBody struct {
	id        string // the body's id: an update must name the resource it replaces
	patientID string
	status    string // one of clinical.Statuses(kind)
	in        clinical.ItemInput
}

// elements name, per type, the FHIR element each domain field is read from.
func elements(typ string) map[string]string {
	return map[string]map[string]string{
		"Observation": {"code": "Observation.code", "value": "Observation.valueQuantity", "unit": "Observation.valueQuantity.code",
			"systolic": "Observation.component", "diastolic": "Observation.component", "note": "Observation.note",
			"effectiveAt": "Observation.effectiveDateTime", "status": "Observation.status", "subject": "Observation.subject"},
		"Condition": {"text": "Condition.code.text", "code": "Condition.code.coding", "note": "Condition.note",
			"effectiveAt": "Condition.onsetDateTime", "status": "Condition.clinicalStatus", "subject": "Condition.subject"},
		"AllergyIntolerance": {"text": "AllergyIntolerance.code.text", "code": "AllergyIntolerance.code.coding",
			"reaction": "AllergyIntolerance.reaction.manifestation", "severity": "AllergyIntolerance.reaction.severity",
			"category": "AllergyIntolerance.category", "note": "AllergyIntolerance.note", "effectiveAt": "AllergyIntolerance.onsetDateTime",
			"status": "AllergyIntolerance.clinicalStatus", "subject": "AllergyIntolerance.patient"},
	}[typ]
}

// renameFields renames a domain validation error's field to the FHIR element of typ.
func renameFields(typ string, err error) error {
	fe := fault.As(err)
	if fe == nil || fe.Kind != fault.Invalid || fe.Field == "" {
		return err
	}
	if el, ok := elements(typ)[fe.Field]; ok {
		return &fault.Error{Kind: fault.Invalid, Field: el, Message: fe.Message, Err: err}
	}
	return err
}

// invalid is a 422 naming the element to fix.
func invalid(element, msg string) error {
	return &httpx.Error{Status: http.StatusUnprocessableEntity, Message: element + ": " + msg}
}

func (f *FHIR) createItem(ctx context.Context, c Caller, s itemSpec, body []byte) (Resource, error) {
	b, err := s.parse(body)
	if err != nil {
		return nil, err
	}
	in := b.in
	in.Status = b.status
	it, err := f.d.Records.CreateItem(ctx, c.By, b.patientID, s.kind, in, c.Origin)
	if err != nil {
		return nil, renameFields(s.name, err)
	}
	return s.toFHIR(it), nil
}

func (f *FHIR) updateItem(ctx context.Context, c Caller, s itemSpec, id, version string, body []byte) (Resource, error) {
	var v int64
	if version != "" {
		n, err := strconv.ParseInt(version, 10, 64)
		if err != nil || n < 1 {
			// No item ever had this version: it cannot be the current one.
			return nil, fault.New(fault.Conflict, "no such version")
		}
		v = n
	}
	b, err := s.parse(body)
	if err != nil {
		return nil, err
	}
	if b.id != id {
		return nil, ErrInvalid("the resource's id must be the id in the URL, " + s.name + "/" + id)
	}
	it, err := f.d.Records.ReviseItem(ctx, c.By, s.kind, id, v, clinical.ItemRevision{PatientID: b.patientID, Status: b.status, Input: b.in}, c.Origin)
	if err != nil {
		return nil, renameFields(s.name, err)
	}
	return s.toFHIR(it), nil
}

// decodeBody reads a JSON body of resource type typ into v. Elements Haven does not keep are
// ignored, as FHIR lets a server do; a malformed body or an element of the wrong JSON type is
// a 400 that names it.
func decodeBody(body []byte, typ string, v any) error {
	var head struct {
		ResourceType string `json:"resourceType"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return ErrInvalid("send a " + typ + " resource as FHIR JSON")
	}
	if head.ResourceType != typ {
		return ErrInvalid("resourceType must be " + typ)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return ErrInvalid(typ + "." + te.Field + " has the wrong JSON type; see the FHIR R4 definition of " + typ)
		}
		return ErrInvalid("send a " + typ + " resource as FHIR JSON")
	}
	return nil
}

// patientRef reads a reference to a Patient: "Patient/<id>", or an absolute URL ending so.
func patientRef(element string, r *Reference) (string, error) {
	if r == nil || r.Reference == "" {
		return "", invalid(element, "refer to the patient as Patient/<id>")
	}
	v := r.Reference
	i := strings.LastIndex(v, "Patient/")
	if i < 0 || (i > 0 && v[i-1] != '/') {
		return "", invalid(element, "refer to a Patient, as Patient/<id>")
	}
	id := v[i+len("Patient/"):]
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "/?#") {
		return "", invalid(element, "refer to the patient as Patient/<id>")
	}
	return id, nil
}

// dateTime reads a FHIR dateTime (a year, a month, a date, or a date and time with its zone)
// as the instant it begins; "" is nil.
func dateTime(element, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	if v[0] < '0' || v[0] > '9' {
		return nil, invalid(element, "write a date and time such as 2026-11-24T09:30:00Z")
	}
	d, err := ParseDate(v)
	if err != nil {
		return nil, invalid(element, "write a date and time such as 2026-11-24T09:30:00Z")
	}
	return &d.Lo, nil
}

// notes joins a resource's annotations into one note.
func notes(ns []Annotation) string {
	var out []string
	for _, n := range ns {
		if t := strings.TrimSpace(n.Text); t != "" {
			out = append(out, t)
		}
	}
	return strings.Join(out, "\n\n")
}

// conceptOf reads a concept as an item's words and code: its text (or its first coding's
// display, or its code), and its first coding with a code.
func conceptOf(cc *CodeableConcept) (string, *clinical.Code) {
	if cc == nil {
		return "", nil
	}
	var code *clinical.Code
	for _, c := range cc.Coding {
		if c.Code != "" {
			code = &clinical.Code{System: c.System, Code: c.Code, Display: c.Display}
			break
		}
	}
	text := cc.Text
	if text == "" && code != nil {
		text = code.Display
		if text == "" {
			text = code.Code
		}
	}
	return text, code
}

// statusCode is the code of a status concept in system (any coding, if no system matches).
func statusCode(cc *CodeableConcept, system string) string {
	if cc == nil {
		return ""
	}
	for _, c := range cc.Coding {
		if c.System == system || c.System == "" {
			return c.Code
		}
	}
	return ""
}
