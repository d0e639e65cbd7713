-- End-to-end encrypted consultations (package consult, docs/e2ee.md). Nothing here is
-- plaintext PHI: device keys are public keys (each addition a leaf of the audit log, whose seq
-- added_seq names), a message's envelope and an attachment's bytes are ciphertext stored as
-- they came. In clear: identifiers, sizes, sequence numbers and times, which the server needs
-- to check senders, order and limits.
CREATE TABLE device_keys (
    device_id   TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    sign_key    TEXT NOT NULL,
    agree_key   TEXT NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    fingerprint TEXT NOT NULL,
    added_seq   BIGINT NOT NULL,
    added_at    BIGINT NOT NULL,
    removed_at  BIGINT
);
CREATE INDEX device_keys_account ON device_keys(account_id);

CREATE TABLE consult_messages (
    thread         TEXT NOT NULL,
    id             TEXT NOT NULL,
    sender_account TEXT NOT NULL,
    sender_device  TEXT NOT NULL,
    seq            BIGINT NOT NULL,
    envelope       BYTEA NOT NULL,
    size_bytes     BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (thread, id)
);
CREATE UNIQUE INDEX consult_messages_seq ON consult_messages(thread, sender_device, seq);
CREATE INDEX consult_messages_order ON consult_messages(thread, created_at);

CREATE TABLE consult_attachments (
    thread         TEXT NOT NULL,
    id             TEXT NOT NULL,
    sender_account TEXT NOT NULL,
    size_bytes     BIGINT NOT NULL,
    bytes          BYTEA NOT NULL,
    created_at     BIGINT NOT NULL,
    PRIMARY KEY (thread, id)
);
