-- The audit log as an RFC 6962 Merkle tree (golang.org/x/mod/sumdb/tlog): audit_hashes holds
-- the tree's stored hashes by tlog's stored-hash index; each audit entry's canonical encoding
-- is a leaf. audit_checkpoints holds signed tree heads (signed-note format).

CREATE TABLE audit_hashes (
    idx  BIGINT PRIMARY KEY,
    hash BYTEA NOT NULL
);

CREATE TABLE audit_checkpoints (
    size       BIGINT PRIMARY KEY,
    root       BYTEA NOT NULL,
    signed     BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
