-- Charges (package billing): one live charge per visit (an appointment is its visit), for a
-- visit that ended. The procedure and diagnosis codes, and any note, tell what the patient was
-- treated for: they are PHI, sealed together under the patient's key in codes_ct (a JSON
-- document). In clear: the visit, the patient, who treated them, the amount in minor units and
-- its currency, the status and the times, which the billing list filters and sorts by.
CREATE TABLE charges (
    id             TEXT PRIMARY KEY,
    appointment_id TEXT NOT NULL REFERENCES appointments(id),
    patient_id     TEXT NOT NULL REFERENCES patients(id),
    clinician_id   TEXT NOT NULL,
    status         TEXT NOT NULL,
    amount         BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    codes_ct       BYTEA NOT NULL,
    visit_at       BIGINT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_by     TEXT NOT NULL,
    updated_at     BIGINT NOT NULL
);
-- One live charge per visit, however many requests race to write it: a voided charge leaves
-- room for its replacement.
CREATE UNIQUE INDEX charges_one_per_visit ON charges(appointment_id) WHERE status <> 'void';
CREATE INDEX charges_patient ON charges(patient_id, visit_at);
CREATE INDEX charges_status ON charges(status, visit_at);
