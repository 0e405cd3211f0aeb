-- 0004_activate: the durable delivery queue of destinations (docs/activation.md).
-- Columns are added before the unique index: DuckDB refuses ALTER TABLE on a
-- table that an index depends on.

-- When the destination last queued a full sync of its segments' members.
ALTER TABLE destinations ADD COLUMN updated_at TIMESTAMP;
ALTER TABLE destinations ADD COLUMN last_full_sync_at TIMESTAMP;

-- What a delivery is about, why its last attempt failed, and when it settled.
-- queued_at is when its current run of attempts began (creation, or the last
-- replay): max_age counts from it.
ALTER TABLE deliveries ADD COLUMN segment_id TEXT;
ALTER TABLE deliveries ADD COLUMN kind TEXT;
ALTER TABLE deliveries ADD COLUMN last_error TEXT;
ALTER TABLE deliveries ADD COLUMN last_status INTEGER;
ALTER TABLE deliveries ADD COLUMN queued_at TIMESTAMP;
ALTER TABLE deliveries ADD COLUMN delivered_at TIMESTAMP;
ALTER TABLE deliveries ADD COLUMN dead_at TIMESTAMP;

-- One row per logical change and destination: enqueueing it again is a no-op.
-- profile_id leads the key, as on every profile-owned table.
CREATE UNIQUE INDEX deliveries_idempotency ON deliveries (profile_id, destination_id, idempotency_key);

-- How far activation has read the segment change feed (segment_changes.seq):
-- changes after it are turned into deliveries on the next pass, so a crash
-- between a membership commit and its enqueue loses nothing.
CREATE TABLE activation_cursor (
    name       TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
