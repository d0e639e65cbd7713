package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"haven/internal/server/servertest"
	"net/http"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// integrationBody is a connected system's registration for the JSON API, with a fresh P-384
// public key (its private half is thrown away: these tests never ask for a token).
func integrationBody(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := newIntegrationBody(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newIntegrationBody is integrationBody for a caller with no test at hand (a matrix cell's body).
func newIntegrationBody(name string) (map[string]any, error) {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: "walk", Algorithm: "ES384", Use: "sig"}}})
	if err != nil {
		return nil, err
	}
	return map[string]any{"name": name, "jwks": json.RawMessage(b), "scopes": "system/Observation.rs", "purpose": "TREAT",
		"agreementStart": "2026-01-01", "agreementEnd": "2027-12-31"}, nil
}

// fhirWritesPHI has a connected system write a Condition and an Observation into the
// patient's record over FHIR, each with canary text ("CANARY-FHIRCOND amyloidosis",
// "CANARY-FHIRNOTE from the lab's analyser"), and read the whole record back with
// $everything: what systems write is sealed like what people write.
func fhirWritesPHI(t *testing.T, e *servertest.Env, admin *servertest.Client, patientID string) {
	t.Helper()
	lab := e.RegisterIntegration(t, admin, "system/Condition.crs system/Observation.crs system/Patient.r")
	subject := map[string]any{"reference": "Patient/" + patientID}
	for _, body := range []map[string]any{
		{"resourceType": "Condition", "subject": subject, "code": map[string]any{"text": "CANARY-FHIRCOND amyloidosis"}},
		{"resourceType": "Observation", "status": "final", "subject": subject,
			"code":          map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "8867-4"}}},
			"valueQuantity": map[string]any{"value": 58, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"},
			"note":          []any{map[string]any{"text": "CANARY-FHIRNOTE from the lab's analyser"}}},
	} {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		if code, _, raw := lab.Do(t, "POST", "/fhir/R4/"+body["resourceType"].(string), b); code != http.StatusCreated {
			t.Fatalf("the lab's %s = %d %s", body["resourceType"], code, raw)
		}
	}
	code, _, raw := lab.Do(t, "GET", "/fhir/R4/Patient/"+patientID+"/$everything", nil)
	if code != http.StatusOK || !bytes.Contains(raw, []byte("CANARY-FHIRCOND")) || !bytes.Contains(raw, []byte("CANARY-FHIRNOTE")) {
		t.Fatalf("the lab's $everything = %d and does not hold what it wrote: %.300s", code, raw)
	}
}
