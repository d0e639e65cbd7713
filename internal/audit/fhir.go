package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// FHIRAuditEvent renders an entry as a FHIR R4 AuditEvent resource: who (agent), what (entity
// and subtype), which patient, when (recorded), outcome, source address and the decision's
// reason (purposeOfEvent). Identifiers only, as in the entry itself.
func FHIRAuditEvent(e Entry) map[string]any {
	outcome, action := FHIROutcome(e.Outcome), FHIRAction(e.Action)
	typeCode := map[string]any{"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"}
	if strings.HasPrefix(e.Action, "auth.") {
		typeCode = map[string]any{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110114", "display": "User Authentication"}
	}
	ev := map[string]any{
		"resourceType": "AuditEvent",
		"id":           "haven-audit-" + strconv.FormatInt(e.Seq, 10),
		"type":         typeCode,
		"subtype":      []any{map[string]any{"system": "urn:haven:audit-action", "code": e.Action}},
		"action":       action,
		"recorded":     e.Time.UTC().Format(time.RFC3339Nano),
		"outcome":      outcome,
		"agent": []any{map[string]any{
			"who":       map[string]any{"identifier": map[string]any{"system": "urn:haven:account", "value": e.ActorID}},
			"role":      []any{map[string]any{"text": e.ActorRole}},
			"requestor": true,
			"network":   map[string]any{"address": e.SourceAddr, "type": "2"},
		}},
		"source": map[string]any{"observer": map[string]any{"display": "Haven"}, "type": []any{map[string]any{
			"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}}},
	}
	if e.Outcome != "" {
		ev["outcomeDesc"] = e.Outcome + ": " + e.Reason
	}
	var purpose []any
	if e.Purpose != "" {
		purpose = append(purpose, map[string]any{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": e.Purpose})
	}
	if e.Reason != "" {
		purpose = append(purpose, map[string]any{"system": "urn:haven:decision-reason", "code": e.Reason})
	}
	if purpose != nil {
		ev["purposeOfEvent"] = []any{map[string]any{"coding": purpose}}
	}
	var entities []any
	if e.ResourceType != "" || e.ResourceID != "" {
		entities = append(entities, map[string]any{"what": map[string]any{"identifier": map[string]any{"system": "urn:haven:" + strings.ToLower(e.ResourceType), "value": e.ResourceID}},
			"type": map[string]any{"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"}})
	}
	if e.PatientID != "" {
		entities = append(entities, map[string]any{"what": map[string]any{"reference": "Patient/" + e.PatientID},
			"type": map[string]any{"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
			"role": map[string]any{"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"}})
	}
	if entities != nil {
		ev["entity"] = entities
	}
	return ev
}

// FHIROutcome is an entry outcome's FHIR AuditEvent outcome code: 0 (success) for an allowed
// or successful act, 4 (minor failure) for a refused or failed one.
func FHIROutcome(outcome string) string {
	switch outcome {
	case Deny, Failure:
		return "4"
	}
	return "0"
}

// FHIRAction is a Haven action's FHIR AuditEvent action code: R for reads, searches and
// lists, C for writes and registrations, U for assignments, E (execute) for the rest.
func FHIRAction(action string) string {
	switch {
	case strings.HasSuffix(action, ".read") || strings.Contains(action, "search") || strings.Contains(action, "list"):
		return "R"
	case strings.HasSuffix(action, ".write") || strings.HasSuffix(action, ".register"):
		return "C"
	case strings.HasSuffix(action, ".assign"):
		return "U"
	}
	return "E"
}

// WriteFHIRNDJSON writes entries as FHIR AuditEvent resources, one JSON object per line.
func WriteFHIRNDJSON(w io.Writer, entries []Entry) error {
	enc := json.NewEncoder(w)
	for _, e := range entries {
		if err := enc.Encode(FHIRAuditEvent(e)); err != nil {
			return fmt.Errorf("audit: write AuditEvent %d: %w", e.Seq, err)
		}
	}
	return nil
}
