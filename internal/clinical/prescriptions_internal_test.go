package clinical

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"haven/internal/clinical/rx"
	"haven/internal/keys"
	"haven/internal/keys/kms/localfile"
	"haven/internal/store"
	"haven/internal/store/storetest"
)

// TestReviewMatches is the review's rule: the same code, or the same normalised name.
func TestReviewMatches(t *testing.T) {
	allergy := func(text string, code *Code) Item {
		return Item{ID: "a", Kind: KindAllergy, Text: text, Code: code, Reaction: "hives"}
	}
	med := func(text string) Item { return Item{ID: "m", Kind: KindMedication, Text: text, Dosage: "once a day"} }
	tests := []struct {
		name      string
		c         rx.Content
		allergies []Item
		meds      []Item
		want      []string
	}{
		{"same name, another case", rx.Content{Medication: "PENICILLIN"}, []Item{allergy("penicillin", nil)}, nil, []string{"allergy"}},
		{"salt and punctuation", rx.Content{Medication: "Penicillin V-potassium"}, []Item{allergy("Penicillin", nil)}, nil, []string{"allergy"}},
		{"strength and form", rx.Content{Medication: "Lisinopril"}, nil, []Item{med("Lisinopril 10mg tablets")}, []string{"duplicate"}},
		{"hydrochloride", rx.Content{Medication: "Metformin HCl"}, nil, []Item{med("metformin hydrochloride 500 mg")}, []string{"duplicate"}},
		{"by code", rx.Content{Medication: "Bactrim", Code: "10831"}, []Item{allergy("Sulfa drugs", &Code{Code: "10831"})}, nil, []string{"allergy"}},
		{"code of another system", rx.Content{Medication: "Bactrim", Code: "10831", CodeSystem: "urn:a"}, []Item{allergy("Sulfa", &Code{System: "urn:b", Code: "10831"})}, nil, []string{}},
		{"another drug", rx.Content{Medication: "Amoxicillin"}, []Item{allergy("Penicillin", nil)}, []Item{med("Ibuprofen")}, []string{}},
		{"salt alone", rx.Content{Medication: "Potassium chloride"}, nil, []Item{med("Sodium chloride")}, []string{}},
		{"both", rx.Content{Medication: "amoxicillin"}, []Item{allergy("Amoxicillin", nil)}, []Item{med("Amoxicillin 250 mg")}, []string{"allergy", "duplicate"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := []string{}
			for _, w := range Review(tc.c, tc.allergies, tc.meds) {
				got = append(got, w.Kind)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRxCodeNormalised(t *testing.T) {
	for in, want := range map[string]string{"ABCDE-FGHJK": "ABCDEFGHJK", "abcde fghjk": "ABCDEFGHJK", "0O1IL-23456": "0011123456",
		"ABCDE": "", "ABCDE-FGHJKX": "", "ABCDE-FGHJU": "", "ÄBCDE-FGHJK": "", "": ""} {
		if got := normalRxCode(in); got != want {
			t.Errorf("normalRxCode(%q) = %q, want %q", in, got, want)
		}
	}
	code, err := newRxCode()
	if err != nil || normalRxCode(formatRxCode(code)) != code {
		t.Fatalf("a new code %q does not read back (%v)", code, err)
	}
}

// TestRxContextCurrentOnly: the review reads the patient's current allergies and medications
// only (not resolved, stopped or entered in error, nor other kinds), on both stores.
func TestRxContextCurrentOnly(t *testing.T) {
	storetest.ForEachDialect(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		kek, err := localfile.Client{}.GetAEAD(localfile.URI(filepath.Join(t.TempDir(), "root.key")))
		if err != nil {
			t.Fatal(err)
		}
		ks, err := keys.Open(ctx, db, kek)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
		r := &Records{db: db, cipher: ks, now: func() time.Time { return now }}
		const pid = "pat-rx"
		if _, err := db.ExecContext(ctx, `INSERT INTO patients (id, name_ct, birth_date_ct, phone_ct, email_ct, name_bidx, birth_date_bidx, phone_bidx, email_bidx, created_by, created_at)
			VALUES ($1, $2, $2, $2, $2, $2, $2, $2, $2, 'clin', $3)`, pid, []byte{0}, now.UnixNano()); err != nil {
			t.Fatal(err)
		}
		if _, err := ks.CreatePatientKey(ctx, db, pid); err != nil {
			t.Fatal(err)
		}
		items := []Item{
			{ID: "i1", Kind: KindAllergy, Status: StatusActive, Text: "Penicillin"},
			{ID: "i2", Kind: KindAllergy, Status: StatusInactive, Text: "Codeine"},
			{ID: "i3", Kind: KindMedication, Status: StatusActive, Text: "Lisinopril"},
			{ID: "i4", Kind: KindMedication, Status: StatusStopped, Text: "Metformin"},
			{ID: "i5", Kind: KindMedication, Status: StatusEnteredInError, Text: "Aspirin"},
			{ID: "i6", Kind: KindCondition, Status: StatusActive, Text: "Hypertension"},
		}
		for _, it := range items {
			it.PatientID, it.RecordedBy, it.EffectiveAt, it.CreatedAt, it.UpdatedAt = pid, "clin", now, now, now
			if err := r.storeItem(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
		allergies, meds, err := r.rxContext(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(allergies) != 1 || allergies[0].Text != "Penicillin" || len(meds) != 1 || meds[0].Text != "Lisinopril" {
			t.Fatalf("context = %v, %v", allergies, meds)
		}
	})
}

// FuzzRxCode reads codes as a pharmacy types them (untrusted): never a panic, and anything
// accepted is ten characters of the alphabet.
func FuzzRxCode(f *testing.F) {
	for _, s := range []string{"ABCDE-FGHJK", "abcde fghjk", "", "ÄÖ", "0O1IL-23456-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := normalRxCode(s)
		if got == "" {
			return
		}
		if len(got) != rxCodeLength {
			t.Fatalf("normalRxCode(%q) = %q", s, got)
		}
		for i := 0; i < len(got); i++ {
			if !containsByte(rxCodeAlphabet, got[i]) {
				t.Fatalf("normalRxCode(%q) = %q: not in the alphabet", s, got)
			}
		}
	})
}
