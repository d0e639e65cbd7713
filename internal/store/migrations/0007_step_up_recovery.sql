-- Step-up: when this session last passed a second factor.
ALTER TABLE sessions ADD COLUMN mfa_at BIGINT NOT NULL DEFAULT 0;

-- Single-use recovery codes, stored as HMACs under a key the root key wraps.
CREATE TABLE recovery_codes (
    account_id TEXT NOT NULL REFERENCES accounts(id),
    code_mac   BYTEA NOT NULL,
    used_at    BIGINT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, code_mac)
);
