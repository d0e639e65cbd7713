package web

import (
	"time"

	"haven/internal/smart"
)

// integrationsFixtures is realistic data for the administrator's connected systems: one active
// laboratory with its keys registered here, one whose agreement lapsed, one disabled, and the
// page just after a registration.
func integrationsFixtures(when time.Time) map[string][]page {
	lab := smart.Client{ID: "sys-1", Name: "Acme Labs", JWKS: map[string]any{"keys": []any{map[string]any{"kty": "EC"}}},
		Scopes: "system/Observation.rs system/Observation.c", Purpose: "TREAT", AgreementStart: "2026-01-01", AgreementEnd: "2027-12-31",
		AgreementInForce: true, CreatedAt: when}
	billing := smart.Client{ID: "sys-2", Name: "Northwind Billing", JWKSURL: "https://billing.example.test/jwks.json",
		Scopes: "system/Patient.r", Purpose: "HPAYMT", AgreementStart: "2024-01-01", AgreementEnd: "2025-12-31", CreatedAt: when}
	off := smart.Client{ID: "sys-3", Name: "Old EHR", JWKSURL: "https://ehr.example.test/jwks", Scopes: "system/Patient.r",
		Purpose: "HOPERAT", AgreementStart: "2026-01-01", AgreementEnd: "2026-12-31", AgreementInForce: true, Disabled: true, CreatedAt: when}
	token := "https://haven.test/fhir/auth/token"
	return map[string][]page{
		"integrations": {
			{Title: "Connected systems", Data: integrationsData{Systems: []systemView{viewOf(lab), viewOf(billing), viewOf(off)}, Form: systemForm{Purpose: "TREAT"}, TokenURL: token}},
			{Title: "Connected systems", Data: integrationsData{Form: systemForm{Name: "Acme Labs", Purpose: "HPAYMT"}, TokenURL: token,
				Done: &doneNotice{Message: "Acme Labs is registered. Its client ID is sys-1."}}},
		},
	}
}
