package store

import (
	"encoding/json"
	"time"
)

// OrderRow is one order header as imported. RowHash fingerprints the order
// with its lines, so that a re-import can tell unchanged orders apart.
type OrderRow struct {
	ProfileID   string
	SourceID    string
	OrderID     string
	CustomerKey string
	Status      string
	Currency    string
	Total       float64
	Subtotal    *float64
	Tax         *float64
	Shipping    *float64
	Discount    *float64
	OrderedAt   time.Time
	Attributes  json.RawMessage
	RowHash     string
	Items       []OrderItemRow
	// LinesTotal is the sum of the stored lines' amounts (read side only).
	LinesTotal float64
}

// OrderItemRow is one order line.
type OrderItemRow struct {
	LineNo    int
	ProductID string
	Name      string
	Category  string
	Quantity  float64
	UnitPrice *float64
	Amount    float64
	Status    string
}

// ProductRow is one catalogue entry.
type ProductRow struct {
	SourceID   string
	ProductID  string
	Name       string
	Category   string
	Brand      string
	Price      *float64
	Currency   string
	Attributes json.RawMessage
	RowHash    string
}

// ImportRow is one import job and its report (a JSON document without raw
// personal values: rejected values are masked before they reach it).
type ImportRow struct {
	ID         string
	Kind       string
	SourceID   string
	FileName   string
	Status     string
	StartedAt  time.Time
	FinishedAt *time.Time
	Report     json.RawMessage
}
