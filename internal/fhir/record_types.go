package fhir

// recordTypes are the patient and their structured record: Patient, Condition,
// AllergyIntolerance, MedicationStatement, Observation, Immunization.
func (f *FHIR) recordTypes() []*Type {
	return append([]*Type{f.patientType()}, f.itemTypes()...)
}
