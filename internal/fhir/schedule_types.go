package fhir

// scheduleTypes are the people and the schedule: Practitioner, PractitionerRole, Schedule,
// Slot, Appointment, Encounter.
func (f *FHIR) scheduleTypes() []*Type {
	return []*Type{f.practitionerType(), f.practitionerRoleType(), f.scheduleType(), f.slotType(), f.appointmentType(), f.encounterType()}
}
