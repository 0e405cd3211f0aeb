package activate

import (
	"context"
	"encoding/json"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
)

// Status is a delivery's state.
type Status string

// Delivery statuses.
const (
	StatusPending   Status = "pending"
	StatusDelivered Status = "delivered"
	StatusDead      Status = "dead"
	StatusExcluded  Status = "excluded"
)

// Statuses lists every status, for filters and counts.
var Statuses = []Status{StatusPending, StatusDelivered, StatusDead, StatusExcluded}

// Delivery kinds.
const (
	KindEnter = "enter"
	KindExit  = "exit"
	KindSync  = "sync"
)

// DestinationRow is a destination as stored; Settings are the normalised
// settings of its plugin, secret included (never shown as such).
type DestinationRow struct {
	ID             string
	Kind           string
	Name           string
	Settings       json.RawMessage
	CreatedAt      time.Time
	UpdatedAt      time.Time
	LastFullSyncAt time.Time // zero when never
}

// DeliveryRow is one queued message to one destination.
type DeliveryRow struct {
	ID             string          `json:"id"`
	DestinationID  string          `json:"destination_id"`
	ProfileID      string          `json:"profile_id,omitempty"`
	SegmentID      string          `json:"segment_id,omitempty"`
	Kind           string          `json:"kind"`
	IdempotencyKey string          `json:"idempotency_key"`
	Payload        json.RawMessage `json:"payload"`
	Status         Status          `json:"status"`
	Attempts       int             `json:"attempts"`
	NextAttemptAt  time.Time       `json:"next_attempt_at"`
	LastError      string          `json:"last_error,omitempty"`
	LastStatus     int             `json:"last_http_status,omitempty"`
	ConsentReason  string          `json:"consent_reason,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	// QueuedAt starts the current run of attempts (creation or last
	// replay); max_age counts from it.
	QueuedAt    time.Time  `json:"queued_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	DeadAt      *time.Time `json:"dead_at,omitempty"`
}

// Result is what one attempt changes on its delivery row.
type Result struct {
	ID            string
	Status        Status
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	LastStatus    int
	ConsentReason string // set when the send-time consent check excluded it
	At            time.Time
}

// DeliveryFilter selects deliveries for listing (newest first).
type DeliveryFilter struct {
	DestinationID string
	Status        Status // empty: all
	Limit         int
}

// Store is what activation needs from the storage engine.
type Store interface {
	CreateDestination(ctx context.Context, d DestinationRow) error // store.ErrConflict on a taken name
	UpdateDestination(ctx context.Context, d DestinationRow) error
	// DeleteDestination removes the destination and its deliveries.
	DeleteDestination(ctx context.Context, id string) error
	Destinations(ctx context.Context) ([]DestinationRow, error)
	Destination(ctx context.Context, idOrName string) (DestinationRow, error) // store.ErrNotFound
	MarkFullSync(ctx context.Context, id string, at time.Time) error

	// EnqueueDeliveries inserts rows whose (destination, profile, key) is
	// new and returns how many it inserted; existing keys are left alone.
	EnqueueDeliveries(ctx context.Context, rows []DeliveryRow) (int, error)
	// DueDeliveries returns up to limit pending rows of a destination due
	// at now, oldest due first, leaving out the ids in skip.
	DueDeliveries(ctx context.Context, destID string, now time.Time, limit int, skip []string) ([]DeliveryRow, error)
	// NextDue returns the earliest next attempt of a destination's pending
	// rows not in skip, zero when there is none.
	NextDue(ctx context.Context, destID string, skip []string) (time.Time, error)
	// FinishAttempts records attempt outcomes, all in one commit.
	FinishAttempts(ctx context.Context, rs []Result) error
	Deliveries(ctx context.Context, f DeliveryFilter) ([]DeliveryRow, error)
	DeliveryCounts(ctx context.Context, destID string) (map[Status]int, error)
	// Replay puts dead deliveries back to pending (one by id, or all of the
	// destination when id is empty), keeping their keys; it returns how many.
	Replay(ctx context.Context, destID, id string, at time.Time) (int, error)

	// FeedCursor is the last change-feed seq turned into deliveries
	// (ok false before the first run); SetFeedCursor moves it.
	FeedCursor(ctx context.Context) (seq int64, ok bool, err error)
	SetFeedCursor(ctx context.Context, seq int64, at time.Time) error

	// Read from the segments side's tables.
	SegmentByID(ctx context.Context, id string) (store.SegmentRow, error)
	SegmentByName(ctx context.Context, name string) (store.SegmentRow, error)
	SegmentMembers(ctx context.Context, id, after string, limit int) ([]store.SegmentMember, error)
	SegmentChanges(ctx context.Context, after int64, limit int) ([]store.SegmentChange, error)
	ProfileRows(ctx context.Context, ids []string) (map[string]store.ProfileRow, error)
	// ConsentStates is the current state of purpose for each live profile,
	// over the profiles merged into it (absent: no decision recorded).
	ConsentStates(ctx context.Context, ids []string, purpose string) (map[string]store.ConsentState, error)
}
