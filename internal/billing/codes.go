package billing

import (
	"fmt"
	"strings"

	"haven/internal/fault"
)

// Limits on what a charge carries.
const (
	// MaxCodes bounds each list of codes on one charge.
	MaxCodes = 12
	// MaxNoteLength bounds a charge's note, in characters.
	MaxNoteLength = 2000
	// MaxAmount bounds a charge, in minor units (one million in major units).
	MaxAmount = 100_000_000
)

// ProcedureCode normalises a procedure code as entered and checks its shape: a CPT code (five
// digits, 99213; or four digits and F, T or U for category II, III and lab codes, 0001U) or a
// HCPCS level II code (a letter and four digits, J1100). No code database is consulted: a
// well-shaped code that does not exist is the billing system's to refuse.
func ProcedureCode(s string) (string, bool) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if len(c) != 5 {
		return "", false
	}
	switch {
	case digits(c[:4]) && (isDigit(c[4]) || c[4] == 'F' || c[4] == 'T' || c[4] == 'U'):
		return c, true
	case isUpper(c[0]) && digits(c[1:]):
		return c, true
	}
	return "", false
}

// DiagnosisCode normalises an ICD-10-CM code as entered and checks its shape: a letter, a
// digit, a digit or letter (the category), then optionally a dot and one to four digits or
// letters (J06.9, S52.521A). A code typed without its dot (J069) gets it back.
func DiagnosisCode(s string) (string, bool) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if !strings.Contains(c, ".") && len(c) > 3 {
		c = c[:3] + "." + c[3:]
	}
	cat, sub, dotted := strings.Cut(c, ".")
	if len(cat) != 3 || !isUpper(cat[0]) || !isDigit(cat[1]) || !(isDigit(cat[2]) || isUpper(cat[2])) {
		return "", false
	}
	if dotted {
		if len(sub) < 1 || len(sub) > 4 {
			return "", false
		}
		for i := 0; i < len(sub); i++ {
			if !isDigit(sub[i]) && !isUpper(sub[i]) {
				return "", false
			}
		}
	}
	return c, true
}

// codes checks a list of codes with valid, naming field in the error a person reads.
func codes(field string, in []string, valid func(string) (string, bool), example string) ([]string, error) {
	if len(in) == 0 || len(in) > MaxCodes {
		return nil, fault.InvalidField(field, fmt.Sprintf("enter 1 to %d codes, such as %s", MaxCodes, example))
	}
	out := make([]string, 0, len(in))
	seen := map[string]bool{}
	for _, s := range in {
		c, ok := valid(s)
		if !ok {
			return nil, fault.InvalidField(field, fmt.Sprintf("a code is not in the expected form; enter codes such as %s", example))
		}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out, nil
}

func procedureCodes(in []string) ([]string, error) {
	return codes("procedureCodes", in, ProcedureCode, "99213 (CPT) or J1100 (HCPCS)")
}

func diagnosisCodes(in []string) ([]string, error) {
	return codes("diagnosisCodes", in, DiagnosisCode, "J06.9 (ICD-10-CM)")
}

// currency checks an ISO 4217 alphabetic code's shape (three letters); empty takes def.
func currency(s, def string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(s))
	if c == "" {
		return def, nil
	}
	if len(c) != 3 || !isUpper(c[0]) || !isUpper(c[1]) || !isUpper(c[2]) {
		return "", fault.InvalidField("currency", "enter a three-letter currency code, such as USD")
	}
	return c, nil
}

func amount(v int64) error {
	if v <= 0 || v > MaxAmount {
		return fault.InvalidField("amount", fmt.Sprintf("enter an amount in cents (minor units) from 1 to %d", int64(MaxAmount)))
	}
	return nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }
func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }

func invalidFormat() error {
	return fault.InvalidField("format", "choose a format: csv or fhir")
}
