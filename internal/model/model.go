// Package model holds the core types shared by every stage of the pipeline:
// collected messages, profiles, identities, merges and consents. It does no I/O.
//
// Invariants: every time is UTC; every string is valid UTF-8 (decoders repair or
// reject before a value reaches this package's types).
package model

import (
	"encoding/json"
	"time"
)

// MessageType is a Segment-spec call type.
type MessageType string

// The Segment-spec call types.
const (
	Identify MessageType = "identify"
	Track    MessageType = "track"
	Page     MessageType = "page"
	Screen   MessageType = "screen"
	Group    MessageType = "group"
	Alias    MessageType = "alias"
)

// ParseMessageType maps a call type (long or one-letter short form, any case is
// refused: the spec is lower case) to a MessageType.
func ParseMessageType(s string) (MessageType, bool) {
	switch s {
	case "identify", "i":
		return Identify, true
	case "track", "t":
		return Track, true
	case "page", "p":
		return Page, true
	case "screen", "s":
		return Screen, true
	case "group", "g":
		return Group, true
	case "alias", "a":
		return Alias, true
	}
	return "", false
}

// Message is one collected call after decoding, validation and clock-skew
// correction. Raw JSON fields are compact, valid UTF-8 JSON objects (or nil).
type Message struct {
	Type        MessageType
	MessageID   string
	SourceID    string
	AnonymousID string
	UserID      string
	PreviousID  string // alias only
	GroupID     string // group only
	Event       string // track only
	Name        string // page and screen

	// Timestamp is the corrected event time: receivedAt - (sentAt - timestamp).
	Timestamp time.Time
	// OriginalTimestamp is the time the client sent (zero when it sent none).
	OriginalTimestamp time.Time
	SentAt            time.Time // zero when absent
	ReceivedAt        time.Time
	// SkewMillis is the offset applied to the client's clock (timestamp - original), in ms.
	SkewMillis int64

	Properties   json.RawMessage
	Traits       map[string]any // identify and group traits, as sent
	Context      json.RawMessage
	Integrations json.RawMessage

	// Extracted from the context.
	ContextTraits map[string]any
	Consent       *ConsentPreferences
	ExternalIDs   []ExternalID
	Page          PageInfo
	Campaign      Campaign
	UserAgent     string
	IP            string
	Library       string
	SessionID     string
}

// ConsentPreferences is Segment's context.consent.categoryPreferences.
type ConsentPreferences struct {
	Categories map[string]bool
	Raw        json.RawMessage // the whole context.consent object, kept as proof
}

// ExternalID is one entry of context.externalIds.
type ExternalID struct {
	ID         string
	Type       string
	Collection string
}

// PageInfo holds the page fields analytics needs (from context.page or page properties).
type PageInfo struct {
	URL, Path, Referrer, Title, Search string
}

// Campaign holds the UTM parameters (context.campaign).
type Campaign struct {
	Source, Medium, Name, Term, Content string
}

// Identifier types. External id types are named by their own type string.
const (
	IDUserID      = "user_id"
	IDAnonymousID = "anonymous_id"
	IDEmail       = "email"
	IDPhone       = "phone"
)

// Identifier is one (type, value) pair that can point at a profile. Value is the
// matching key (normalised); Display is what the sender wrote.
type Identifier struct {
	Type    string `json:"type"`
	Value   string `json:"value"`
	Display string `json:"display,omitempty"`
}

// Key returns a single string that identifies the pair, for maps.
func (i Identifier) Key() string { return i.Type + "\x00" + i.Value }

// Profile is the golden record of one person.
type Profile struct {
	ID          string
	MergedInto  string // empty unless merged away
	Identified  bool   // holds a user id or has been identified
	Traits      map[string]any
	TraitTimes  map[string]time.Time // event time that set each trait
	SetOnce     map[string]bool      // traits settled by the earliest event
	Identities  []Identifier
	CreatedAt   time.Time
	UpdatedAt   time.Time
	FirstSeenAt time.Time
	LastSeenAt  time.Time
}

// Merge is the audit record of one profile merged into another.
type Merge struct {
	ID         string          `json:"id"`
	SurvivorID string          `json:"survivor_id"`
	MergedID   string          `json:"merged_id"`
	Rule       string          `json:"rule"`
	Evidence   json.RawMessage `json:"evidence"`
	MessageID  string          `json:"message_id,omitempty"`
	Actor      string          `json:"actor"`
	CreatedAt  time.Time       `json:"created_at"`
	UndoneAt   *time.Time      `json:"undone_at,omitempty"`
	Undo       json.RawMessage `json:"-"`
}

// ConsentStatus is the state a person gave for a purpose.
type ConsentStatus string

// Consent statuses.
const (
	ConsentGranted   ConsentStatus = "granted"
	ConsentDenied    ConsentStatus = "denied"
	ConsentWithdrawn ConsentStatus = "withdrawn"
)

// Consent is one row of the append-only consent ledger.
type Consent struct {
	ID         string          `json:"id"`
	ProfileID  string          `json:"profile_id"`
	Purpose    string          `json:"purpose"`
	Channel    string          `json:"channel,omitempty"`
	Status     ConsentStatus   `json:"status"`
	SourceID   string          `json:"source_id"`
	MessageID  string          `json:"message_id,omitempty"`
	TextVer    string          `json:"text_version,omitempty"`
	Proof      json.RawMessage `json:"proof,omitempty"`
	OccurredAt time.Time       `json:"occurred_at"`
	RecordedAt time.Time       `json:"recorded_at"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}
