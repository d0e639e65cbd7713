-- Reminders (package visits). A reminder is claimed for the start it announces: when an
-- appointment is moved, its claims name the old start, so the reminders for the new time are
-- claimed (and sent) afresh. Claims from before this column hold 0 and are renewed the same way.
ALTER TABLE appointment_reminders ADD COLUMN start_at BIGINT NOT NULL DEFAULT 0;

-- Every reminder pass looks for the live appointments starting within the next day.
CREATE INDEX appointments_live_start ON appointments(start_at) WHERE state IN ('booked', 'waiting');
