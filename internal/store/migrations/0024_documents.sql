-- Documents and images in a patient's record (package clinical, documents.go): lab reports,
-- letters, photos a patient sends. The content, and what names it (the file's name, a
-- title), are sealed under the patient's key; an image's metadata was taken out before it was
-- sealed. In clear: the identifiers, the sniffed type (one of four), the size, who uploaded it
-- and when, which the list shows and sorts by.
CREATE TABLE documents (
    id           TEXT PRIMARY KEY,
    patient_id   TEXT NOT NULL REFERENCES patients(id),
    uploaded_by  TEXT NOT NULL,
    by_patient   INTEGER NOT NULL DEFAULT 0,
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    meta_ct      BYTEA NOT NULL,
    content_ct   BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX documents_patient ON documents(patient_id, created_at);
