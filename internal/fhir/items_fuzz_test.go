package fhir

import (
	"slices"
	"testing"

	"haven/internal/clinical"
)

// The item body parsers read untrusted JSON from any connected system: whatever the body,
// they return an error or an item body the domain can take (a patient, a status of the kind),
// and never panic.

func fuzzParser(f *testing.F, kind clinical.ItemKind, parse func([]byte) (itemBody, error), seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := parse(body)
		if err != nil {
			return
		}
		if b.patientID == "" || len(b.patientID) > 64 {
			t.Fatalf("accepted a body with patient %q", b.patientID)
		}
		if !slices.Contains(clinical.Statuses(kind), b.status) {
			t.Fatalf("accepted status %q for a %s", b.status, kind)
		}
	})
}

func FuzzParseObservation(f *testing.F) {
	fuzzParser(f, clinical.KindObservation, parseObservation,
		`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/abc"},"effectiveDateTime":"2026-11-24T08:00:00Z","valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}`,
		`{"resourceType":"Observation","id":"x","status":"entered-in-error","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},"subject":{"reference":"https://h/fhir/R4/Patient/abc"},"component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"code":"mm[Hg]"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueQuantity":{"value":80}}],"note":[{"text":"sitting"}]}`,
		`{"resourceType":"Observation","status":"final","code":{"coding":[{"code":"29463-7"}]},"subject":{"reference":"Patient/"},"effectiveDateTime":"ge2020"}`,
	)
}

func FuzzParseCondition(f *testing.F) {
	fuzzParser(f, clinical.KindCondition, parseCondition,
		`{"resourceType":"Condition","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"resolved"}]},"code":{"text":"Migraine"},"subject":{"reference":"Patient/abc"},"onsetDateTime":"2024-05"}`,
		`{"resourceType":"Condition","verificationStatus":{"coding":[{"code":"entered-in-error"}]},"code":{"coding":[{"system":"http://snomed.info/sct","code":"195967001","display":"Asthma"}]},"subject":{"reference":"Group/abc"}}`,
	)
}

func FuzzParseAllergy(f *testing.F) {
	fuzzParser(f, clinical.KindAllergy, parseAllergy,
		`{"resourceType":"AllergyIntolerance","clinicalStatus":{"coding":[{"code":"inactive"}]},"category":["food"],"code":{"text":"Cashew"},"patient":{"reference":"Patient/abc"},"reaction":[{"manifestation":[{"text":"swelling"}],"severity":"severe"}]}`,
		`{"resourceType":"AllergyIntolerance","category":["food","medication"],"code":{"coding":[{"code":"7980"}]},"patient":{"reference":"Patient/abc"},"reaction":[{},{}]}`,
	)
}
