-- Patient search tokens: how a clinician finds a patient by any name part in any order, a
-- prefix of one (3 to 8 characters), a phone number with or without its country code, a birth
-- date, or several of these together.
--
-- token_mac is an HMAC-SHA256 (keys.IndexSearch, under the search-index key, not the blind-index
-- key) of a typed word built from the record: "name:li", "nprefix:lop", "fullname:garcia jose
-- lopez maria", "phone:612345678" (the last nine digits), "birth:1980-02-29". No plaintext and
-- nothing reversible is stored; at most 64 rows per patient. The rows are written in the same
-- transaction as the record (clinical.writeSearchTokens). This migration fills nothing: records
-- from before it get their tokens when Haven starts (clinical.BackfillSearchTokens), which
-- opens them through the key service.
CREATE TABLE patient_search_tokens (
    patient_id TEXT NOT NULL REFERENCES patients(id),
    token_mac  BYTEA NOT NULL,
    PRIMARY KEY (patient_id, token_mac)
);
CREATE INDEX patient_search_tokens_mac ON patient_search_tokens(token_mac);
