-- Versions of structured record items (package clinical), for FHIR's If-Match: every change to
-- an item bumps its version, and a write naming an older version is refused, so two systems
-- that read the same item cannot overwrite each other's change unseen. Existing items start
-- at version 1.
ALTER TABLE record_items ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
