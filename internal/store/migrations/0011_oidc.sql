-- A federated (OpenID Connect) sign-in between Haven's redirect to the identity provider and the
-- provider's answer: single use, ten minutes. The browser holds the secret the state, nonce and
-- PKCE verifier are derived from; the database keeps only the state's SHA-256, so nothing here
-- can finish a sign-in.
CREATE TABLE oidc_logins (
    state_hash BYTEA PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
