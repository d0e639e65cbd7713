-- A staff member's pending move to another e-mail address: it takes effect when the single-use
-- link sent to the new address (30 minutes) is opened, which proves the address is theirs. The
-- new address is sealed under the directory key at the location it will have on the account,
-- with its blind index beside it. Asking again replaces an unused request.
CREATE TABLE email_changes (
    token_hash     BYTEA PRIMARY KEY,
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    new_email_bidx BYTEA NOT NULL,
    new_email_ct   BYTEA NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX email_changes_account ON email_changes(account_id);
