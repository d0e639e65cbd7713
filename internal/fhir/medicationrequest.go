package fhir

import (
	"context"
	"strconv"
	"strings"
	"time"

	"haven/internal/clinical"
)

// MedicationRequest is a prescription (package clinical): a draft, signed, cancelled or
// dispensed order, with the medication as coded or as written, the directions as printed and
// what the pharmacy may dispense.
type MedicationRequest struct {
	Head
	Status                    string           `json:"status"`
	Intent                    string           `json:"intent"`
	MedicationCodeableConcept *CodeableConcept `json:"medicationCodeableConcept"`
	Subject                   *Reference       `json:"subject"`
	AuthoredOn                string           `json:"authoredOn,omitempty"`
	Requester                 *Reference       `json:"requester,omitempty"`
	Note                      []Annotation     `json:"note,omitempty"`
	DosageInstruction         []mrDosage       `json:"dosageInstruction,omitempty"`
	DispenseRequest           *mrDispense      `json:"dispenseRequest,omitempty"`
	PriorPrescription         *Reference       `json:"priorPrescription,omitempty"`
}

// mrDosage is a MedicationRequest's directions, as text.
type mrDosage struct {
	Text string `json:"text"`
}

// mrDispense is what the pharmacy may dispense: the quantity and the refills.
type mrDispense struct {
	NumberOfRepeatsAllowed *int      `json:"numberOfRepeatsAllowed,omitempty"`
	Quantity               *Quantity `json:"quantity,omitempty"`
}

// systemRxStatus is MedicationRequest.status's code system.
const systemRxStatus = "http://hl7.org/fhir/CodeSystem/medicationrequest-status"

// rxStatus is a prescription state's MedicationRequest status: a signed prescription is an
// active order until it is dispensed (completed) or cancelled.
func rxStatus(s string) string {
	switch s {
	case clinical.RxDraft:
		return "draft"
	case clinical.RxSigned:
		return "active"
	case clinical.RxDispensed:
		return "completed"
	case clinical.RxCancelled:
		return "cancelled"
	}
	return "unknown"
}

func (f *FHIR) medicationRequestType() *Type {
	return &Type{
		Name: "MedicationRequest",
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			p, err := f.d.Prescriptions.Get(ctx, c.By, id, c.Origin)
			if err != nil {
				return nil, err
			}
			return medicationRequest(p), nil
		},
		Search: f.searchMedicationRequests,
		Params: docPatientParams(
			Param{Name: "status", Type: "token", Doc: "draft, active (signed), completed (dispensed) or cancelled"},
			Param{Name: "intent", Type: "token", Doc: "order: every prescription is one"},
			Param{Name: "authoredon", Type: "date", Doc: "when the prescription was issued (or written, for a draft), with a prefix"},
			Param{Name: "code", Type: "token", Doc: "the medication's code (RxNorm or the system the prescriber named), system|code or code"},
		),
		Everything: func(ctx context.Context, c Caller, patientID string) ([]Resource, error) {
			return f.medicationRequests(ctx, c, patientID, NewQuery(nil))
		},
	}
}

func (f *FHIR) searchMedicationRequests(ctx context.Context, c Caller, q Query) ([]Resource, error) {
	patientID, err := docPatient(q, c)
	if err != nil {
		return nil, err
	}
	return f.medicationRequests(ctx, c, patientID, q)
}

// medicationRequests are a patient's prescriptions matching q, newest first.
func (f *FHIR) medicationRequests(ctx context.Context, c Caller, patientID string, q Query) ([]Resource, error) {
	authored, err := q.Dates("authoredon")
	if err != nil {
		return nil, err
	}
	ps, err := f.d.Prescriptions.List(ctx, c.By, patientID, c.Origin)
	if err != nil {
		return nil, err
	}
	out := []Resource{}
	for _, p := range ps {
		mr := medicationRequest(p)
		if !docStatus(q, systemRxStatus, mr.Status) || !MatchTokens(q.Tokens("intent"), Coding{System: "http://hl7.org/fhir/CodeSystem/medicationrequest-intent", Code: mr.Intent}) ||
			!MatchDates(authored, rxAuthored(p), time.Time{}) || !MatchTokens(q.Tokens("code"), mr.MedicationCodeableConcept.Coding...) {
			continue
		}
		out = append(out, mr)
	}
	return out, nil
}

// rxAuthored is when a prescription was issued, or, a draft, written.
func rxAuthored(p clinical.Prescription) time.Time {
	if p.IssuedAt != nil {
		return *p.IssuedAt
	}
	return p.CreatedAt
}

func medicationRequest(p clinical.Prescription) *MedicationRequest {
	mr := &MedicationRequest{
		Head:       NewHead("MedicationRequest", p.ID, p.UpdatedAt, 0),
		Status:     rxStatus(p.Status),
		Intent:     "order",
		Subject:    Ref("Patient", p.PatientID),
		AuthoredOn: Instant(rxAuthored(p)),
		Requester:  &Reference{Reference: "Practitioner/" + p.PrescriberID, Display: p.PrescriberName},
	}
	med := &CodeableConcept{Text: p.Line()}
	if p.Code != "" {
		med.Coding = []Coding{{System: rxCodeSystem(p.CodeSystem), Code: p.Code, Display: p.Medication}}
	}
	if med.Text == "" {
		med.Text = p.Medication
	}
	mr.MedicationCodeableConcept = med
	if d := p.HowToTake(); d != "" {
		mr.DosageInstruction = []mrDosage{{Text: d}}
	}
	dispense := &mrDispense{}
	if p.Refills > 0 {
		dispense.NumberOfRepeatsAllowed = &p.Refills
	}
	if qty, ok := rxQuantity(p.Quantity); ok {
		dispense.Quantity = qty
	} else if p.Quantity != "" {
		mr.Note = append(mr.Note, Annotation{Text: "Quantity: " + p.Quantity})
	}
	if dispense.NumberOfRepeatsAllowed != nil || dispense.Quantity != nil {
		mr.DispenseRequest = dispense
	}
	if p.Notes != "" {
		mr.Note = append(mr.Note, Annotation{Text: p.Notes})
	}
	if p.Schedule != "" {
		mr.Note = append(mr.Note, Annotation{Text: "Controlled substance, schedule " + p.Schedule})
	}
	if p.RenewedFrom != "" {
		mr.PriorPrescription = Ref("MedicationRequest", p.RenewedFrom)
	}
	return mr
}

// rxCodeSystem is the FHIR system URI of the code system a prescriber named: RxNorm when
// they named none (Haven's prescriptions are coded in RxNorm), a URI as written, the usual
// URI of a known system's name, or none.
func rxCodeSystem(s string) string {
	switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", "")) {
	case "", "rxnorm", "rxcui":
		return SystemRxNorm
	case "snomed", "snomedct", "sct":
		return SystemSNOMED
	case "ndc":
		return "http://hl7.org/fhir/sid/ndc"
	}
	if strings.Contains(s, ":") && !strings.ContainsAny(s, " \t") {
		return s
	}
	return ""
}

// rxQuantity reads a prescription's quantity as written ("21 capsules", "100 mL") as a
// number and its unit; a quantity that does not start with a number is kept as a note.
func rxQuantity(s string) (*Quantity, bool) {
	num, unit, _ := strings.Cut(strings.TrimSpace(s), " ")
	if num == "" || strings.Trim(num, "0123456789.") != "" || len(num) > 12 {
		return nil, false
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return nil, false
	}
	q := &Quantity{Value: &v}
	if unit = strings.TrimSpace(unit); unit != "" {
		q.Unit = unit
	}
	return q, true
}
