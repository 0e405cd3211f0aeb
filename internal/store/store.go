// Package store holds what the storage engines share: the write set of one
// ingest commit, the read models the API serves, the sentinel errors and the
// registry of tables that hold personal data. Engines live in subpackages
// (store/duckdb; PostgreSQL follows) and never leak their own types.
package store

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/atrium-cdp/atrium/internal/model"
)

// Sentinel errors every engine returns (wrapped with %w).
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrLocked means another process holds the workspace (DuckDB allows one writer).
	ErrLocked = errors.New("workspace is in use by another process")
)

// ProfileNode is what identity resolution keeps in memory per live profile.
type ProfileNode struct {
	ID         string
	Identified bool
	CreatedAt  time.Time
}

// EventRow is one message as stored.
type EventRow struct {
	Seq       int64
	ProfileID string
	DedupHash int64
	Msg       *model.Message
	IsBot     bool
}

// ProfileRow is a profile's stored state. Traits and TraitMeta are JSON objects.
type ProfileRow struct {
	ID         string
	MergedInto string
	Identified bool
	Traits     json.RawMessage
	TraitMeta  json.RawMessage
	// Normalized holds the normalised contact fields with their quality
	// status (JSON object); the raw values stay in Traits.
	Normalized json.RawMessage
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// IdentityRow is one identifier attached to a profile.
type IdentityRow struct {
	Type, Value, ProfileID, Display, SourceID string
	FirstSeenAt                               time.Time
}

// IdentityMove re-points identifiers to another profile.
type IdentityMove struct {
	Identifiers []model.Identifier
	ProfileID   string
}

// GroupRow is an account and one member seen in a group call.
type GroupRow struct {
	GroupID   string
	Traits    json.RawMessage
	ProfileID string
	At        time.Time
}

// AuditRow is one entry of the audit log.
type AuditRow struct {
	ID        string
	At        time.Time
	Actor     string
	Action    string
	ProfileID string
	Details   json.RawMessage
}

// Batch is everything one group commit writes, applied in one transaction in
// this order: profiles, profile updates, identities, moves, merges, undone
// merges, consents, groups, audit, events.
type Batch struct {
	NewProfiles    []ProfileRow
	ProfileUpdates []ProfileRow // full replacement of merged_into, identified, traits, trait_meta, updated_at
	NewIdentities  []IdentityRow
	Moves          []IdentityMove
	Merges         []model.Merge
	UndoneMerges   []UndoneMerge
	Consents       []model.Consent
	Groups         []GroupRow
	Audit          []AuditRow
	Events         []EventRow
}

// UndoneMerge marks a merge record as undone.
type UndoneMerge struct {
	ID string
	At time.Time
	// SurvivorID is the profile that kept the merge; its aggregates change
	// when the restored profile takes its data back (not stored here).
	SurvivorID string
}

// Empty reports whether the batch writes nothing.
func (b *Batch) Empty() bool {
	return len(b.NewProfiles)+len(b.ProfileUpdates)+len(b.NewIdentities)+len(b.Moves)+len(b.Merges)+
		len(b.UndoneMerges)+len(b.Consents)+len(b.Groups)+len(b.Audit)+len(b.Events) == 0
}

// Source is a place data comes from, with its public write key.
type Source struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Kind      string     `json:"kind"`
	WriteKey  string     `json:"write_key"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Token is a secret API token's metadata (the secret itself is never stored).
type Token struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      string     `json:"role"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// EventCursor positions a page of a profile's events (newest first).
type EventCursor struct {
	Timestamp time.Time
	Seq       int64
}

// ConsentState is the current state of one purpose, derived from the ledger.
type ConsentState struct {
	Purpose   string              `json:"purpose"`
	Status    model.ConsentStatus `json:"status"`
	Channel   string              `json:"channel,omitempty"`
	SourceID  string              `json:"source_id"`
	MessageID string              `json:"message_id,omitempty"`
	At        time.Time           `json:"at"`
	Hash      string              `json:"hash"`
}

// PersonalTable names a table that can hold personal data and the column that
// ties its rows to a profile ("" when rows are tied another way).
type PersonalTable struct {
	Table         string
	ProfileColumn string
}

// PersonalData is the one registry of tables holding personal data: erasure and
// access export walk it, and a test fails when a table with a profile_id
// column is missing from it.
var PersonalData = []PersonalTable{
	{"profiles", "id"},
	{"identities", "profile_id"},
	{"events", "profile_id"},
	{"merges", "survivor_id"},
	{"consents", "profile_id"},
	{"group_members", "profile_id"},
	{"orders", "profile_id"},
	{"order_items", "profile_id"},
	{"profile_scores", "profile_id"},
	{"segment_memberships", "profile_id"},
	{"segment_changes", "profile_id"},
	{"deliveries", "profile_id"},
	{"privacy_requests", "profile_id"},
	{"audit_log", "profile_id"},
	{"dedupe_reviews", "profile_a"}, // a review pairs two profiles: either one's erasure removes it
	{"dedupe_reviews", "profile_b"},
	{"import_state", "profile_id"}, // digests only, but of a person's identifiers
}

// ProfileView is a live profile as the API shows it.
type ProfileView struct {
	ID         string
	Identified bool
	Traits     json.RawMessage
	TraitMeta  json.RawMessage
	Normalized json.RawMessage
	Identities []model.Identifier
	Consents   []ConsentState
	MergedIDs  []string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// EventView is a stored event as the API shows it.
type EventView struct {
	Seq               int64           `json:"-"`
	ProfileID         string          `json:"profile_id"`
	SourceID          string          `json:"source_id"`
	Type              string          `json:"type"`
	Event             string          `json:"event,omitempty"`
	Name              string          `json:"name,omitempty"`
	MessageID         string          `json:"message_id"`
	UserID            string          `json:"user_id,omitempty"`
	AnonymousID       string          `json:"anonymous_id,omitempty"`
	Timestamp         time.Time       `json:"timestamp"`
	OriginalTimestamp *time.Time      `json:"original_timestamp,omitempty"`
	ReceivedAt        time.Time       `json:"received_at"`
	SkewMillis        int64           `json:"skew_ms,omitempty"`
	Properties        json.RawMessage `json:"properties"`
	Traits            json.RawMessage `json:"traits,omitempty"`
	Context           json.RawMessage `json:"context,omitempty"`
}

// FieldQuality is the quality of one normalised field over live profiles.
type FieldQuality struct {
	Field    string           `json:"field"`
	Total    int64            `json:"total"`
	Statuses map[string]int64 `json:"statuses"`
	Problems []QualityProblem `json:"problems"`
}

// QualityProblem is one reason code with its count and an example raw value.
type QualityProblem struct {
	Reason  string `json:"reason"`
	Count   int64  `json:"count"`
	Example string `json:"example"`
}
