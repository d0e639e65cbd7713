-- Governance operations as they ran (package governance): backups, restore drills, key
-- rotations, retention purges. The compliance report reads its evidence here ("last successful
-- backup", "last restore drill", "key rotation age"). Identifiers, times and counts only.
CREATE TABLE governance_runs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    ok          INTEGER NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX governance_runs_kind ON governance_runs(kind, started_at);
