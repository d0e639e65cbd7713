package fhir

// documentTypes are prescriptions, documents, consent, claims and the trail:
// MedicationRequest, DocumentReference, Binary, Consent, Claim, AuditEvent.
func (f *FHIR) documentTypes() []*Type { return nil }
