package store

import (
	"encoding/json"
	"time"
)

// Review statuses of a deduplication pair.
const (
	ReviewOpen     = "open"
	ReviewAccepted = "accepted"
	ReviewRejected = "rejected"
)

// DedupeReview is one pair of profiles in the deduplication review queue.
// ProfileA < ProfileB; Explanation is a match.Explanation as JSON.
type DedupeReview struct {
	ID          string          `json:"id"`
	ProfileA    string          `json:"profile_a"`
	ProfileB    string          `json:"profile_b"`
	Probability float64         `json:"probability"`
	Weight      float64         `json:"weight"`
	Explanation json.RawMessage `json:"explanation"`
	Status      string          `json:"status"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	DecidedBy   string          `json:"decided_by,omitempty"`
	DecidedAt   *time.Time      `json:"decided_at,omitempty"`
	MergeID     string          `json:"merge_id,omitempty"`
}

// MatchProfile is a live profile as deduplication reads it: traits,
// normalised fields and the identifiers attached to it.
type MatchProfile struct {
	ID         string
	Traits     json.RawMessage
	Normalized json.RawMessage
	CreatedAt  time.Time
	// Identities maps an identifier type to its values (sorted).
	Identities map[string][]string
}

// ProfilePair is two profile ids, as stored (not resolved through merges).
type ProfilePair struct {
	A, B string
}

// LineageRow is one profile of a merge cluster with what survivorship needs:
// its own traits with their times, its normalised fields and the source it
// was last written from.
type LineageRow struct {
	ID         string
	MergedInto string
	Traits     json.RawMessage
	TraitMeta  json.RawMessage
	Normalized json.RawMessage
	// SourceID is the source of the profile's latest event that carried
	// traits, else of its first identifier ("" when neither exists).
	SourceID  string
	CreatedAt time.Time
}
