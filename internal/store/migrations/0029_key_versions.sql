-- Root key versions (package keys). Every wrapped key records the root key version it is under:
-- kek_version is the Tink key id of the root keyset's primary key at wrap time, the same id
-- Tink writes in front of the ciphertext. NULL on rows written before this migration: the
-- rotation reads the id from the ciphertext's prefix and stamps it as it rewraps.
ALTER TABLE patient_keys ADD COLUMN kek_version BIGINT;
ALTER TABLE system_keys ADD COLUMN kek_version BIGINT;
CREATE INDEX patient_keys_kek_version ON patient_keys(kek_version);

-- The root key's versions as `haven keys rotate` made and retired them: the compliance report's
-- "key rotation age" is the age of the newest one. Ids and times only.
CREATE TABLE root_key_versions (
    id         BIGINT PRIMARY KEY,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
