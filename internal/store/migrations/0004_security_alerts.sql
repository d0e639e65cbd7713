-- Security alerts raised by the detectors (package monitor), and patients whose records are
-- flagged (a colleague, a public figure) so that every staff access to them raises an alert.
CREATE TABLE security_alerts (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    severity   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    detail     TEXT NOT NULL,
    entry_seq  BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX security_alerts_created ON security_alerts(created_at);

CREATE TABLE flagged_patients (
    patient_id TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    flagged_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
