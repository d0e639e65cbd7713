package fhir

import (
	"encoding/json"
	"fmt"
	"strings"

	"haven/internal/clinical"
)

// ExportBundle renders a patient's own export (clinical.Export) as FHIR R4 JSON: a Bundle of
// type collection, stamped with the export's time, for another health service. It is the
// transport's mapping, the same one a FHIR read answers with: the Patient, one resource per
// item of the record (Condition, AllergyIntolerance, MedicationStatement, Observation,
// Immunization, entered-in-error ones included and marked), a DocumentReference per document
// whose attachment is the Binary that downloads it (in an archive the files are beside the
// bundle), a DocumentReference per note carrying its text, and a MedicationRequest per
// prescription. site is the installation's base URL (services.Services.BaseURL): entries'
// fullUrls and identifier systems are under it.
//
// It opens nothing and records nothing: the export was one guarded act already.
func ExportBundle(e clinical.Export, site string) ([]byte, error) {
	b := Bundle{Head: Head{ResourceType: "Bundle"}, Type: "collection", Timestamp: Instant(e.ExportedAt)}
	add := func(r Resource) {
		h := HeadOf(r)
		b.Entry = append(b.Entry, BundleEntry{FullURL: resourceURL(site, h.ResourceType+"/"+h.ID), Resource: r})
	}
	add(patientOf(site, e.Patient))
	for _, part := range []struct {
		spec  itemSpec
		items []clinical.Item
	}{
		{conditionSpec(), e.Problems}, {allergySpec(), e.Allergies}, {medicationSpec(), e.Medications},
		{observationSpec(), e.Vitals}, {immunizationSpec(), e.Immunizations},
	} {
		for _, it := range part.items {
			add(part.spec.toFHIR(it))
		}
	}
	for _, d := range e.Documents {
		add(documentReference(site, d))
	}
	for _, n := range e.Notes {
		// The FHIR API serves no note: an entry with a fullUrl would name an address that
		// answers 404, so a note's entry has none (a collection's entries need not).
		b.Entry = append(b.Entry, BundleEntry{Resource: noteReference(e.Patient.ID, n)})
	}
	for _, p := range e.Prescriptions {
		add(medicationRequest(p))
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("fhir: export bundle: %w", err)
	}
	return out, nil
}

// noteReference is a note as a DocumentReference (LOINC 11506-3, progress note) holding its
// text inline, with its addenda after it: a note is short, and the export must carry it whole.
func noteReference(patientID string, n clinical.Note) *DocumentReference {
	var text strings.Builder
	if n.SOAP != nil {
		fmt.Fprintf(&text, "Subjective: %s\nObjective: %s\nAssessment: %s\nPlan: %s", n.SOAP.Subjective, n.SOAP.Objective, n.SOAP.Assessment, n.SOAP.Plan)
	} else {
		text.WriteString(n.Body)
	}
	for _, a := range n.Addenda {
		fmt.Fprintf(&text, "\n\nAddendum (%s, %s): %s", a.AuthorName, Instant(a.CreatedAt), a.Body)
	}
	dr := &DocumentReference{
		Head:      NewHead("DocumentReference", n.ID, n.UpdatedAt, 0),
		Status:    "current",
		DocStatus: noteDocStatus(n),
		Type:      Concept(SystemLOINC, "11506-3", "Progress note"),
		Subject:   Ref("Patient", patientID),
		Date:      Instant(n.CreatedAt),
		Content: []docContent{{Attachment: Attachment{
			ContentType: "text/plain; charset=utf-8",
			Data:        []byte(text.String()),
			Creation:    Instant(n.CreatedAt),
		}}},
	}
	if n.AuthorName != "" {
		author := &Reference{Display: n.AuthorName}
		if n.AuthorID != "" {
			author.Reference = "Practitioner/" + n.AuthorID
		}
		dr.Author = []*Reference{author}
	}
	return dr
}

// noteDocStatus is a note's composition status: a draft is preliminary, a note with addenda
// amended, any other final.
func noteDocStatus(n clinical.Note) string {
	switch {
	case n.Status == clinical.NoteDraft:
		return "preliminary"
	case len(n.Addenda) > 0:
		return "amended"
	}
	return "final"
}
