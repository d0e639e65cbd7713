package servertest

import (
	"fmt"
	"sort"
)

// requiredPrimitives are the primitive elements of cardinality 1..1 (or 1..*) in the R4
// StructureDefinitions of the types Haven serves, and of the backbone elements inside them.
// The official JSON schema cannot require them: a primitive may be carried by its value
// ("status") or only by its extensions ("_status"), so it lists neither. Without this table an
// Observation without a status would pass. A choice element ([x]) lists its alternatives.
// A read-only table: LoadFHIRSchema copies it into the schema it compiles.
var requiredPrimitives = map[string][][]string{
	"Observation":                        {{"status"}},
	"Appointment":                        {{"status"}},
	"Appointment_Participant":            {{"status"}},
	"Encounter":                          {{"status"}},
	"Encounter_StatusHistory":            {{"status"}},
	"MedicationRequest":                  {{"status"}, {"intent"}},
	"MedicationStatement":                {{"status"}},
	"Immunization":                       {{"status"}, {"occurrenceDateTime", "occurrenceString"}},
	"DocumentReference":                  {{"status"}},
	"DocumentReference_RelatesTo":        {{"code"}},
	"Consent":                            {{"status"}},
	"Claim":                              {{"status"}, {"use"}, {"created"}},
	"Claim_CareTeam":                     {{"sequence"}},
	"Claim_Diagnosis":                    {{"sequence"}},
	"Claim_Insurance":                    {{"sequence"}, {"focal"}},
	"Claim_Item":                         {{"sequence"}},
	"AuditEvent":                         {{"recorded"}},
	"AuditEvent_Agent":                   {{"requestor"}},
	"Slot":                               {{"status"}, {"start"}, {"end"}},
	"Patient_Link":                       {{"type"}},
	"Bundle":                             {{"type"}},
	"Bundle_Link":                        {{"relation"}, {"url"}},
	"Bundle_Request":                     {{"method"}, {"url"}},
	"Bundle_Response":                    {{"status"}},
	"OperationOutcome_Issue":             {{"severity"}, {"code"}},
	"Binary":                             {{"contentType"}},
	"Narrative":                          {{"status"}, {"div"}},
	"Annotation":                         {{"text"}},
	"CapabilityStatement":                {{"status"}, {"date"}, {"kind"}, {"fhirVersion"}, {"format"}},
	"CapabilityStatement_Software":       {{"name"}},
	"CapabilityStatement_Implementation": {{"description"}},
	"CapabilityStatement_Rest":           {{"mode"}},
	"CapabilityStatement_Resource":       {{"type"}},
	"CapabilityStatement_Interaction":    {{"code"}},
	"CapabilityStatement_Interaction1":   {{"code"}},
	"CapabilityStatement_SearchParam":    {{"name"}, {"type"}},
	"CapabilityStatement_Operation":      {{"name"}, {"definition"}},
}

// requirePrimitives adds the table to the schema's definitions: each required element, or its
// "_" sibling, or one of a choice's alternatives, must be present.
func requirePrimitives(defs map[string]any) error {
	names := make([]string, 0, len(requiredPrimitives))
	for n := range requiredPrimitives {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		def, ok := defs[name].(map[string]any)
		if !ok {
			return fmt.Errorf("no definition %s for its required primitives", name)
		}
		props, _ := def["properties"].(map[string]any)
		allOf, _ := def["allOf"].([]any)
		for _, choice := range requiredPrimitives[name] {
			var anyOf []any
			for _, el := range choice {
				if _, ok := props[el]; !ok {
					return fmt.Errorf("%s has no element %s", name, el)
				}
				anyOf = append(anyOf, map[string]any{"required": []any{el}})
				if _, ok := props["_"+el]; ok {
					anyOf = append(anyOf, map[string]any{"required": []any{"_" + el}})
				}
			}
			allOf = append(allOf, map[string]any{"anyOf": anyOf})
		}
		def["allOf"] = allOf
	}
	return nil
}
