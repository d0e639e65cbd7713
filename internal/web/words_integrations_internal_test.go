package web

import (
	"time"

	"haven/internal/smart"
)

// integrationsFixtures are the administrator's Connected systems page: one system in force,
// one disabled, and the form refilled after an error.
func integrationsFixtures(when time.Time) map[string][]page {
	lab := smart.Client{ID: "k3v9q2m7x4c8b6n1p5r0t2w8yz", Name: "Acme Labs", Scopes: "system/Observation.crs system/Patient.r",
		Purpose: "TREAT", AgreementStart: "2026-01-01", AgreementEnd: "2027-12-31", CreatedAt: when}
	billing := smart.Client{ID: "a7d2f9h4j6k1l3m5n8p0q2r4st", Name: "Northside Billing", Scopes: "system/Claim.rs", Purpose: "HPAYMT",
		AgreementStart: "2025-01-01", AgreementEnd: "2025-12-31", Disabled: true, CreatedAt: when.Add(-300 * 24 * time.Hour)}
	d := integrationsData{TokenURL: "https://haven.test/fhir/R4/auth/token", Systems: []systemView{
		{Client: lab, PurposeWords: "care (treatment)", Status: "In force until 31 December 2027", Keys: "one key, P-384"},
		{Client: billing, PurposeWords: "billing (payment)", Status: "Disabled", Keys: "a key address"},
	}}
	refilled := d
	refilled.Form = systemForm{Name: "Eastside Imaging", Scopes: "system/DocumentReference.rs", Purpose: "TREAT", AgreementStart: "2026-12-01", AgreementEnd: "2027-11-30"}
	return map[string][]page{"integrations": {{Title: "Connected systems", Data: d}, {Title: "Connected systems", Data: refilled, Error: "Keys: paste the system's public JWK Set, or its https address"}}}
}
