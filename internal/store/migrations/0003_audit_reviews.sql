-- Reports of accesses a patient does not recognise, for the privacy officer (auditor) to review.
CREATE TABLE audit_reviews (
    id          TEXT PRIMARY KEY,
    entry_seq   BIGINT NOT NULL,
    patient_id  TEXT NOT NULL,
    reported_by TEXT NOT NULL,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    resolved_by TEXT,
    resolved_at BIGINT
);
CREATE INDEX audit_reviews_status ON audit_reviews(status, created_at);
CREATE INDEX audit_entries_actor ON audit_entries(actor_id, seq);
