-- Connected systems (package smart, SMART Backend Services): the clients an administrator
-- registered, the assertion ids (jti) each has used until they expire (a replay is refused), and
-- the bearer tokens issued, kept only as SHA-256 hashes. Administrative data: no PHI.
CREATE TABLE smart_clients (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    jwks            TEXT NOT NULL DEFAULT '',
    jwks_url        TEXT NOT NULL DEFAULT '',
    scopes          TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    agreement_start TEXT NOT NULL,
    agreement_end   TEXT NOT NULL,
    disabled        INTEGER NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE smart_assertions (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX smart_assertions_expiry ON smart_assertions(expires_at);

CREATE TABLE smart_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX smart_tokens_expiry ON smart_tokens(expires_at);
