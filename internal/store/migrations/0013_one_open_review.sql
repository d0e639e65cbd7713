-- One open review per audit entry: a patient who reports the same access twice (a double click,
-- a retry) adds nothing to the privacy officer's queue. Reviews opened twice before this rule
-- keep the earliest open; the later ones are marked 'duplicate' (closed, by no one), so that
-- the unique index below can be built on a database that already has them.
UPDATE audit_reviews SET status = 'duplicate', resolved_at = created_at
WHERE status = 'open' AND EXISTS (
    SELECT 1 FROM audit_reviews AS first
    WHERE first.entry_seq = audit_reviews.entry_seq AND first.status = 'open'
      AND (first.created_at < audit_reviews.created_at
           OR (first.created_at = audit_reviews.created_at AND first.id < audit_reviews.id)));
CREATE UNIQUE INDEX audit_reviews_one_open ON audit_reviews(entry_seq) WHERE status = 'open';
