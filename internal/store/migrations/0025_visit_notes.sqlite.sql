-- (SQLite; the PostgreSQL version differs only in how the trigger is written.)
-- Visit notes and addenda (package clinical, visitnotes.go). A note may now belong to a visit,
-- be structured (subjective, objective, assessment, plan: a JSON document in body_ct, sealed as
-- before), be a draft its author still edits, or be signed, after which it is never changed:
-- an addendum is a note of its own (kind 'addendum') whose amends names the note it amends.
-- sensitive says, in clear, that the note is in a sensitive category (which one is sealed in
-- the body) for later consent rules. The notes written before this step were final when
-- written: they count as signed by their author, when written.
ALTER TABLE notes ADD COLUMN kind TEXT NOT NULL DEFAULT 'note';
ALTER TABLE notes ADD COLUMN status TEXT NOT NULL DEFAULT 'signed';
ALTER TABLE notes ADD COLUMN visit_id TEXT;
ALTER TABLE notes ADD COLUMN signed_at BIGINT;
ALTER TABLE notes ADD COLUMN signed_by TEXT;
ALTER TABLE notes ADD COLUMN sensitive INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notes ADD COLUMN amends TEXT REFERENCES notes(id);
ALTER TABLE notes ADD COLUMN updated_at BIGINT;
UPDATE notes SET signed_at = created_at, signed_by = author_id, updated_at = created_at;
CREATE INDEX notes_amends ON notes(amends);
CREATE UNIQUE INDEX notes_visit ON notes(visit_id) WHERE kind = 'visit';
-- A signed note is never changed, whatever path writes: the database refuses it too.
CREATE TRIGGER notes_signed_frozen BEFORE UPDATE ON notes FOR EACH ROW WHEN OLD.status = 'signed'
BEGIN SELECT RAISE(ABORT, 'a signed note is never changed'); END;
