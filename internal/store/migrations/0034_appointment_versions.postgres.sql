-- An appointment's version (package visits), for FHIR's If-Match: 1 when booked, one more on
-- every change of the row. A trigger bumps it so that no UPDATE, today's or a later one, can
-- change an appointment without a new version; a statement that sets the version itself (none
-- does) is left alone. Each statement is one line: the migration runner splits on lines that
-- end with a semicolon.
ALTER TABLE appointments ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
CREATE FUNCTION appointments_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.version = OLD.version THEN NEW.version := OLD.version + 1; END IF; RETURN NEW; END $$;
CREATE TRIGGER appointments_version BEFORE UPDATE ON appointments FOR EACH ROW EXECUTE FUNCTION appointments_version();
