package fhir

import (
	"context"
	"strings"
	"time"

	"haven/internal/fault"
	"haven/internal/visits"
)

// Consent is one of a patient's acceptances of the telehealth consent (package visits):
// consent to treatment by video, the version they accepted and when, and that version's
// words. Its id is "<patientId>.<version>" (the version is the month it took effect, 2026-11),
// so an acceptance of a newer version is a new resource. It is active while its version is
// the one in force, word for word, and inactive once a newer text replaced it.
type Consent struct {
	Head
	Status           string            `json:"status"`
	Scope            *CodeableConcept  `json:"scope"`
	Category         []CodeableConcept `json:"category"`
	Patient          *Reference        `json:"patient"`
	DateTime         string            `json:"dateTime,omitempty"`
	Performer        []*Reference      `json:"performer,omitempty"`
	SourceAttachment *consentSource    `json:"sourceAttachment,omitempty"`
	PolicyRule       *CodeableConcept  `json:"policyRule"`
	Provision        *consentProvision `json:"provision,omitempty"`
}

// consentSource is the text the patient accepted, as an attachment.
type consentSource struct {
	ContentType string `json:"contentType,omitempty"`
	Language    string `json:"language,omitempty"`
	Data        []byte `json:"data,omitempty"`
	Title       string `json:"title,omitempty"`
	Creation    string `json:"creation,omitempty"`
}

// consentProvision says what the consent permits and from when.
type consentProvision struct {
	Type   string  `json:"type"`
	Period *Period `json:"period,omitempty"`
}

func (f *FHIR) consentType() *Type {
	return &Type{
		Name: "Consent",
		Read: func(ctx context.Context, c Caller, id string) (Resource, error) {
			patientID, version, ok := strings.Cut(id, ".")
			if !ok || patientID == "" || version == "" {
				return nil, errNoConsent
			}
			res, err := f.consents(ctx, c, patientID, NewQuery(nil))
			if err != nil {
				return nil, err
			}
			for _, r := range res {
				if HeadOf(r).ID == id {
					return r, nil
				}
			}
			return nil, errNoConsent
		},
		Search: func(ctx context.Context, c Caller, q Query) ([]Resource, error) {
			patientID, err := docPatient(q, c)
			if err != nil {
				return nil, err
			}
			return f.consents(ctx, c, patientID, q)
		},
		Params: docPatientParams(
			Param{Name: "status", Type: "token", Doc: "active (the version in force) or inactive (a version since replaced)"},
			Param{Name: "date", Type: "date", Doc: "when the patient accepted it, with a prefix"},
		),
		Everything: func(ctx context.Context, c Caller, patientID string) ([]Resource, error) {
			return f.consents(ctx, c, patientID, NewQuery(nil))
		},
	}
}

// errNoConsent answers a Consent id that names no acceptance Haven holds.
var errNoConsent = fault.New(fault.NotFound, "no such consent; search Consent?patient=Patient/<id> for the patient's")

// consents are the patient's acceptances matching q, newest first: none if they accepted
// none.
func (f *FHIR) consents(ctx context.Context, c Caller, patientID string, q Query) ([]Resource, error) {
	dates, err := q.Dates("date")
	if err != nil {
		return nil, err
	}
	sts, err := f.d.Visits.ConsentHistory(ctx, c.By, patientID, c.Origin)
	if err != nil {
		return nil, err
	}
	out := []Resource{}
	for _, st := range sts {
		cr := consent(patientID, st)
		if docStatus(q, "http://hl7.org/fhir/consent-state-codes", cr.Status) && MatchDates(dates, st.AcceptedAt, time.Time{}) {
			out = append(out, cr)
		}
	}
	return out, nil
}

func consent(patientID string, st visits.ConsentStatus) *Consent {
	status := "inactive"
	if st.Current {
		status = "active"
	}
	accepted := Instant(st.AcceptedAt)
	title := "Haven telehealth consent, version " + st.Version
	cr := &Consent{
		Head:   NewHead("Consent", patientID+"."+st.Version, st.AcceptedAt, 0),
		Status: status,
		Scope: &CodeableConcept{Coding: []Coding{{System: "http://terminology.hl7.org/CodeSystem/consentscope", Code: "treatment", Display: "Treatment"}},
			Text: "Care by video visit"},
		Category:         []CodeableConcept{{Coding: []Coding{{System: SystemLOINC, Code: "59284-0", Display: "Patient Consent"}}, Text: "Telehealth consent"}},
		Patient:          Ref("Patient", patientID),
		DateTime:         accepted,
		Performer:        []*Reference{Ref("Patient", patientID)},
		PolicyRule:       &CodeableConcept{Coding: []Coding{{System: SystemActCode, Code: "OPTIN", Display: "opt-in"}}, Text: title},
		Provision:        &consentProvision{Type: "permit", Period: &Period{Start: accepted}},
		SourceAttachment: &consentSource{ContentType: "text/markdown; charset=utf-8", Language: "en", Title: title, Creation: accepted},
	}
	if st.Text != "" {
		cr.SourceAttachment.Data = []byte(st.Text)
	}
	return cr
}
