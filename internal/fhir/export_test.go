package fhir_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"haven/internal/clinical"
	"haven/internal/clinical/rx"
	"haven/internal/fhir"
	"haven/internal/server/servertest"
)

// exportOf is a record holding one entry of every kind an export covers, and the cases the
// old, hand-made mapping got wrong: an allergy's severity with no reaction described, an
// entered-in-error reading, blood pressure's components, a draft SOAP note.
func exportOf(at time.Time) clinical.Export {
	pid := "pat1"
	v, sys, dia := 72.0, 120.0, 80.0
	item := func(id string, kind clinical.ItemKind, status, text string) clinical.Item {
		return clinical.Item{ID: id, PatientID: pid, Kind: kind, Status: status, Text: text, RecordedBy: "dr1", RecordedByName: "Dr Who",
			EffectiveAt: at.Add(-time.Hour), CreatedAt: at.Add(-time.Hour), UpdatedAt: at.Add(-time.Hour), Version: 1}
	}
	allergy := item("al1", clinical.KindAllergy, clinical.StatusActive, "Penicillin")
	allergy.Severity, allergy.Category = "severe", "medication"
	reacted := item("al2", clinical.KindAllergy, clinical.StatusActive, "Peanuts")
	reacted.Reaction, reacted.Severity, reacted.Category = "hives", "moderate", "food"
	pulse := item("ob1", clinical.KindObservation, clinical.StatusEnteredInError, "Heart rate")
	pulse.Code, pulse.Value, pulse.Unit = &clinical.Code{System: fhir.SystemLOINC, Code: clinical.CodeHeartRate}, &v, "/min"
	bp := item("ob2", clinical.KindObservation, clinical.StatusActive, "Blood pressure")
	bp.Code = &clinical.Code{System: fhir.SystemLOINC, Code: clinical.CodeBloodPressure}
	bp.Components = []clinical.Component{{Code: clinical.Code{Code: clinical.CodeSystolic}, Value: sys, Unit: "mm[Hg]"},
		{Code: clinical.Code{Code: clinical.CodeDiastolic}, Value: dia, Unit: "mm[Hg]"}}
	med := item("me1", clinical.KindMedication, clinical.StatusActive, "Lisinopril")
	med.Dosage = "10 mg once a day"
	vaccine := item("im1", clinical.KindImmunization, clinical.StatusActive, "Influenza")
	vaccine.Lot = "LOT-9"
	issued := at.Add(-30 * time.Minute)
	return clinical.Export{
		Patient:       clinical.Patient{ID: pid, Name: "Ada Quill Lovelace", BirthDate: "1980-02-29", Email: "ada@example.test"},
		Problems:      []clinical.Item{item("co1", clinical.KindCondition, clinical.StatusEnteredInError, "Asthma")},
		Allergies:     []clinical.Item{allergy, reacted},
		Medications:   []clinical.Item{med},
		Vitals:        []clinical.Item{pulse, bp},
		Immunizations: []clinical.Item{vaccine},
		Notes: []clinical.Note{
			{ID: "no1", AuthorID: "dr1", AuthorName: "Dr Who", Body: "NOTE-BODY", Status: clinical.NoteSigned, CreatedAt: at.Add(-time.Hour),
				Addenda: []clinical.Addendum{{ID: "ad1", AuthorName: "Dr Who", Body: "NOTE-ADDENDUM", CreatedAt: at}}},
			{ID: "no2", AuthorID: "dr1", AuthorName: "Dr Who", Status: clinical.NoteDraft, CreatedAt: at, SOAP: &clinical.SOAP{Subjective: "cough", Plan: "rest"}},
		},
		Documents: []clinical.Document{{ID: "do1", PatientID: pid, FileName: "scan.pdf", Title: "Scan", ContentType: "application/pdf", Size: 12,
			UploadedBy: "dr1", UploadedByName: "Dr Who", CreatedAt: at.Add(-time.Hour)}},
		Prescriptions: []clinical.Prescription{{ID: "rx1", PatientID: pid, PrescriberID: "dr1", PrescriberName: "Dr Who", Status: clinical.RxSigned,
			Content: rx.Content{Medication: "Amoxicillin", Quantity: "21 capsules", Refills: 1}, IssuedAt: &issued, CreatedAt: issued, UpdatedAt: issued}},
		ExportedAt: at,
	}
}

// TestExportBundle: a patient's export is a collection Bundle stamped with the export's time,
// valid FHIR R4, holding the resources the FHIR API serves (under their absolute URLs) and
// every note's text with its addenda inline.
func TestExportBundle(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	raw, err := fhir.ExportBundle(exportOf(at), "https://h.test")
	if err != nil {
		t.Fatal(err)
	}
	servertest.CheckFHIR(t, raw)
	var b struct {
		ResourceType, Type, Timestamp string
		Entry                         []struct {
			FullURL  string
			Resource map[string]any
		}
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	if b.ResourceType != "Bundle" || b.Type != "collection" || b.Timestamp != "2026-03-04T05:06:07Z" {
		t.Fatalf("bundle = %s %s %s", b.ResourceType, b.Type, b.Timestamp)
	}
	var order []string
	notes := map[string]string{}
	for _, en := range b.Entry {
		r := en.Resource
		typ, id := r["resourceType"].(string), r["id"].(string)
		order = append(order, typ+"/"+id)
		isNote := strings.HasPrefix(id, "no")
		if want := "https://h.test/fhir/R4/" + typ + "/" + id; !isNote && en.FullURL != want {
			t.Errorf("%s/%s fullUrl = %q, want %q", typ, id, en.FullURL, want)
		}
		if isNote {
			if en.FullURL != "" {
				t.Errorf("note %s has the fullUrl %q, which the FHIR API does not serve", id, en.FullURL)
			}
			att := r["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)
			text, err := base64.StdEncoding.DecodeString(att["data"].(string))
			if err != nil {
				t.Fatal(err)
			}
			notes[id] = r["docStatus"].(string) + ": " + string(text)
		}
		if typ == "DocumentReference" && id == "do1" {
			att := r["content"].([]any)[0].(map[string]any)["attachment"].(map[string]any)
			if att["url"] != "https://h.test/fhir/R4/Binary/do1" || att["title"] != "scan.pdf" {
				t.Errorf("document attachment = %v", att)
			}
		}
	}
	want := "Patient/pat1 Condition/co1 AllergyIntolerance/al1 AllergyIntolerance/al2 MedicationStatement/me1 Observation/ob1 Observation/ob2 " +
		"Immunization/im1 DocumentReference/do1 DocumentReference/no1 DocumentReference/no2 MedicationRequest/rx1"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("entries:\n got %s\nwant %s", got, want)
	}
	if n := notes["no1"]; !strings.HasPrefix(n, "amended: NOTE-BODY") || !strings.Contains(n, "Addendum (Dr Who, 2026-03-04T05:06:07Z): NOTE-ADDENDUM") {
		t.Errorf("signed note with an addendum = %q", n)
	}
	if n := notes["no2"]; !strings.HasPrefix(n, "preliminary: Subjective: cough") || !strings.Contains(n, "Plan: rest") {
		t.Errorf("draft SOAP note = %q", n)
	}
	for _, s := range []string{`"identifier"`, "https://h.test/fhir/patient-id", `"entered-in-error"`, "8867-4", "LOT-9", "10 mg once a day", "hives"} {
		if !strings.Contains(string(raw), s) {
			t.Errorf("bundle lacks %s", s)
		}
	}
}
