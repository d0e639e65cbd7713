-- Haven schema, version 1. Written once for both dialects: BYTEA is PostgreSQL's byte type and
-- SQLite stores blobs unchanged under it. Times are Unix nanoseconds (UTC).
-- No column holds plaintext PHI: *_ct columns are AEAD ciphertexts sealed by package keys with
-- associated data naming table, row and field; *_bidx columns are blind indexes (HMAC).

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

-- Key hierarchy: Tink keysets wrapped (encrypted) by the root key from the KMS.
CREATE TABLE system_keys (
    name       TEXT PRIMARY KEY,
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE patient_keys (
    patient_id TEXT PRIMARY KEY,
    wrapped    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE accounts (
    id             TEXT PRIMARY KEY,
    role           TEXT NOT NULL,
    status         TEXT NOT NULL,
    email_bidx     BYTEA NOT NULL UNIQUE,
    -- Workforce contact details, sealed under the directory key. NULL for patients, whose
    -- details live only in their (per-patient encrypted) record.
    email_ct       BYTEA,
    name_ct        BYTEA,
    patient_id     TEXT,
    password_hash  TEXT,
    totp_secret_ct BYTEA,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash   BYTEA PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id),
    stage        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    totp_pending_ct BYTEA
);
CREATE INDEX sessions_account ON sessions(account_id);

CREATE TABLE invites (
    token_hash BYTEA PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    issued_by  TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE TABLE patients (
    id              TEXT PRIMARY KEY,
    name_ct         BYTEA NOT NULL,
    birth_date_ct   BYTEA NOT NULL,
    phone_ct        BYTEA NOT NULL,
    email_ct        BYTEA NOT NULL,
    name_bidx       BYTEA NOT NULL,
    birth_date_bidx BYTEA NOT NULL,
    phone_bidx      BYTEA NOT NULL,
    email_bidx      BYTEA NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX patients_name_bidx ON patients(name_bidx);
CREATE INDEX patients_birth_date_bidx ON patients(birth_date_bidx);
CREATE INDEX patients_phone_bidx ON patients(phone_bidx);
CREATE INDEX patients_email_bidx ON patients(email_bidx);

CREATE TABLE care_team (
    patient_id   TEXT NOT NULL REFERENCES patients(id),
    clinician_id TEXT NOT NULL REFERENCES accounts(id),
    relation     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (patient_id, clinician_id)
);
CREATE INDEX care_team_clinician ON care_team(clinician_id);

CREATE TABLE notes (
    id         TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    author_id  TEXT NOT NULL REFERENCES accounts(id),
    body_ct    BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notes_patient ON notes(patient_id, created_at);

-- The audit log: one row per entry, hash-chained. seq is the 1-based log index.
CREATE TABLE audit_entries (
    seq           BIGINT PRIMARY KEY,
    recorded_at   BIGINT NOT NULL,
    actor_id      TEXT NOT NULL,
    actor_role    TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    patient_id    TEXT NOT NULL,
    outcome       TEXT NOT NULL,
    reason        TEXT NOT NULL,
    source_addr   TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    prev_hash     BYTEA NOT NULL,
    hash          BYTEA NOT NULL
);
CREATE INDEX audit_entries_patient ON audit_entries(patient_id, seq);

-- The head of the chain, written in the same transaction as each append, so a truncated log
-- no longer matches it. (Signed checkpoints replace it as the external anchor.)
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
