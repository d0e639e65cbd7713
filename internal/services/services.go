// Package services is the one set of domain services every transport receives (the JSON API,
// the browser UI, and later FHIR and signalling). A transport calls these and nothing below
// them: not the store, the keys, the policy or the audit log, which the services reach through
// the one door (package guard).
//
// It holds no behaviour; server builds it once.
package services

import (
	"context"
	"log/slog"
	"time"

	"haven/internal/billing"
	"haven/internal/clinical"
	"haven/internal/consult"
	"haven/internal/governance"
	"haven/internal/governance/compliance"
	"haven/internal/identity"
	"haven/internal/principal"
	"haven/internal/privacy"
	"haven/internal/smart"
	"haven/internal/visits"
)

// Services are what a transport may call.
type Services struct {
	Log      *slog.Logger
	Identity *identity.Service
	Records  *clinical.Records
	// Prescriptions are written, signed, printed and checked by a pharmacy (package clinical).
	Prescriptions *clinical.Prescriptions
	Privacy       *privacy.Service
	Visits        *visits.Service
	Billing       *billing.Service
	// Compliance is the compliance report (package governance/compliance).
	Compliance *compliance.Service
	// Governance keeps legal holds, erasure requests and the retention purge.
	Governance *governance.Service
	// Consult is the end-to-end encrypted consultation's server side: the key directory,
	// encrypted threads, TURN credentials and who may join a call (package consult).
	Consult *consult.Service
	// SMART registers connected systems and issues and checks their bearer tokens.
	SMART *smart.Service
	// Admit asks the one door whether by may perform action (a policy action name) on the
	// patient named, if any, recording a refusal. Transports call it before reading a body, so
	// a refusal never depends on what the body holds; the service then decides the act itself.
	Admit func(ctx context.Context, by principal.Subject, action, patientID string, o principal.Origin) error
	// AuditKey is the public checkpoint verifier key (note format): public by design.
	AuditKey string
	// BaseURL is the external URL one-time links start with, e.g. https://localhost:8443.
	BaseURL string
	Version string
	// Zone is the deployment's time zone (--time-zone): pages show times in it when the
	// reader's browser has not said its own. Nil means UTC.
	Zone *time.Location
}
