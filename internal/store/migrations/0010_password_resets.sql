-- Single-use password-reset links (30 minutes), stored as the SHA-256 of the token. issued_by
-- is the account that asked for the link, the account itself for a self-service request.
-- Issuing a new link for an account deletes its unused ones.
CREATE TABLE password_resets (
    token_hash BYTEA PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id),
    issued_by  TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX password_resets_account ON password_resets(account_id);

-- Browsers an account has fully signed in from, by keyed hash of a long-lived device cookie, so
-- that a sign-in from anywhere else sends a notice.
CREATE TABLE known_devices (
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    device_hash BYTEA NOT NULL,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    PRIMARY KEY (account_id, device_hash)
);
