package billing

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"haven/internal/access"
	"haven/internal/guard"
)

// Export formats.
const (
	FormatCSV  = "csv"
	FormatFHIR = "fhir"
)

// Code systems a claim names.
const (
	SystemICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
	SystemCPT     = "http://www.ama-assn.org/go/cpt"
	// SelfPay is the coverage a claim names: Haven keeps no insurance details, and FHIR R4
	// requires a Claim to name one; the billing system replaces it with the patient's cover.
	SelfPay = "self-pay"
)

// Claimed is one exported charge with the demographics a claim needs.
type Claimed struct {
	Charge
	BirthDate string
}

// Export returns the charges f selects (all but void ones unless f names a status) for the
// billing system, as CSV or a FHIR R4 Bundle of Claims, and its media type. It is
// charge.export, which asks for a fresh second factor: the file leaves Haven. Each patient
// exported is recorded, and their name and birth date are read through the record's guarded
// demographics read, as the caller.
func (s *Service) Export(ctx context.Context, by access.Subject, f Filter, format string, o Origin) ([]byte, string, error) {
	if err := f.check(); err != nil {
		return nil, "", err
	}
	if format != FormatCSV && format != FormatFHIR {
		return nil, "", invalidFormat()
	}
	cs, err := guard.List(ctx, s.door, act(by, access.ExportCharge, "", f.PatientID, o), func(ctx context.Context) ([]Claimed, []guard.Disclosed, error) {
		rs, err := s.query(ctx, f)
		if err != nil {
			return nil, nil, err
		}
		if f.Status == "" {
			live := rs[:0]
			for _, r := range rs {
				if r.Status != Void {
					live = append(live, r)
				}
			}
			rs = live
		}
		charges, shown, err := s.disclose(ctx, by, access.ExportCharge, rs)
		if err != nil {
			return nil, nil, err
		}
		born := map[string]string{}
		out := make([]Claimed, 0, len(charges))
		for _, c := range charges {
			if _, ok := born[c.PatientID]; !ok {
				p, err := s.records.Demographics(ctx, by, c.PatientID, o)
				if err != nil {
					return nil, nil, err
				}
				born[c.PatientID] = p.BirthDate
			}
			out = append(out, Claimed{Charge: c, BirthDate: born[c.PatientID]})
		}
		return out, shown, nil
	})
	if err != nil {
		return nil, "", err
	}
	if format == FormatCSV {
		b, err := CSV(cs)
		return b, "text/csv; charset=utf-8", err
	}
	b, err := FHIRClaims(cs, s.now())
	return b, "application/fhir+json", err
}

// CSVHeader is the first row of a CSV export.
var CSVHeader = []string{"charge_id", "visit_date", "patient_id", "patient_name", "birth_date", "procedure_codes", "diagnosis_codes", "amount", "currency", "status"}

// CSV writes one row per charge under CSVHeader. Codes are joined by spaces; the amount is in
// major units with the currency's usual two decimals. A cell a spreadsheet would read as a
// formula (starting with =, +, -, @, a tab or a carriage return) is prefixed with a quote, so a
// name typed as "=HYPERLINK(...)" stays text; identifier cells are checked to be Haven's own
// identifiers instead, which hold no formula.
func CSV(cs []Claimed) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(CSVHeader); err != nil {
		return nil, fmt.Errorf("billing: csv: %w", err)
	}
	for _, c := range cs {
		rec := []string{c.ID, c.VisitAt.Format(time.DateOnly), c.PatientID, c.PatientName, c.BirthDate,
			join(c.ProcedureCodes), join(c.DiagnosisCodes), major(c.Amount), c.Currency, string(c.Status)}
		for i := range rec {
			if i == 0 || i == 2 {
				// Haven's own identifiers (base64url: letters, digits, - and _) may begin with
				// "-" yet cannot hold a formula's call; quoting them would break matching.
				if !identifier(rec[i]) {
					return nil, fmt.Errorf("billing: csv: a charge or patient identifier is not one of Haven's")
				}
				continue
			}
			rec[i] = Neutralise(rec[i])
		}
		if err := w.Write(rec); err != nil {
			return nil, fmt.Errorf("billing: csv: %w", err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("billing: csv: %w", err)
	}
	return b.Bytes(), nil
}

// Neutralise defuses a spreadsheet formula (CSV injection): a cell starting with =, +, -, @, a
// tab or a carriage return gets a leading quote.
func Neutralise(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}

func identifier(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(isDigit(b) || isUpper(b) || (b >= 'a' && b <= 'z') || b == '-' || b == '_') {
			return false
		}
	}
	return s != ""
}

func join(cs []string) string {
	var b bytes.Buffer
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c)
	}
	return b.String()
}

// major writes minor units as a decimal with two places (1234 → "12.34").
func major(minor int64) string {
	return strconv.FormatInt(minor/100, 10) + "." + fmt.Sprintf("%02d", minor%100)
}

// The FHIR R4 resources an export writes: only the elements Haven fills.
type (
	fhirBundle struct {
		ResourceType string        `json:"resourceType"`
		Type         string        `json:"type"`
		Timestamp    string        `json:"timestamp"`
		Entry        []bundleEntry `json:"entry"`
	}
	bundleEntry struct {
		Resource fhirClaim `json:"resource"`
	}
	fhirClaim struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		ClaimBody
	}
	// ClaimBody is a FHIR R4 Claim's elements after its resourceType and id, so that the
	// FHIR API (package fhir) serves the very Claim this export writes under its own head.
	ClaimBody struct {
		Status     string          `json:"status"`
		Type       codeableConcept `json:"type"`
		Use        string          `json:"use"`
		Patient    reference       `json:"patient"`
		BillablePd period          `json:"billablePeriod"`
		Created    string          `json:"created"`
		Provider   reference       `json:"provider"`
		Priority   codeableConcept `json:"priority"`
		Insurance  []insurance     `json:"insurance"`
		Diagnosis  []diagnosis     `json:"diagnosis"`
		Item       []item          `json:"item"`
		Total      money           `json:"total"`
	}
	coding struct {
		System string `json:"system"`
		Code   string `json:"code"`
	}
	codeableConcept struct {
		Coding []coding `json:"coding"`
	}
	reference struct {
		Reference string `json:"reference,omitempty"`
		Display   string `json:"display,omitempty"`
	}
	period struct {
		Start string `json:"start"`
	}
	insurance struct {
		Sequence int       `json:"sequence"`
		Focal    bool      `json:"focal"`
		Coverage reference `json:"coverage"`
	}
	diagnosis struct {
		Sequence             int             `json:"sequence"`
		DiagnosisCodeableCpt codeableConcept `json:"diagnosisCodeableConcept"`
	}
	item struct {
		Sequence         int             `json:"sequence"`
		DiagnosisSeq     []int           `json:"diagnosisSequence"`
		ProductOrService codeableConcept `json:"productOrService"`
		ServicedDate     string          `json:"servicedDate"`
		UnitPrice        money           `json:"unitPrice"`
		Net              money           `json:"net"`
	}
	money struct {
		Value    json.Number `json:"value"`
		Currency string      `json:"currency"`
	}
)

// FHIRClaims writes a FHIR R4 Bundle (type collection) of one Claim per charge: professional,
// use claim, priority normal, the patient and the treating clinician as references, a self-pay
// coverage (R4 requires one; Haven keeps no insurance), the ICD-10-CM diagnoses, and one item
// per procedure code (CPT or HCPCS, under the CPT system) with the charge's amount on the first
// item and zero on the rest, so the items add up to the total. A claim of a submitted, paid or
// denied charge is active; a draft's is draft; a void one's is cancelled.
func FHIRClaims(cs []Claimed, now time.Time) ([]byte, error) {
	b := fhirBundle{ResourceType: "Bundle", Type: "collection", Timestamp: now.UTC().Format(time.RFC3339), Entry: []bundleEntry{}}
	for _, c := range cs {
		b.Entry = append(b.Entry, bundleEntry{Resource: fhirClaim{ResourceType: "Claim", ID: c.ID, ClaimBody: FHIRClaim(c.Charge)}})
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("billing: fhir claims: %w", err)
	}
	return out, nil
}

// FHIRClaim is one charge's FHIR R4 Claim, as FHIRClaims writes it, without its resourceType
// and id.
func FHIRClaim(c Charge) ClaimBody {
	cl := ClaimBody{Status: claimStatus(c.Status),
		Type:       codeableConcept{Coding: []coding{{System: "http://terminology.hl7.org/CodeSystem/claim-type", Code: "professional"}}},
		Use:        "claim",
		Patient:    reference{Reference: "Patient/" + c.PatientID},
		BillablePd: period{Start: c.VisitAt.UTC().Format(time.RFC3339)},
		Created:    c.CreatedAt.UTC().Format(time.RFC3339),
		Provider:   reference{Reference: "Practitioner/" + c.ClinicianID},
		Priority:   codeableConcept{Coding: []coding{{System: "http://terminology.hl7.org/CodeSystem/processpriority", Code: "normal"}}},
		Insurance:  []insurance{{Sequence: 1, Focal: true, Coverage: reference{Display: SelfPay}}},
		Total:      money{Value: json.Number(major(c.Amount)), Currency: c.Currency},
	}
	seqs := make([]int, len(c.DiagnosisCodes))
	for i, d := range c.DiagnosisCodes {
		seqs[i] = i + 1
		cl.Diagnosis = append(cl.Diagnosis, diagnosis{Sequence: i + 1, DiagnosisCodeableCpt: codeableConcept{Coding: []coding{{System: SystemICD10CM, Code: d}}}})
	}
	for i, p := range c.ProcedureCodes {
		price := int64(0)
		if i == 0 {
			price = c.Amount
		}
		m := money{Value: json.Number(major(price)), Currency: c.Currency}
		cl.Item = append(cl.Item, item{Sequence: i + 1, DiagnosisSeq: seqs, ServicedDate: c.VisitAt.UTC().Format(time.DateOnly),
			ProductOrService: codeableConcept{Coding: []coding{{System: SystemCPT, Code: p}}}, UnitPrice: m, Net: m})
	}
	return cl
}

func claimStatus(s Status) string {
	switch s {
	case Draft:
		return "draft"
	case Void:
		return "cancelled"
	}
	return "active"
}
