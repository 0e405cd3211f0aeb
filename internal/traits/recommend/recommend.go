package recommend

import (
	"fmt"
	"time"
)

// Options tune how the model is built. Zero values take the defaults.
type Options struct {
	Neighbours  int     `json:"neighbours"`   // K neighbours kept per product (1..1000)
	WindowDays  int     `json:"window_days"`  // popularity window in days (1..3650)
	MaxItems    int     `json:"max_items"`    // profiles with more distinct products are left out of similarities
	MinTogether int     `json:"min_together"` // minimum profiles a pair needs in common
	ViewWeight  float64 `json:"view_weight"`  // weight of a product only viewed, 0..1 (0 takes the default)
}

// WithDefaults returns o with zero fields set to the defaults, or an error
// naming the first field out of bounds.
func (o Options) WithDefaults() (Options, error) {
	if o.Neighbours == 0 {
		o.Neighbours = DefaultNeighbours
	}
	if o.WindowDays == 0 {
		o.WindowDays = DefaultWindowDays
	}
	if o.MaxItems == 0 {
		o.MaxItems = DefaultMaxItems
	}
	if o.MinTogether == 0 {
		o.MinTogether = DefaultMinTogether
	}
	if o.ViewWeight == 0 {
		o.ViewWeight = DefaultViewWeight
	}
	switch {
	case o.Neighbours < 1 || o.Neighbours > 1000:
		return o, fmt.Errorf("neighbours %d: want 1 to 1000", o.Neighbours)
	case o.WindowDays < 1 || o.WindowDays > 3650:
		return o, fmt.Errorf("window %d days: want 1 to 3650", o.WindowDays)
	case o.MaxItems < 2:
		return o, fmt.Errorf("max items %d: want at least 2", o.MaxItems)
	case o.MinTogether < 1:
		return o, fmt.Errorf("min together %d: want at least 1", o.MinTogether)
	case o.ViewWeight < 0 || o.ViewWeight > 1:
		return o, fmt.Errorf("view weight %g: want 0 to 1", o.ViewWeight)
	}
	return o, nil
}

// Model describes the stored model: when and on what it was built.
type Model struct {
	BuiltAt      time.Time `json:"built_at"`
	TrainedUntil time.Time `json:"trained_until"` // interactions before this instant were used
	WindowStart  time.Time `json:"popular_window_start,omitempty"`
	WindowEnd    time.Time `json:"popular_window_end,omitempty"`
	Profiles     int       `json:"profiles"` // live profiles with at least one interaction
	Products     int       `json:"products"` // products bought at least once
	Pairs        int       `json:"pairs"`    // stored (product, neighbour) rows
	Options      Options   `json:"options"`
	Seconds      float64   `json:"build_seconds"`
}

// Recommendation is one recommended product for a profile.
type Recommendation struct {
	Rank      int     `json:"rank"`
	ProductID string  `json:"product_id"`
	Name      string  `json:"name,omitempty"`
	Score     float64 `json:"score"`
	// Fallback is true for a popular product filling the list up, false for
	// one similar to the profile's products.
	Fallback bool `json:"fallback"`
	// Because is the profile's product that contributed most (collaborative
	// recommendations only), and BecauseRelation how the profile met it:
	// "bought" or "viewed".
	Because         string `json:"because_product_id,omitempty"`
	BecauseRelation string `json:"because_relation,omitempty"`
	// Together is, for a collaborative recommendation, how many customers
	// have both this product and Because; for a popular one, how many
	// bought it in the window.
	Together int    `json:"customers"`
	Reason   string `json:"reason"`
}

// Explain sets Reason from the other fields, in the words the API and the
// CLI show.
func (r *Recommendation) Explain(windowDays int) {
	switch {
	case r.Fallback:
		r.Reason = fmt.Sprintf("popular: bought by %d customers in the last %d days of orders", r.Together, windowDays)
	case r.BecauseRelation == "bought":
		r.Reason = "bought with " + r.Because
	default:
		r.Reason = "often with " + r.Because + ", which this profile viewed"
	}
}
