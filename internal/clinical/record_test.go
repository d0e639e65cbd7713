package clinical_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"haven/internal/access"
	"haven/internal/audit"
	"haven/internal/clinical"
	"haven/internal/fault"
	"haven/internal/guard"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

func f(v float64) *float64 { return &v }

// nurse adds a nurse account to h and puts it in pid's care team.
func (h *harness) nurse(t *testing.T, pid string) access.Subject {
	t.Helper()
	ctx := context.Background()
	if _, err := h.db.ExecContext(ctx, `INSERT INTO accounts (id, role, status, email_bidx, created_at) VALUES ('nurse-1', 'nurse', 'active', $1, 0)`, []byte("nurse-1")); err != nil {
		t.Fatal(err)
	}
	if err := h.records.Assign(ctx, h.admin, pid, "nurse-1", origin); err != nil {
		t.Fatal(err)
	}
	return access.Subject{AccountID: "nurse-1", Role: access.Nurse, FactorAt: h.clin.FactorAt}
}

// TestRecordItemsThroughTheDoor: who may write which kind of item, each act decided before
// the item is validated, and the write recorded under its own action.
func TestRecordItemsThroughTheDoor(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := h.register(t, "Ada Canary", "ada@example.test")
		other := h.register(t, "Ben Other", "ben@example.test")
		nurse := h.nurse(t, pid)
		patient := access.Subject{AccountID: "pat-1", Role: access.Patient, PatientID: pid}
		allergy := clinical.ItemInput{Text: "Penicillin", Reaction: "hives", Severity: "moderate", Category: "medication"}
		bp := clinical.ItemInput{Code: &clinical.Code{Code: clinical.CodeBloodPressure}, Systolic: f(128), Diastolic: f(82)}
		cases := []struct {
			name    string
			by      access.Subject
			patient string
			kind    clinical.ItemKind
			in      clinical.ItemInput
			action  access.Action
			want    error
		}{
			{"clinician records a problem", h.clin, pid, clinical.KindCondition, clinical.ItemInput{Text: "Hypertension", Code: &clinical.Code{System: "http://snomed.info/sct", Code: "38341003"}}, access.WriteCondition, nil},
			{"nurse records an allergy", nurse, pid, clinical.KindAllergy, allergy, access.WriteAllergy, nil},
			{"nurse records a medication", nurse, pid, clinical.KindMedication, clinical.ItemInput{Text: "Lisinopril 10 mg tablet", Dosage: "once a day"}, access.WriteMedication, nil},
			{"nurse records vitals", nurse, pid, clinical.KindObservation, bp, access.WriteObservation, nil},
			{"nurse records an immunization", nurse, pid, clinical.KindImmunization, clinical.ItemInput{Text: "Influenza vaccine", Lot: "LOT-1"}, access.WriteImmunization, nil},
			{"nurse cannot record a problem", nurse, pid, clinical.KindCondition, clinical.ItemInput{Text: "Asthma"}, access.WriteCondition, guard.ErrForbidden},
			{"nurse outside the care team", nurse, other, clinical.KindAllergy, allergy, access.WriteAllergy, guard.ErrForbidden},
			{"clinician outside the care team", h.other, pid, clinical.KindAllergy, allergy, access.WriteAllergy, guard.ErrForbidden},
			{"patient records their own blood pressure", patient, pid, clinical.KindObservation, bp, access.WriteObservation, nil},
			{"patient cannot record an allergy", patient, pid, clinical.KindAllergy, allergy, access.WriteAllergy, guard.ErrForbidden},
			{"patient cannot record another's vitals", patient, other, clinical.KindObservation, bp, access.WriteObservation, guard.ErrForbidden},
			{"a refusal comes before validation", nurse, other, clinical.KindAllergy, clinical.ItemInput{}, access.WriteAllergy, guard.ErrForbidden},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				it, err := h.records.AddItem(ctx, c.by, c.patient, c.kind, c.in, origin)
				if !errors.Is(err, c.want) {
					t.Fatalf("err = %v, want %v", err, c.want)
				}
				e := lastEntry(t, db)
				if e.Action != string(c.action) || e.PatientID != c.patient {
					t.Fatalf("last entry %s on %s, want %s on %s", e.Action, e.PatientID, c.action, c.patient)
				}
				wantOutcome := audit.Allow
				if c.want != nil {
					wantOutcome = audit.Deny
				}
				if e.Outcome != wantOutcome {
					t.Fatalf("outcome %s, want %s", e.Outcome, wantOutcome)
				}
				if c.want == nil && it.PatientReported != (c.by.Role == access.Patient) {
					t.Fatalf("patient-reported = %v for a %s", it.PatientReported, c.by.Role)
				}
			})
		}
	})
}

// TestRecordItemValidation: a wrong value names its field and says what to enter; nothing is
// written.
func TestRecordItemValidation(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := h.register(t, "Ada Canary", "ada@example.test")
		obs := func(code string, v *float64) clinical.ItemInput {
			return clinical.ItemInput{Code: &clinical.Code{Code: code}, Value: v}
		}
		cases := []struct {
			name  string
			kind  clinical.ItemKind
			in    clinical.ItemInput
			field string
		}{
			{"an allergy without a name", clinical.KindAllergy, clinical.ItemInput{Text: "  "}, "text"},
			{"an unknown severity", clinical.KindAllergy, clinical.ItemInput{Text: "Peanut", Severity: "awful"}, "severity"},
			{"a dosage on a problem", clinical.KindCondition, clinical.ItemInput{Text: "Asthma", Dosage: "twice"}, "dosage"},
			{"an unknown vital", clinical.KindObservation, obs("1234-5", f(1)), "code"},
			{"a vital without a value", clinical.KindObservation, obs(clinical.CodeHeartRate, nil), "value"},
			{"a weight of 700 kg", clinical.KindObservation, obs(clinical.CodeBodyWeight, f(700)), "value"},
			{"a temperature in Fahrenheit", clinical.KindObservation, obs(clinical.CodeTemperature, f(98.6)), "value"},
			{"a wrong unit", clinical.KindObservation, clinical.ItemInput{Code: &clinical.Code{Code: clinical.CodeBodyWeight}, Value: f(70), Unit: "[lb_av]"}, "unit"},
			{"blood pressure without the diastolic", clinical.KindObservation, clinical.ItemInput{Code: &clinical.Code{Code: clinical.CodeBloodPressure}, Systolic: f(120)}, "diastolic"},
			{"blood pressure the wrong way round", clinical.KindObservation, clinical.ItemInput{Code: &clinical.Code{Code: clinical.CodeBloodPressure}, Systolic: f(80), Diastolic: f(120)}, "diastolic"},
			{"a note too long", clinical.KindMedication, clinical.ItemInput{Text: "Aspirin", Note: string(make([]byte, 2001))}, "note"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := h.records.AddItem(ctx, h.clin, pid, c.kind, c.in, origin)
				fe := fault.As(err)
				if fe == nil || fe.Kind != fault.Invalid || fe.Field != c.field || fe.Message == "" {
					t.Fatalf("err = %#v, want an invalid %s", err, c.field)
				}
			})
		}
		s, err := h.records.Summary(ctx, h.clin, pid, origin)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(s.Allergies) + len(s.Problems) + len(s.Medications) + len(s.Vitals); n != 0 {
			t.Fatalf("%d items written by invalid requests", n)
		}
	})
}

// TestRecordSummaryAtAGlance: the summary shows current items only, the latest reading of
// each vital in the table's order with its history, immunizations newest first, and who
// recorded what; status changes move items out of it and stay in the kind's list.
func TestRecordSummaryAtAGlance(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := h.register(t, "Ada Canary", "ada@example.test")
		nurse := h.nurse(t, pid)
		add := func(by access.Subject, k clinical.ItemKind, in clinical.ItemInput) clinical.Item {
			t.Helper()
			it, err := h.records.AddItem(ctx, by, pid, k, in, origin)
			if err != nil {
				t.Fatalf("add %s: %v", k, err)
			}
			return it
		}
		problem := add(h.clin, clinical.KindCondition, clinical.ItemInput{Text: "Hypertension"})
		add(h.clin, clinical.KindCondition, clinical.ItemInput{Text: "Asthma"})
		wrong := add(nurse, clinical.KindAllergy, clinical.ItemInput{Text: "Latex"})
		add(nurse, clinical.KindAllergy, clinical.ItemInput{Text: "Penicillin", Reaction: "hives"})
		med := add(nurse, clinical.KindMedication, clinical.ItemInput{Text: "Lisinopril", Dosage: "10 mg once a day"})
		for i, w := range []float64{71, 70.5, 70} {
			at := h.clin.FactorAt.Add(-time.Duration(3-i) * 24 * time.Hour)
			add(nurse, clinical.KindObservation, clinical.ItemInput{Code: &clinical.Code{Code: clinical.CodeBodyWeight}, Value: f(w), EffectiveAt: &at})
		}
		add(nurse, clinical.KindObservation, clinical.ItemInput{Code: &clinical.Code{Code: clinical.CodeBloodPressure}, Systolic: f(130), Diastolic: f(85)})
		old := h.clin.FactorAt.Add(-400 * 24 * time.Hour)
		add(nurse, clinical.KindImmunization, clinical.ItemInput{Text: "Tetanus", EffectiveAt: &old})
		add(nurse, clinical.KindImmunization, clinical.ItemInput{Text: "Influenza", Lot: "FLU-26"})

		if _, err := h.records.UpdateItem(ctx, h.clin, pid, clinical.KindCondition, problem.ID, clinical.ItemChange{Status: clinical.StatusResolved}, origin); err != nil {
			t.Fatal(err)
		}
		if _, err := h.records.UpdateItem(ctx, nurse, pid, clinical.KindAllergy, wrong.ID, clinical.ItemChange{Status: clinical.StatusEnteredInError}, origin); err != nil {
			t.Fatal(err)
		}
		if _, err := h.records.UpdateItem(ctx, nurse, pid, clinical.KindMedication, med.ID, clinical.ItemChange{Status: clinical.StatusStopped}, origin); err != nil {
			t.Fatal(err)
		}
		before := auditCount(t, db)
		s, err := h.records.Summary(ctx, nurse, pid, origin)
		if err != nil {
			t.Fatal(err)
		}
		if n := auditCount(t, db) - before; n != 1 {
			t.Fatalf("the summary left %d entries, want 1", n)
		}
		names := func(items []clinical.Item) []string {
			var out []string
			for _, it := range items {
				out = append(out, it.Text)
			}
			return out
		}
		for _, c := range []struct {
			section   string
			got, want []string
		}{
			{"problems", names(s.Problems), []string{"Asthma"}},
			{"allergies", names(s.Allergies), []string{"Penicillin"}},
			{"medications", names(s.Medications), nil},
			{"latest vitals", names(s.LatestVitals), []string{"Blood pressure", "Weight"}},
			{"immunizations", names(s.Immunizations), []string{"Influenza", "Tetanus"}},
		} {
			if !slices.Equal(c.got, c.want) {
				t.Errorf("%s = %q, want %q", c.section, c.got, c.want)
			}
		}
		if w := s.LatestVitals[1]; *w.Value != 70 || w.Unit != "kg" || w.Code.System != clinical.LOINC || w.RecordedBy != nurse.AccountID {
			t.Errorf("latest weight = %+v", w)
		}
		if len(s.Vitals) != 4 || s.Patient.Name != "Ada Canary" {
			t.Errorf("%d readings for the trends, patient %q", len(s.Vitals), s.Patient.Name)
		}
		all, err := h.records.Items(ctx, h.clin, pid, clinical.KindAllergy, "", origin)
		kept := slices.IndexFunc(all, func(it clinical.Item) bool { return it.ID == wrong.ID })
		if err != nil || len(all) != 2 || kept < 0 || all[kept].Status != clinical.StatusEnteredInError {
			t.Fatalf("allergies list = %+v, %v: the one entered in error is kept, marked", all, err)
		}
		allergies, meds, err := clinical.AllergiesAndMedications(ctx, h.records, pid)
		if err != nil || len(allergies) != 1 || allergies[0].Text != "Penicillin" || len(meds) != 0 {
			t.Fatalf("current allergies %+v and medications %+v, %v", allergies, meds, err)
		}
		weights, err := h.records.Items(ctx, h.clin, pid, clinical.KindObservation, clinical.CodeBodyWeight, origin)
		if err != nil || len(weights) != 3 || *weights[0].Value != 70 {
			t.Fatalf("weights = %+v, %v: newest first", weights, err)
		}
	})
}

// TestRecordItemUpdateRules: a status must be one the kind has; a patient changes nothing once
// recorded; an item of another patient or kind is not found; a nurse cannot resolve a problem.
func TestRecordItemUpdateRules(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		h := newHarness(t, db)
		pid := h.register(t, "Ada Canary", "ada@example.test")
		other := h.register(t, "Ben Other", "ben@example.test")
		nurse := h.nurse(t, pid)
		patient := access.Subject{AccountID: "pat-1", Role: access.Patient, PatientID: pid}
		problem, err := h.records.AddItem(ctx, h.clin, pid, clinical.KindCondition, clinical.ItemInput{Text: "Asthma"}, origin)
		if err != nil {
			t.Fatal(err)
		}
		reading, err := h.records.AddItem(ctx, patient, pid, clinical.KindObservation, clinical.ItemInput{Code: &clinical.Code{Code: clinical.CodeGlucose}, Value: f(110)}, origin)
		if err != nil {
			t.Fatal(err)
		}
		dosage := "twice a day"
		cases := []struct {
			name  string
			by    access.Subject
			pid   string
			kind  clinical.ItemKind
			id    string
			ch    clinical.ItemChange
			check func(error) bool
		}{
			{"a status the kind has not", h.clin, pid, clinical.KindCondition, problem.ID, clinical.ItemChange{Status: clinical.StatusStopped}, isField("status")},
			{"a dosage on a problem", h.clin, pid, clinical.KindCondition, problem.ID, clinical.ItemChange{Dosage: &dosage}, isField("dosage")},
			{"the patient changes their reading", patient, pid, clinical.KindObservation, reading.ID, clinical.ItemChange{Status: clinical.StatusEnteredInError}, is(guard.ErrForbidden)},
			{"a nurse resolves a problem", nurse, pid, clinical.KindCondition, problem.ID, clinical.ItemChange{Status: clinical.StatusResolved}, is(guard.ErrForbidden)},
			{"another patient's item", h.clin, other, clinical.KindCondition, problem.ID, clinical.ItemChange{Status: clinical.StatusResolved}, is(clinical.ErrNotFound)},
			{"another kind's item", h.clin, pid, clinical.KindAllergy, problem.ID, clinical.ItemChange{Status: clinical.StatusInactive}, is(clinical.ErrNotFound)},
			{"the clinician marks the reading in error", h.clin, pid, clinical.KindObservation, reading.ID, clinical.ItemChange{Status: clinical.StatusEnteredInError}, is(nil)},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := h.records.UpdateItem(ctx, c.by, c.pid, c.kind, c.id, c.ch, origin)
				if !c.check(err) {
					t.Fatalf("err = %v", err)
				}
			})
		}
	})
}

func is(want error) func(error) bool { return func(err error) bool { return errors.Is(err, want) } }

func isField(field string) func(error) bool {
	return func(err error) bool { fe := fault.As(err); return fe != nil && fe.Field == field }
}

func auditCount(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM audit_entries`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
