package store

import (
	"encoding/json"
	"time"
)

// ScoreValue is one computed trait or score of a profile: its value as JSON
// (a number, a string, ...) and when it was computed.
type ScoreValue struct {
	Value      json.RawMessage `json:"value"`
	ComputedAt time.Time       `json:"computed_at"`
}
