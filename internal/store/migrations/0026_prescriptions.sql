-- Prescriptions (package clinical): written as a draft, signed by the prescriber (passkey
-- assertion or the prescriber's key), then dispensed once or cancelled. Everything a reader
-- could learn a treatment from (medication, strength, directions, notes, the signature over
-- them, the printed verification code) is in body_ct, a JSON document sealed under the
-- patient's key. In clear: identifiers, the state and its times. code_hash is SHA-256 of the
-- printed one-time verification code (with the prescription's identifier): the public check
-- compares it and never stores the code in clear.
CREATE TABLE prescriptions (
    id            TEXT PRIMARY KEY,
    patient_id    TEXT NOT NULL REFERENCES patients(id),
    prescriber_id TEXT NOT NULL,
    status        TEXT NOT NULL,
    body_ct       BYTEA NOT NULL,
    code_hash     BYTEA,
    renewed_from  TEXT NOT NULL DEFAULT '',
    issued_at     BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    signed_at     BIGINT NOT NULL DEFAULT 0,
    dispensed_at  BIGINT NOT NULL DEFAULT 0,
    cancelled_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX prescriptions_patient ON prescriptions(patient_id, created_at);
-- A signature counts only if its key is a "prescriber.key-add" leaf of the audit log: the
-- check looks the prescriber's leaves up by action and actor.
CREATE INDEX audit_entries_action_actor ON audit_entries(action, actor_id);
