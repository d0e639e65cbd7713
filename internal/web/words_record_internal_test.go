package web

import (
	"strings"
	"testing"
	"time"

	"haven/internal/clinical"
	"haven/internal/principal"
)

// recordSummaryFixture is a record with an item of every kind in every status, the vitals
// reported by the patient and by the care team.
func recordSummaryFixture(when time.Time) clinical.Summary {
	v := func(f float64) *float64 { return &f }
	item := func(k clinical.ItemKind, status, text string) clinical.Item {
		return clinical.Item{ID: "it-" + text, PatientID: "pat-1", Kind: k, Status: status, Text: text, RecordedBy: "acct-nurse", RecordedByName: "Nora Nurse", EffectiveAt: when}
	}
	allergy := item(clinical.KindAllergy, clinical.StatusActive, "Penicillin")
	allergy.Reaction, allergy.Severity, allergy.Category = "hives", "severe", "medication"
	med := item(clinical.KindMedication, clinical.StatusActive, "Lisinopril 10 mg")
	med.Dosage = "once a day"
	imm := item(clinical.KindImmunization, clinical.StatusCompleted, "Influenza vaccine")
	imm.Lot = "FLU-26"
	var vitals []clinical.Item
	for i := range 3 {
		at := when.Add(time.Duration(i-3) * 24 * time.Hour)
		bp := clinical.Item{ID: "bp", PatientID: "pat-1", Kind: clinical.KindObservation, Status: clinical.StatusCompleted, Text: "Blood pressure", EffectiveAt: at,
			Code: &clinical.Code{System: clinical.LOINC, Code: clinical.CodeBloodPressure}, Unit: "mm[Hg]", PatientReported: i == 2,
			Components: []clinical.Component{{Code: clinical.Code{Code: clinical.CodeSystolic}, Value: 140 - float64(i)}, {Code: clinical.Code{Code: clinical.CodeDiastolic}, Value: 90}}}
		w := clinical.Item{ID: "w", PatientID: "pat-1", Kind: clinical.KindObservation, Status: clinical.StatusCompleted, Text: "Weight", EffectiveAt: at,
			Code: &clinical.Code{System: clinical.LOINC, Code: clinical.CodeBodyWeight}, Unit: "kg", Value: v(70 + float64(i)), RecordedByName: "Nora Nurse"}
		vitals = append(vitals, bp, w)
	}
	return clinical.Summary{
		Patient:       clinical.Patient{ID: "pat-1", Name: "Ada Canary", BirthDate: "1980-02-29", Phone: "+1 555 0100", Email: "ada@example.test", CreatedAt: when},
		Problems:      []clinical.Item{item(clinical.KindCondition, clinical.StatusActive, "Hypertension")},
		Allergies:     []clinical.Item{allergy, item(clinical.KindAllergy, clinical.StatusInactive, "Latex")},
		Medications:   []clinical.Item{med, item(clinical.KindMedication, clinical.StatusStopped, "Aspirin")},
		LatestVitals:  []clinical.Item{vitals[4], vitals[5]},
		Vitals:        vitals,
		Immunizations: []clinical.Item{imm, item(clinical.KindImmunization, clinical.StatusEnteredInError, "Tetanus")},
	}
}

// TestRecordPagesInWords renders the record page (for a clinician and a nurse) and the patient's
// page with an item of every kind and status: no internal code, no status value, no UCUM unit or
// LOINC code where a person reads; the charts carry their title and their table.
func TestRecordPagesInWords(t *testing.T) {
	u := New(Deps{})
	codes := auditCodes(t)
	when := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	sum := recordSummaryFixture(when)
	rec := clinical.Record{Patient: sum.Patient}
	cases := []struct {
		name, tpl string
		role      principal.Role
		p         page
	}{
		{"clinician", "record", principal.Clinician, page{Title: "Patient record", Data: recordData{Record: rec, Items: newRecordItems(sum, false)}}},
		{"nurse", "record", principal.Nurse, page{Title: "Patient record", Data: recordData{Record: rec, Items: newRecordItems(sum, false), Nurse: true}}},
		{"patient", "patient", principal.Patient, page{Title: "My record", Data: patientData{Record: rec, Items: newRecordItems(sum, true), Recorded: true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.p.User = &userView{Role: c.role}
			tpl, err := u.pages[c.tpl].Clone()
			if err != nil {
				t.Fatal(err)
			}
			tpl.Funcs(timeFuncs(time.UTC))
			var b strings.Builder
			if err := tpl.ExecuteTemplate(&b, "layout.html", c.p); err != nil {
				t.Fatalf("render: %v", err)
			}
			html, text := b.String(), readable(b.String())
			for _, bad := range append(codes, "mm[Hg]", "85354-9", "29463-7", "entered-in-error", "2026-11-24T") {
				if strings.Contains(text, bad) {
					t.Errorf("the page shows %q", bad)
				}
			}
			for _, want := range []string{"Penicillin", "140/90 mmHg", "Blood pressure trend", "Weight readings as a table", "once a day"} {
				if !strings.Contains(text, want) {
					t.Errorf("the page lacks %q", want)
				}
			}
			if n := strings.Count(html, `<svg role="img" aria-labelledby="chart-`); n != 2 {
				t.Errorf("%d charts, want 2", n)
			}
			if c.role == principal.Nurse && strings.Contains(html, "/items/conditions") {
				t.Error("a nurse is offered to record or change a problem")
			}
		})
	}
}
