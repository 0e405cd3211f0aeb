-- 0008_import_state: the fingerprint of the last version of each record an
-- import wrote through the message writer (contacts), keyed by source, kind
-- and the record's key (its external id, else its user id, e-mail or phone).
-- A row whose fingerprint equals its record's is unchanged; any other is
-- written, so a value changed and then changed back is written both times.
-- Keys and fingerprints are digests; profile_id (the profile the record
-- resolved to when written) ties the row to a person, so erasure removes it
-- with the rest (store.PersonalData).
--
-- Append-only, without a key: a record's state is its row with the highest
-- seq. Keeping a primary key up to date cost a million-contact import about
-- a sixth of its time; only records that changed are appended.
CREATE SEQUENCE import_state_seq;
CREATE TABLE import_state (
    seq        BIGINT NOT NULL DEFAULT nextval('import_state_seq'),
    source_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    record_key TEXT NOT NULL,
    row_hash   TEXT NOT NULL,
    profile_id TEXT,
    updated_at TIMESTAMP NOT NULL
);
