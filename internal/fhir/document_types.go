package fhir

import (
	"slices"

	"haven/internal/principal"
)

// documentTypes are prescriptions, documents, consent, claims and the trail:
// MedicationRequest, DocumentReference, Binary, Consent, Claim, AuditEvent.
func (f *FHIR) documentTypes() []*Type {
	return []*Type{f.medicationRequestType(), f.documentReferenceType(), f.binaryType(), f.consentType(), f.claimType(), f.auditEventType()}
}

// docPatientParams are the two names a search of one patient's resources takes the patient
// by, then more.
func docPatientParams(more ...Param) []Param {
	return append([]Param{
		{Name: "patient", Type: "reference", Doc: "the patient (Patient/<id>); a patient signed in searches their own record without it"},
		{Name: "subject", Type: "reference", Doc: "the same as patient"},
	}, more...)
}

// docPatient is the patient a search of one patient's resources names, by patient or
// subject; a patient signed in may leave it out and searches their own record. Any other
// caller must name one: these searches never span every patient.
func docPatient(q Query, c Caller) (string, error) {
	var found []string
	for _, name := range []string{"patient", "subject"} {
		if len(q.Values(name)) > 1 || len(slices.Concat(q.Values(name)...)) > 1 {
			return "", ErrInvalid(name + " names one patient here; search once per patient")
		}
		id, ok, err := q.Reference(name, "Patient")
		if err != nil {
			return "", err
		}
		if ok {
			found = append(found, id)
		}
	}
	switch {
	case len(found) == 2 && found[0] != found[1]:
		return "", ErrInvalid("patient and subject name different patients; give one of them")
	case len(found) > 0:
		return found[0], nil
	case c.By.Role == principal.Patient && c.By.PatientID != "":
		return c.By.PatientID, nil
	}
	return "", ErrInvalid("name the patient: patient=Patient/<id>")
}

// docStatus reports whether a resource with FHIR status code matches every AND term of
// the status parameter (a token; any system).
func docStatus(q Query, system, code string) bool {
	return MatchTokens(q.Tokens("status"), Coding{System: system, Code: code})
}
