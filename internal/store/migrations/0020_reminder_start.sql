-- A reminder is claimed for the start it announces: when an appointment is moved, its claims
-- name the old start, so the reminders for the new time are claimed (and sent) afresh. Claims
-- from before this column hold 0 and are renewed the same way.
ALTER TABLE appointment_reminders ADD COLUMN start_at BIGINT NOT NULL DEFAULT 0;
