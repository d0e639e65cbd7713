package fhir

import (
	"context"
	"time"

	"haven/internal/billing"
	"haven/internal/principal"
)

// Claim is a charge (package billing) as the billing export writes it (billing.FHIRClaim): a
// professional claim for one visit, its ICD-10-CM diagnoses and CPT or HCPCS items, self-pay
// coverage. A patient sees their own once billed; the billing role every charge; a clinician
// the charges of the patients in their care; a connected system with a Claim scope, as the
// policy allows.
type Claim struct {
	Head
	billing.ClaimBody
}

func (f *FHIR) claimType() *Type {
	return &Type{
		Name: "Claim",
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			ch, err := f.d.Billing.Get(ctx, c.By, id, c.Origin)
			if err != nil {
				return nil, err
			}
			return claim(ch), nil
		},
		Search: f.searchClaims,
		Params: []Param{
			{Name: "patient", Type: "reference", Doc: "the patient (Patient/<id>); without it, every charge the caller may see, the newest 1000 visits"},
			{Name: "status", Type: "token", Doc: "draft, active (submitted, paid or denied) or cancelled (void)"},
			{Name: "created", Type: "date", Doc: "when the charge was recorded, with a prefix"},
			{Name: "use", Type: "token", Doc: "claim: every charge is one"},
		},
		Everything: func(ctx context.Context, c Caller, patientID string) ([]Resource, error) {
			return f.claims(ctx, c, patientID, NewQuery(nil))
		},
	}
}

func (f *FHIR) searchClaims(ctx context.Context, c Caller, q Query) ([]Resource, error) {
	if len(q.Values("patient")) > 1 || (len(q.Values("patient")) == 1 && len(q.Values("patient")[0]) > 1) {
		return nil, ErrInvalid("patient names one patient here; search once per patient")
	}
	patientID, _, err := q.Reference("patient", "Patient")
	if err != nil {
		return nil, err
	}
	if c.By.Role == principal.Patient && patientID != "" && patientID != c.By.PatientID {
		// The charges service shows a patient their own whatever they name; a search naming
		// another patient is refused, and recorded, instead of answered with the wrong record.
		if err := f.d.Admit(ctx, c.By, "charge.read", patientID, c.Origin); err != nil {
			return nil, err
		}
	}
	return f.claims(ctx, c, patientID, q)
}

// claims are the charges the caller may see (of one patient, if named) matching q, newest
// visit first, at most billing.MaxList.
func (f *FHIR) claims(ctx context.Context, c Caller, patientID string, q Query) ([]Resource, error) {
	created, err := q.Dates("created")
	if err != nil {
		return nil, err
	}
	cs, err := f.d.Billing.List(ctx, c.By, billing.Filter{PatientID: patientID}, c.Origin)
	if err != nil {
		return nil, err
	}
	out := []Resource{}
	for _, ch := range cs {
		cl := claim(ch)
		if !docStatus(q, "http://hl7.org/fhir/fm-status", cl.Status) || !MatchDates(created, ch.CreatedAt, time.Time{}) ||
			!MatchTokens(q.Tokens("use"), Coding{System: "http://hl7.org/fhir/claim-use", Code: cl.Use}) {
			continue
		}
		out = append(out, cl)
	}
	return out, nil
}

func claim(ch billing.Charge) *Claim {
	return &Claim{Head: NewHead("Claim", ch.ID, ch.UpdatedAt, 0), ClaimBody: billing.FHIRClaim(ch)}
}
