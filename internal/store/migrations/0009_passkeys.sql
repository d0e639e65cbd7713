-- Passkeys (WebAuthn credentials). The credential (public key, sign count, flags) and the name
-- its owner gave it are sealed under the directory key with the row named in the associated
-- data, so a row copied onto another account does not open.
CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY, -- base64url credential ID
    account_id    TEXT NOT NULL REFERENCES accounts(id),
    name_ct       BYTEA NOT NULL,
    credential_ct BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX passkeys_account ON passkeys(account_id);

-- A WebAuthn ceremony between its options and the authenticator's answer: single use, five
-- minutes. account_id is empty for a passwordless sign-in, where the account is not known yet.
CREATE TABLE webauthn_ceremonies (
    token_hash BYTEA PRIMARY KEY,
    kind       TEXT NOT NULL,
    account_id TEXT NOT NULL,
    session    BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);
