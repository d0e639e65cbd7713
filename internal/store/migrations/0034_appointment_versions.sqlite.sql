-- An appointment's version (package visits), for FHIR's If-Match: 1 when booked, one more on
-- every change of the row. A trigger bumps it so that no UPDATE, today's or a later one, can
-- change an appointment without a new version; a statement that sets the version itself (none
-- does) is left alone. SQLite: AFTER UPDATE, recursive triggers off (the default) and the WHEN
-- guard keep the trigger's own UPDATE from firing it again.
ALTER TABLE appointments ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
CREATE TRIGGER appointments_version AFTER UPDATE ON appointments FOR EACH ROW WHEN NEW.version = OLD.version BEGIN UPDATE appointments SET version = OLD.version + 1 WHERE id = NEW.id; END;
