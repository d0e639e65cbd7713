-- Legal holds and erasure requests (package governance). Identifiers, fixed words and times
-- only: no PHI column. A hold with lifted_at NULL is in force; it stops every retention purge
-- and every erasure of that patient.
CREATE TABLE legal_holds (
    id         TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    placed_by  TEXT NOT NULL,
    reason     TEXT NOT NULL,
    placed_at  BIGINT NOT NULL,
    lifted_by  TEXT,
    lifted_at  BIGINT
);
CREATE INDEX legal_holds_patient ON legal_holds(patient_id, lifted_at);

-- Erasure requests: state is requested, approved or refused. The row stays after the erasure
-- (identifiers only): it is the record that the patient asked and the privacy officer decided.
CREATE TABLE erasure_requests (
    id           TEXT PRIMARY KEY,
    patient_id   TEXT NOT NULL REFERENCES patients(id),
    requested_by TEXT NOT NULL,
    state        TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    decided_by   TEXT,
    decided_at   BIGINT
);
CREATE INDEX erasure_requests_state ON erasure_requests(state, requested_at);
