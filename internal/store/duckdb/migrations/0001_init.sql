-- 0001_init: the first cut of the unified data model (ARCHITECTURE §4).
-- Conventions: times are UTC TIMESTAMPs; JSON documents are TEXT holding a JSON
-- object (the store never appends a JSON value the engine would re-quote);
-- every profile-owned table carries profile_id.

-- Workspace settings that marketers and admins change at run time (JSON values).
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Where data comes from. The write key is public (it ships in web pages).
CREATE TABLE sources (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    write_key  TEXT NOT NULL UNIQUE,
    settings   TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

-- Secret API tokens, stored as SHA-256 of 256 random bits (never in clear).
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP
);

-- The golden record. A merged profile keeps its row and points to its survivor.
CREATE TABLE profiles (
    id          TEXT PRIMARY KEY,
    merged_into TEXT,
    identified  BOOLEAN NOT NULL DEFAULT false,
    traits      TEXT NOT NULL DEFAULT '{}',
    trait_meta  TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    -- Normalised contact fields with their quality status and reasons, kept
    -- beside the raw traits (never in place of them), keyed by field.
    normalized  TEXT NOT NULL DEFAULT '{}'
);

-- Identifier -> profile. The lookup index of identity resolution: one row per
-- (type, value); distributed by identifier, not by profile, in a cluster.
CREATE TABLE identities (
    type          TEXT NOT NULL,
    value         TEXT NOT NULL,
    profile_id    TEXT NOT NULL,
    display       TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    first_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (type, value)
);

-- Everything that happened. profile_id is the profile the event resolved to at
-- ingest and never changes (reads resolve merges through profiles.merged_into).
CREATE TABLE events (
    seq                BIGINT NOT NULL,
    profile_id         TEXT,
    source_id          TEXT NOT NULL,
    message_id         TEXT NOT NULL,
    dedup_hash         BIGINT NOT NULL,
    type               TEXT NOT NULL,
    event              TEXT,
    name               TEXT,
    user_id            TEXT,
    anonymous_id       TEXT,
    group_id           TEXT,
    previous_id        TEXT,
    timestamp          TIMESTAMP NOT NULL,
    original_timestamp TIMESTAMP,
    sent_at            TIMESTAMP,
    received_at        TIMESTAMP NOT NULL,
    skew_ms            BIGINT NOT NULL DEFAULT 0,
    properties         TEXT,
    traits             TEXT,
    context            TEXT,
    integrations       TEXT,
    url                TEXT,
    path               TEXT,
    referrer           TEXT,
    title              TEXT,
    utm_source         TEXT,
    utm_medium         TEXT,
    utm_campaign       TEXT,
    utm_term           TEXT,
    utm_content        TEXT,
    session_id         TEXT,
    user_agent         TEXT,
    ip                 TEXT,
    library            TEXT,
    is_bot             BOOLEAN NOT NULL DEFAULT false,
    privacy_mode       TEXT NOT NULL DEFAULT 'consented'
);

-- Audit record of every merge, with what is needed to undo it.
CREATE TABLE merges (
    id          TEXT PRIMARY KEY,
    survivor_id TEXT NOT NULL,
    merged_id   TEXT NOT NULL,
    rule        TEXT NOT NULL,
    evidence    TEXT NOT NULL DEFAULT '{}',
    message_id  TEXT,
    actor       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    undone_at   TIMESTAMP,
    undo        TEXT NOT NULL DEFAULT '{}'
);

-- Append-only consent ledger; hash chains per (profile, purpose).
CREATE TABLE consents (
    id           TEXT PRIMARY KEY,
    profile_id   TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    channel      TEXT,
    status       TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    message_id   TEXT,
    text_version TEXT,
    proof        TEXT NOT NULL DEFAULT '{}',
    occurred_at  TIMESTAMP NOT NULL,
    recorded_at  TIMESTAMP NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);

-- Accounts (Segment group calls) and who belongs to them.
CREATE TABLE groups (
    group_id   TEXT PRIMARY KEY,
    traits     TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE group_members (
    profile_id    TEXT NOT NULL,
    group_id      TEXT NOT NULL,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (profile_id, group_id)
);

-- Transactional model (filled by imports). Refunds and cancellations are statuses.
CREATE TABLE products (
    source_id  TEXT NOT NULL,
    product_id TEXT NOT NULL,
    name       TEXT,
    category   TEXT,
    brand      TEXT,
    price      DOUBLE,
    currency   TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (source_id, product_id)
);

CREATE TABLE orders (
    profile_id   TEXT,
    source_id    TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    customer_key TEXT,
    status       TEXT NOT NULL DEFAULT 'completed',
    currency     TEXT,
    total        DOUBLE,
    subtotal     DOUBLE,
    tax          DOUBLE,
    shipping     DOUBLE,
    discount     DOUBLE,
    ordered_at   TIMESTAMP NOT NULL,
    attributes   TEXT NOT NULL DEFAULT '{}',
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

CREATE TABLE order_items (
    profile_id TEXT,
    source_id  TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    line_no    INTEGER NOT NULL,
    product_id TEXT,
    name       TEXT,
    category   TEXT,
    quantity   DOUBLE NOT NULL,
    unit_price DOUBLE,
    amount     DOUBLE,
    status     TEXT NOT NULL DEFAULT 'completed'
);

-- Computed traits and scores, one row per (profile, name).
CREATE TABLE profile_scores (
    profile_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (profile_id, name)
);

CREATE TABLE segments (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Membership history: a row per stay in a segment.
CREATE TABLE segment_memberships (
    profile_id TEXT NOT NULL,
    segment_id TEXT NOT NULL,
    entered_at TIMESTAMP NOT NULL,
    exited_at  TIMESTAMP
);

CREATE TABLE destinations (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL UNIQUE,
    settings   TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    destination_id  TEXT NOT NULL,
    profile_id      TEXT,
    idempotency_key TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    consent_reason  TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE privacy_requests (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    profile_id   TEXT,
    status       TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP,
    details      TEXT NOT NULL DEFAULT '{}'
);

-- Keyed hashes (HMAC with the installation secret) of erased identifiers.
CREATE TABLE suppressions (
    hash       TEXT PRIMARY KEY,
    type       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Who did what: merges refused, trait type changes, admin actions. Never holds
-- raw personal values in details.
CREATE TABLE audit_log (
    id         TEXT PRIMARY KEY,
    occurred_at TIMESTAMP NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    profile_id TEXT,
    details    TEXT NOT NULL DEFAULT '{}'
);
