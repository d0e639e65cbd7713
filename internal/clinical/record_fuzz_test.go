package clinical

import (
	"encoding/json"
	"math"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzItemInput feeds arbitrary JSON, as an API body would bring it, to the validation of every
// kind of item: it never panics, and what it accepts is within the record's bounds (a vital in
// the table with its values in range and its own unit, words of bounded length).
func FuzzItemInput(f *testing.F) {
	for _, seed := range []string{
		`{"text":"Penicillin","reaction":"hives","severity":"severe","category":"medication"}`,
		`{"code":{"code":"85354-9"},"systolic":120,"diastolic":80}`,
		`{"code":{"code":"85354-9"},"components":[{"code":{"code":"8480-6"},"value":120,"unit":"mm[Hg]"}],"diastolic":70}`,
		`{"code":{"code":"29463-7"},"value":1e308,"unit":"kg"}`, `{"code":{"code":"8310-5"},"value":-0}`,
		`{"text":"\u0000"}`, `{"text":"Aspirin","dosage":"` + string(make([]byte, 300)) + `"}`,
		`{"effectiveAt":"0001-01-01T00:00:00Z","text":"x"}`, `{"lot":"L1","text":"Flu"}`, `{}`, `null`,
	} {
		f.Add(seed)
	}
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		var in ItemInput
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		for _, k := range []ItemKind{KindCondition, KindAllergy, KindMedication, KindObservation, KindImmunization} {
			it := Item{Kind: k, EffectiveAt: now}
			if err := fillItem(&it, in, now); err != nil {
				continue
			}
			if it.EffectiveAt.After(now.Add(time.Hour)) {
				t.Fatalf("%s accepted in the future: %v", k, it.EffectiveAt)
			}
			for _, s := range []string{it.Text, it.Reaction, it.Dosage, it.Lot} {
				if utf8.RuneCountInString(s) > maxItemText || !utf8.ValidString(s) {
					t.Fatalf("%s accepted words out of bounds: %q", k, s)
				}
			}
			if k != KindObservation {
				if it.Text == "" {
					t.Fatalf("%s accepted without a name", k)
				}
				continue
			}
			v, ok := VitalByCode(it.Code.Code)
			if !ok || it.Unit != v.Unit {
				t.Fatalf("an observation accepted with code %v unit %q", it.Code, it.Unit)
			}
			if len(v.Components) == 0 {
				if it.Value == nil || math.IsNaN(*it.Value) || *it.Value < v.Min || *it.Value > v.Max {
					t.Fatalf("%s accepted with value %v", v.Name, it.Value)
				}
				continue
			}
			if len(it.Components) != len(v.Components) {
				t.Fatalf("%s accepted with %d components", v.Name, len(it.Components))
			}
			for i, p := range v.Components {
				if c := it.Components[i]; c.Code.Code != p.Code || c.Value < p.Min || c.Value > p.Max {
					t.Fatalf("%s accepted component %+v", v.Name, c)
				}
			}
		}
	})
}
