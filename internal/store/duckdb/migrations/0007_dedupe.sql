-- 0007_dedupe: the review queue of probabilistic deduplication.
-- A row is a pair of profiles the matcher found doubtful (between the review
-- and auto-merge thresholds, or strong but split by the chain guard), with the
-- explanation a person reads to decide. profile_a < profile_b; the ids are
-- the live profiles of the run that proposed the pair. A rejected row is the
-- memory that keeps the pair from being proposed again; undone merges (in
-- merges.undone_at) are the memory that keeps a pair from being merged again.
CREATE TABLE dedupe_reviews (
    id          TEXT PRIMARY KEY,
    profile_a   TEXT NOT NULL,
    profile_b   TEXT NOT NULL,
    probability DOUBLE NOT NULL,
    weight      DOUBLE NOT NULL,
    explanation TEXT NOT NULL DEFAULT '{}',
    status      TEXT NOT NULL,  -- open, accepted, rejected
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    decided_by  TEXT,
    decided_at  TIMESTAMP,
    merge_id    TEXT
);
CREATE INDEX dedupe_reviews_status ON dedupe_reviews (status);
