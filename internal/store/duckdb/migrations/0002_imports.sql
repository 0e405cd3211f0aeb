-- 0002_imports: file import jobs and their reports; row fingerprints that let
-- a re-import tell created, updated and unchanged orders and products apart.

-- One row per import job. The report holds counts and rejected rows with
-- personal values masked; it never holds a raw personal value.
CREATE TABLE imports (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    source_id   TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    report      TEXT NOT NULL DEFAULT '{}'
);

ALTER TABLE orders ADD COLUMN row_hash TEXT;
ALTER TABLE products ADD COLUMN row_hash TEXT;
