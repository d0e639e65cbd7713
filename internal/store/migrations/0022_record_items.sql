-- The structured record (package clinical): problems (conditions), allergies and
-- intolerances, medications the patient takes, observations (vital signs, with LOINC codes)
-- and immunizations. One row per item; everything a reader could learn a diagnosis from (the
-- name, the code, the value, the reaction) is in body_ct, a JSON document sealed under the
-- patient's key. In clear: the kind of item, its status and its times, which the record page
-- sorts and filters by.
CREATE TABLE record_items (
    id               TEXT PRIMARY KEY,
    patient_id       TEXT NOT NULL REFERENCES patients(id),
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    body_ct          BYTEA NOT NULL,
    patient_reported INTEGER NOT NULL DEFAULT 0,
    recorded_by      TEXT NOT NULL,
    effective_at     BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX record_items_patient ON record_items(patient_id, kind, effective_at);
