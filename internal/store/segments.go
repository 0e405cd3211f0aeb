package store

import (
	"encoding/json"
	"time"
)

// Segment statuses.
const (
	SegmentPending = "pending" // never computed yet
	SegmentOK      = "ok"      // last computation succeeded
	SegmentError   = "error"   // last computation failed; retried with backoff
)

// SegmentRow is a stored segment definition with its computation state.
type SegmentRow struct {
	ID             string
	Name           string
	Description    string
	Rule           string          // the rule in the text syntax
	RuleJSON       json.RawMessage // the same rule in its JSON form
	TimeZone       string
	Status         string
	Size           int64
	LastComputedAt *time.Time
	LastError      string
	Retries        int
	NextRetryAt    *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// SegmentEval is one evaluation of a segment's rule to apply to its
// memberships. Query selects the profile_id of every live matching profile;
// when Only is set it was compiled for Candidates (its last argument) and
// only the memberships of Candidates and Gone change.
type SegmentEval struct {
	SegmentID  string
	SQL        string
	Args       []any
	Only       bool
	Candidates []string
	// Gone are profiles no longer live (merged away): their open rows close.
	Gone []string
	At   time.Time
	// Full records a row of size history.
	Full    bool
	Started time.Time
}

// SegmentApplied is what one evaluation changed.
type SegmentApplied struct {
	Entered, Exited, Size int64
	// FirstSeq and LastSeq bound the change-feed rows written (0, 0: none).
	FirstSeq, LastSeq int64
}

// SegmentChange is one enter or exit in the change feed.
type SegmentChange struct {
	Seq       int64     `json:"seq"`
	SegmentID string    `json:"segment_id"`
	ProfileID string    `json:"profile_id"`
	Kind      string    `json:"kind"` // "enter" or "exit"
	At        time.Time `json:"at"`
}

// SegmentSize is one point of a segment's size history.
type SegmentSize struct {
	At         time.Time `json:"at"`
	Size       int64     `json:"size"`
	Entered    int64     `json:"entered"`
	Exited     int64     `json:"exited"`
	DurationMS int64     `json:"duration_ms"`
}

// SegmentMember is one current member.
type SegmentMember struct {
	ProfileID string    `json:"profile_id"`
	EnteredAt time.Time `json:"entered_at"`
}

// MemberRecord is a member with what an export reads: traits and normalised
// fields (JSON objects), the requested scores (JSON values by name) and the
// current status of the requested consent purpose ("" when none recorded).
type MemberRecord struct {
	ProfileID  string
	Traits     json.RawMessage
	Normalized json.RawMessage
	Scores     map[string]json.RawMessage
	Consent    string
}
