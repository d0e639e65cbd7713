-- Purpose of use (HL7 v3 PurposeOfUse codes: TREAT, PATRQT, HCOMPL, HOPERAT, ETREAT), as FHIR
-- AuditEvent.purposeOfEvent carries it.
ALTER TABLE audit_entries ADD COLUMN purpose TEXT NOT NULL DEFAULT '';
