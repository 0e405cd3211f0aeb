-- 0003_segments: dynamic segments (docs/segments.md).
-- segments.definition keeps the rule in the text syntax; rule_json its JSON
-- form. Computation state is kept on the row so that `segments show` and the
-- API say when a segment was last computed, how big it is and why it failed.
ALTER TABLE segments ADD COLUMN description TEXT DEFAULT '';
ALTER TABLE segments ADD COLUMN rule_json TEXT DEFAULT '{}';
ALTER TABLE segments ADD COLUMN time_zone TEXT DEFAULT 'UTC';
-- pending (never computed), ok, error (last attempt failed; retried).
ALTER TABLE segments ADD COLUMN status TEXT DEFAULT 'pending';
ALTER TABLE segments ADD COLUMN size BIGINT DEFAULT 0;
ALTER TABLE segments ADD COLUMN last_computed_at TIMESTAMP;
ALTER TABLE segments ADD COLUMN last_error TEXT DEFAULT '';
ALTER TABLE segments ADD COLUMN retries INTEGER DEFAULT 0;
ALTER TABLE segments ADD COLUMN next_retry_at TIMESTAMP;

-- One row per full computation of a segment: its size over time.
CREATE TABLE segment_sizes (
    segment_id  TEXT NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    size        BIGINT NOT NULL,
    entered     BIGINT NOT NULL,
    exited      BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL
);

-- The change feed: every enter and exit, written in the same transaction as
-- the membership rows it describes, numbered by seq so that a consumer
-- (activation) resumes from the last seq it handled and loses nothing.
CREATE SEQUENCE segment_change_seq START 1;
CREATE TABLE segment_changes (
    seq        BIGINT PRIMARY KEY DEFAULT nextval('segment_change_seq'),
    segment_id TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL
);

