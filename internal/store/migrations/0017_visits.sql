-- Scheduling and visits (package visits). Times are Unix nanoseconds (UTC); a clinician's hours
-- are kept as they set them, in their own time zone, and slots are computed from them, never
-- stored one by one. Only the intake answers and a guest's name are PHI, sealed under the
-- patient's key like every PHI field (*_ct); the rest is identifiers, times and states.

-- A clinician's availability: the weekly hours and exceptions as set (JSON: time zone, slot and
-- buffer minutes, weekly ranges, exceptions), and whether they take patients who are not yet in
-- their care (when the clinic allows open booking).
CREATE TABLE availability (
    clinician_id TEXT PRIMARY KEY REFERENCES accounts(id),
    spec         TEXT NOT NULL,
    accepts_new  INTEGER NOT NULL DEFAULT 0,
    updated_by   TEXT NOT NULL,
    updated_at   BIGINT NOT NULL
);

-- An appointment is also its visit: the state moves booked → waiting (checked in) →
-- in-progress (admitted) → ended, or to cancelled or no-show. kind is 'scheduled' or
-- 'on-demand' (taken from the queue).
CREATE TABLE appointments (
    id               TEXT PRIMARY KEY,
    clinician_id     TEXT NOT NULL REFERENCES accounts(id),
    patient_id       TEXT NOT NULL REFERENCES patients(id),
    kind             TEXT NOT NULL,
    state            TEXT NOT NULL,
    start_at         BIGINT NOT NULL,
    end_at           BIGINT NOT NULL,
    booked_by        TEXT NOT NULL,
    booked_at        BIGINT NOT NULL,
    cancelled_at     BIGINT,
    checked_in_at    BIGINT,
    admitted_at      BIGINT,
    ended_at         BIGINT,
    consent_version  TEXT,
    guests_allowed_at BIGINT,
    intake_ct        BYTEA,
    summary_note_id  TEXT,
    follow_up_id     TEXT
);
-- A slot is booked once, however many requests race for it: the database refuses a second
-- live appointment at the same start with the same clinician (not a check-then-insert).
CREATE UNIQUE INDEX appointments_one_per_slot ON appointments(clinician_id, start_at)
    WHERE state <> 'cancelled';
CREATE INDEX appointments_clinician_start ON appointments(clinician_id, start_at);
CREATE INDEX appointments_patient_start ON appointments(patient_id, start_at);
-- The appointment relationship (access.ReasonAppointment) is looked up by this pair.
CREATE INDEX appointments_care ON appointments(clinician_id, patient_id, end_at);

-- Reminders sent, one row per appointment and kind ('day', 'hour'): the row is claimed before
-- the message is sent, so two Havens (or a restart) never send the same reminder twice.
CREATE TABLE appointment_reminders (
    appointment_id TEXT NOT NULL REFERENCES appointments(id),
    kind           TEXT NOT NULL,
    sent_at        BIGINT NOT NULL,
    PRIMARY KEY (appointment_id, kind)
);

-- Telehealth consent accepted: the version, the SHA-256 of the exact text shown, and when.
CREATE TABLE telehealth_consents (
    patient_id  TEXT NOT NULL REFERENCES patients(id),
    version     TEXT NOT NULL,
    text_sha256 BYTEA NOT NULL,
    accepted_by TEXT NOT NULL,
    accepted_at BIGINT NOT NULL,
    PRIMARY KEY (patient_id, version)
);

-- The on-demand queue: one place per patient while they wait; taken_by is set once, by the
-- first clinician whose update finds it unset.
CREATE TABLE visit_queue (
    id             TEXT PRIMARY KEY,
    patient_id     TEXT NOT NULL REFERENCES patients(id),
    joined_at      BIGINT NOT NULL,
    taken_by       TEXT,
    taken_at       BIGINT,
    appointment_id TEXT,
    left_at        BIGINT
);
CREATE UNIQUE INDEX visit_queue_one_place ON visit_queue(patient_id)
    WHERE taken_by IS NULL AND left_at IS NULL;

-- Guests of one visit. A guest signs in only by their single-use link (token_hash, SHA-256 of
-- the token), which expires with the visit; account_id is the guest's session principal (role
-- 'guest', no password, no factor). name_ct is sealed under the patient's key.
CREATE TABLE visit_guests (
    id             TEXT PRIMARY KEY,
    appointment_id TEXT NOT NULL REFERENCES appointments(id),
    account_id     TEXT NOT NULL REFERENCES accounts(id),
    name_ct        BYTEA NOT NULL,
    relation       TEXT NOT NULL,
    token_hash     BYTEA NOT NULL UNIQUE,
    invited_by     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX visit_guests_account ON visit_guests(account_id);

-- A clinician's private calendar feed: times only, no patient names. The feed's URL carries a
-- token whose SHA-256 is kept; revoking it (or making a new one) ends the old URL.
CREATE TABLE calendar_feeds (
    token_hash   BYTEA PRIMARY KEY,
    clinician_id TEXT NOT NULL REFERENCES accounts(id),
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX calendar_feeds_clinician ON calendar_feeds(clinician_id);
