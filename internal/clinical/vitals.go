package clinical

import (
	"fmt"
	"math"
	"strings"
)

// LOINC is the code system of every observation.
const LOINC = "http://loinc.org"

// Vital is one kind of observation Haven records: its LOINC code, its UCUM unit and the range
// a real measurement falls in. A value outside the range is refused as a likely typing
// mistake (a weight of 700 kg, a temperature of 98.6 °C), not as a clinical judgement.
type Vital struct {
	Code    string  `json:"code"`
	Name    string  `json:"name"` // as people say it, lower case ("blood pressure")
	Unit    string  `json:"unit"` // UCUM
	Display string  `json:"display"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	// Components are the parts of a measurement with several values (blood pressure), each
	// with its own code and range; a vital with components has no value of its own.
	Components []VitalPart `json:"components,omitempty"`
	// PatientMay: a patient records this one themselves at home.
	PatientMay bool `json:"patientMay,omitempty"`
}

// VitalPart is one component of a vital.
type VitalPart struct {
	Code string  `json:"code"`
	Name string  `json:"name"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// Vital codes.
const (
	CodeBloodPressure = "85354-9"
	CodeSystolic      = "8480-6"
	CodeDiastolic     = "8462-4"
	CodeHeartRate     = "8867-4"
	CodeBodyWeight    = "29463-7"
	CodeTemperature   = "8310-5"
	CodeGlucose       = "2339-0"
)

// Vitals is the fixed table of vital types Haven records, in the order the record shows them.
func Vitals() []Vital {
	return []Vital{
		{Code: CodeBloodPressure, Name: "blood pressure", Display: "Blood pressure panel", Unit: "mm[Hg]", PatientMay: true,
			Components: []VitalPart{{Code: CodeSystolic, Name: "systolic", Min: 50, Max: 300}, {Code: CodeDiastolic, Name: "diastolic", Min: 20, Max: 200}}},
		{Code: CodeHeartRate, Name: "heart rate", Display: "Heart rate", Unit: "/min", Min: 20, Max: 300},
		{Code: CodeBodyWeight, Name: "weight", Display: "Body weight", Unit: "kg", Min: 0.3, Max: 500, PatientMay: true},
		{Code: CodeTemperature, Name: "temperature", Display: "Body temperature", Unit: "Cel", Min: 25, Max: 45},
		{Code: CodeGlucose, Name: "glucose", Display: "Glucose [Mass/volume] in Blood", Unit: "mg/dL", Min: 10, Max: 1500, PatientMay: true},
	}
}

// VitalByCode returns the vital with a LOINC code.
func VitalByCode(code string) (Vital, bool) {
	for _, v := range Vitals() {
		if v.Code == code {
			return v, true
		}
	}
	return Vital{}, false
}

// UnitWords is a UCUM unit as people read it.
func UnitWords(ucum string) string {
	switch ucum {
	case "mm[Hg]":
		return "mmHg"
	case "/min":
		return "beats a minute"
	case "Cel":
		return "°C"
	}
	return ucum
}

// measure validates an observation's values against its vital and fills in the item's
// value, unit and components. Errors name the field and say what to enter.
func measure(it *Item, v Vital, in ItemInput) error {
	if in.Unit != "" && in.Unit != v.Unit {
		return fieldErr("unit", "enter %s in %s", v.Name, v.Unit)
	}
	it.Code = &Code{System: LOINC, Code: v.Code, Display: v.Display}
	it.Text = strings.ToUpper(v.Name[:1]) + v.Name[1:]
	it.Unit = v.Unit
	if len(v.Components) == 0 {
		if in.Value == nil {
			return fieldErr("value", "enter the %s", v.Name)
		}
		if err := inRange("value", v.Name, *in.Value, v.Min, v.Max, v.Unit); err != nil {
			return err
		}
		val := *in.Value
		it.Value = &val
		return nil
	}
	vals := map[string]*float64{CodeSystolic: in.Systolic, CodeDiastolic: in.Diastolic}
	for _, c := range in.Components {
		val := c.Value
		vals[c.Code.Code] = &val
	}
	for _, p := range v.Components {
		val := vals[p.Code]
		if val == nil {
			return fieldErr(p.Name, "enter the %s pressure", p.Name)
		}
		if err := inRange(p.Name, p.Name+" pressure", *val, p.Min, p.Max, v.Unit); err != nil {
			return err
		}
		it.Components = append(it.Components, Component{Code: Code{System: LOINC, Code: p.Code}, Value: *val, Unit: v.Unit})
	}
	if it.Components[0].Value <= it.Components[1].Value {
		return fieldErr("diastolic", "the diastolic pressure (the lower number) must be below the systolic")
	}
	return nil
}

func inRange(field, name string, val, lo, hi float64, unit string) error {
	if math.IsNaN(val) || math.IsInf(val, 0) || val < lo || val > hi {
		return fieldErr(field, "enter a %s between %s and %s %s", name, num(lo), num(hi), UnitWords(unit))
	}
	return nil
}

func num(f float64) string { return strings.TrimSuffix(fmt.Sprintf("%g", f), ".0") }
