-- How the privacy officer closed a report: their finding ('justified' or 'unjustified') and a
-- note to the patient, sealed under the patient's own key (it is about their record). Reports
-- closed before this step, or through the API without a finding, keep an empty outcome.
ALTER TABLE audit_reviews ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_reviews ADD COLUMN outcome_note_ct BYTEA;
