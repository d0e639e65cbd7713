package fhir

// The people and the schedule, as FHIR R4:
//
//   - Practitioner: a clinician the caller may book (a patient: those caring for them, and with
//     open booking those accepting new patients; staff and connected systems: every active
//     clinician). id = the clinician's account id; a name, no e-mail or telephone.
//   - PractitionerRole: one per clinician, same id; weekly hours as availableTime (in the
//     clinician's zone, which availabilityExceptions names).
//   - Schedule: one per clinician, same id; planningHorizon = now to the booking horizon.
//   - Slot: a free time, computed (hours less live appointments); id = <clinician>.<Unix
//     seconds of its start>. Only free slots exist; a search covers the next 14 days without
//     start, at most 31 days at once.
//   - Appointment: a booking, versioned (meta.versionId, ETag; If-Match on update). POST
//     books a slot; PUT moves it (a new start) or cancels it (status cancelled). Haven's
//     states map booked→booked, waiting→checked-in, in-progress→arrived, ended→fulfilled,
//     cancelled→cancelled, no-show→noshow. A search covers the year around today without a
//     date, at most a year at once.
//   - Encounter: a visit (same id as its appointment), class VR (virtual); booked→planned,
//     waiting→arrived, in-progress→in-progress, ended→finished, cancelled and no-show→
//     cancelled. A search names the patient (a patient searches their own).
//
// Each read is an act at the door on the type asked for (Clinician, PractitionerRole,
// Availability, Slot, Appointment, Visit), so a connected system's scopes decide it by that
// type. meta.lastUpdated is not given (Haven does not record when an appointment last
// moved), so _lastUpdated matches none of these.

// scheduleTypes are the people and the schedule: Practitioner, PractitionerRole, Schedule,
// Slot, Appointment, Encounter.
func (f *FHIR) scheduleTypes() []*Type {
	return []*Type{f.practitionerType(), f.practitionerRoleType(), f.scheduleType(), f.slotType(), f.appointmentType(), f.encounterType()}
}
