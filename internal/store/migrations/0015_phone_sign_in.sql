-- Patients without an e-mail address sign in with their phone number.
--
-- accounts.phone_bidx is the blind index (keys.IndexPhone, HMAC under the index key) of the
-- phone number such a patient signs in with, in international form (see identity.SignInPhone);
-- NULL for every other account. It is a column of its own rather than a different kind of index
-- in email_bidx, so the two sign-in namespaces never mix. Two accounts cannot sign in with the
-- same number.
--
-- Such an account has no e-mail sign-in name, but email_bidx is NOT NULL UNIQUE: it holds a
-- random placeholder ("no-email:" and 16 random bytes) that is never equal to a blind index,
-- whose tags are longer. Its patient record holds the empty string sealed in email_ct and an
-- empty email_bidx, which no search matches.
--
-- A patient's pending e-mail change (email_changes) holds the new address sealed under the
-- patient's own key, at the place it will have on the record (patients, id, email); a staff
-- member's, under the directory key at accounts, id, email.
ALTER TABLE accounts ADD COLUMN phone_bidx BYTEA;
CREATE UNIQUE INDEX accounts_phone_bidx ON accounts(phone_bidx);
