package web

import (
	"time"

	"haven/internal/clinical"
	"haven/internal/clinical/upload"
	"haven/internal/visits"
)

// documentFixtures are the documents pages (the patient's and the clinician's), a record whose
// notes are a signed visit note with addenda and a sensitive category, and a visit page with a
// draft note, for the words test.
func documentFixtures(when time.Time, patient clinical.Patient) map[string][]page {
	docs := []clinical.Document{
		{ID: "d1", PatientID: patient.ID, FileName: "rash.jpg", ContentType: upload.JPEG, Size: 204800, ByPatient: true, CreatedAt: when},
		{ID: "d2", PatientID: patient.ID, FileName: "blood-count.pdf", Title: "Blood count, November", ContentType: upload.PDF, Size: 1 << 20,
			UploadedByName: "Dr Carl Clinician", CreatedAt: when},
	}
	signed := when.Add(time.Hour)
	note := clinical.Note{ID: "n1", AuthorName: "Dr Carl Clinician", Kind: clinical.NoteVisit, Status: clinical.NoteSigned, CreatedAt: when,
		SignedAt: &signed, Sensitive: true, Category: clinical.CategoryMentalHealth, Body: "Rest and fluids.",
		SOAP:    &clinical.SOAP{Subjective: "Low mood for a month.", Objective: "Calm, oriented.", Assessment: "Adjustment reaction.", Plan: "Rest and fluids."},
		Addenda: []clinical.Addendum{{ID: "a1", AuthorName: "Dr Carl Clinician", Body: "Also referred to counselling.", CreatedAt: signed}}}
	draft := clinical.Note{ID: "n2", Kind: clinical.NoteVisit, Status: clinical.NoteDraft, SOAP: &clinical.SOAP{Subjective: "Cough."}}
	return map[string][]page{
		"documents": {
			{Title: "My documents", Data: documentsData{PatientID: patient.ID, Docs: docs, Base: "/patient/documents", Mine: true, Accept: upload.Accept, Limit: "10 MB"}},
			{Title: "Documents and images", Error: "file: Haven cannot show HEIC photos: on an iPhone choose Most Compatible in Settings > Camera > Formats, or send a screenshot.", ErrorField: "file",
				Data: documentsData{PatientID: patient.ID, Base: "/clinician/patients/pat-1/documents", Accept: upload.Accept, Limit: "10 MB"}},
		},
		"record": {{Title: "Patient record", Data: recordData{Record: clinical.Record{Patient: patient, Notes: []clinical.Note{note}}}}},
		"clinicianvisit": {{Title: "Visit in progress", Data: visitData{Visit: visits.Visit{Appointment: visits.Appointment{ID: "appt-1",
			PatientID: patient.ID, PatientName: patient.Name, Kind: visits.KindScheduled, State: visits.StateInProgress, Start: when,
			End: when.Add(20 * time.Minute)}}, Note: draft}}},
	}
}
