-- 0006_computed_traits: definitions of computed traits (internal/traits/computed).
-- Their values live in profile_scores under the definition's name, like the
-- built-in indicators, so the profile JSON shows them without a join.

-- One row per computed trait. definition is the validated definition as JSON
-- (docs/computed-traits.md); refreshed_at and profiles describe the last batch
-- refresh (NULL before the first).
CREATE TABLE computed_traits (
    name         TEXT PRIMARY KEY,
    definition   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    refreshed_at TIMESTAMP,
    profiles     BIGINT NOT NULL DEFAULT 0
);
