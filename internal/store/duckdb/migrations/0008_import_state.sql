-- 0008_import_state: the fingerprint of the last version of each record an
-- import wrote through the message writer (contacts), keyed by source, kind
-- and the record's key (its external id, else its user id, e-mail or phone).
-- A row whose fingerprint equals its record's is unchanged; any other is
-- written, so a value changed and then changed back is written both times.
-- Keys and fingerprints are digests; profile_id (the profile the record
-- resolved to when written) ties the row to a person, so erasure removes it
-- with the rest (store.PersonalData).
CREATE TABLE import_state (
    source_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    record_key TEXT NOT NULL,
    row_hash   TEXT NOT NULL,
    profile_id TEXT,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source_id, kind, record_key)
);
