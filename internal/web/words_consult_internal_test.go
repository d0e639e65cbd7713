package web

import (
	"time"

	"haven/internal/principal"
)

// consultFixtures is realistic data for the secure-messaging pages: the patient's and the
// clinician's (with the way back to the record and "File into the record"); and the account
// page's list of devices for encrypted visits and messages, with the words on removing one.
func consultFixtures(when time.Time) map[string][]page {
	patient := principal.Subject{AccountID: "acct-patient", Role: principal.Patient, PatientID: "pat-1"}
	clinician := principal.Subject{AccountID: "acct-clinician", Role: principal.Clinician}
	c := threadView(clinician, "pat-1")
	c.PatientID = "pat-1"
	return map[string][]page{
		"messages": {{Title: "Messages with your care team", Data: messagesData{Consult: threadView(patient, "pat-1")}},
			{Title: "Secure messages", Data: messagesData{Consult: c, Record: "/clinician/patients/pat-1"}}},
		"account": {{Title: "Security and sessions", Data: accountData{Notice: accountNotices["device-removed"], Devices: []accountDevice{
			{ID: "dev-1", Label: "Chrome on a phone", AddedAt: when}, {ID: "dev-2", Label: "Firefox on a computer"}}}}},
		"removedevice": {{Title: "Remove “Chrome on a phone”?", Data: removeDeviceData{Device: accountDevice{ID: "dev-1", Label: "Chrome on a phone", AddedAt: when}}}},
	}
}
