-- The live appointments of one clinician in a window, as a slot query asks for them
-- (visits.busy): a partial index holding every column the query reads, so that a month of
-- slots is answered from the index alone, without reading the appointments' rows.
CREATE INDEX appointments_busy ON appointments(clinician_id, start_at, end_at) WHERE state <> 'cancelled';
