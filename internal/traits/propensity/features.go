// Package propensity is Atrium's purchase-propensity model: the probability
// that a customer places a revenue order within the next N days, learnt by an
// L2-regularised logistic regression from the workspace's own order history.
//
// Invariants:
//   - Features are computed as of a cut-off instant from revenue orders placed
//     strictly before it, with the same status rules and merge-chain
//     resolution as the commerce indicators (internal/traits); the label looks
//     only at orders in [cut-off, cut-off + N days). Nothing after the cut-off
//     leaks into the features.
//   - Evaluation is out of time: the model is trained on features as of c1 and
//     labels in [c1, c1+N), and tested on features as of c2 = c1+N and labels
//     in [c2, c2+N), so every test label is later than anything it saw.
//   - A score is explained exactly: logit(p) = intercept + Σ contributions,
//     each contribution being coefficient × standardised feature value.
//   - Fitting and scoring are deterministic for the same data.
//
// docs/scores-propensity.md gives the formulas to users.
package propensity

import "math"

// Feature indexes into Example.Features. The order is the display order.
const (
	RecencyDays       = iota // days from the last order's day to the cut-off day
	Frequency                // revenue orders before the cut-off
	Monetary                 // revenue before the cut-off
	TenureDays               // days from the first order's day to the cut-off day
	Orders30d                // orders in the 30 days before the cut-off
	Orders90d                // orders in the 90 days before the cut-off
	Orders365d               // orders in the 365 days before the cut-off
	AOV                      // revenue / orders
	DistinctProducts         // distinct products (id, else line name) on revenue lines
	DaysBetweenOrders        // (last − first order day) / (orders − 1); tenure for one order
	Events30d                // events of the profile in the 30 days before the cut-off
	NumFeatures
)

// FeatureNames are the names of the features in index order, as they appear
// in reports and in the stored contributions.
var FeatureNames = [NumFeatures]string{
	"recency_days", "frequency", "monetary", "tenure_days", "orders_30d", "orders_90d", "orders_365d",
	"aov", "distinct_products", "mean_days_between_orders", "events_30d",
}

// logScaled marks the features the model sees as log1p(max(x, 0)): counts and
// money are heavy-tailed (one wholesaler with 200 orders would otherwise
// dominate the standardised scale), days are not.
var logScaled = [NumFeatures]bool{
	Frequency: true, Monetary: true, Orders30d: true, Orders90d: true, Orders365d: true,
	AOV: true, DistinctProducts: true, Events30d: true,
}

// transform maps a raw feature value to what the regression sees.
func transform(i int, x float64) float64 {
	if logScaled[i] {
		return math.Log1p(math.Max(x, 0))
	}
	return x
}

// TransformName says how feature i is transformed before standardisation:
// "log1p" or "identity".
func TransformName(i int) string {
	if logScaled[i] {
		return "log1p"
	}
	return "identity"
}

// Example is one live profile as of a cut-off: its raw features and whether
// it bought in the horizon that follows.
type Example struct {
	ProfileID string
	Features  [NumFeatures]float64 // raw values, indexed by the constants above
	Label     bool                 // a revenue order in [cut-off, cut-off + horizon)
}

// FeaturesSQL (DuckDB dialect) selects one row per live profile with at least
// one revenue order before the cut-off: profile_id, the NumFeatures raw
// features in index order, and the label. Rows are ordered by profile_id.
//
// Parameters: 1 the cut-off instant (TIMESTAMP), 2 the end of the label
// window (TIMESTAMP, exclusive; equal to the cut-off for unlabelled scoring).
//
// Rules, shared with internal/traits.IndicatorsSQL: revenue orders are those
// whose status is not cancelled, refunded or returned; guest orders count for
// nobody; orders and events of a merged-away profile count for the live
// profile at the end of its merged_into chain; lines count when their own
// status is a revenue status. Day counts are calendar days (time of day
// dropped); the 30/90/365-day windows are instants [cut-off − N days,
// cut-off).
const FeaturesSQL = `
WITH RECURSIVE
chain(id, root) AS (
	SELECT id, id FROM profiles WHERE merged_into IS NULL
	UNION ALL SELECT p.id, c.root FROM profiles p JOIN chain c ON p.merged_into = c.id),
params AS (SELECT CAST(? AS TIMESTAMP) AS cutoff, CAST(? AS TIMESTAMP) AS label_end),
revenue_orders AS (
	SELECT c.root AS profile_id, o.source_id, o.order_id, o.ordered_at, coalesce(o.total, 0) AS total
	FROM orders o JOIN chain c ON c.id = o.profile_id
	WHERE o.status NOT IN ('cancelled', 'refunded', 'returned')),
history AS (SELECT r.* FROM revenue_orders r, params WHERE r.ordered_at < params.cutoff),
per_profile AS (
	SELECT h.profile_id, count(*) AS frequency, sum(h.total) AS monetary,
	       min(h.ordered_at) AS first_at, max(h.ordered_at) AS last_at,
	       count(*) FILTER (WHERE h.ordered_at >= params.cutoff - INTERVAL 30 DAY) AS orders_30d,
	       count(*) FILTER (WHERE h.ordered_at >= params.cutoff - INTERVAL 90 DAY) AS orders_90d,
	       count(*) FILTER (WHERE h.ordered_at >= params.cutoff - INTERVAL 365 DAY) AS orders_365d
	FROM history h, params GROUP BY h.profile_id),
products AS (
	SELECT h.profile_id, count(DISTINCT coalesce(nullif(i.product_id, ''), nullif(i.name, ''))) AS distinct_products
	FROM order_items i JOIN history h ON h.source_id = i.source_id AND h.order_id = i.order_id
	WHERE i.status NOT IN ('cancelled', 'refunded', 'returned')
	GROUP BY h.profile_id),
recent_events AS (
	SELECT c.root AS profile_id, count(*) AS events_30d
	FROM events e JOIN chain c ON c.id = e.profile_id, params
	WHERE e."timestamp" >= params.cutoff - INTERVAL 30 DAY AND e."timestamp" < params.cutoff
	GROUP BY c.root),
buyers AS (
	SELECT DISTINCT r.profile_id FROM revenue_orders r, params
	WHERE r.ordered_at >= params.cutoff AND r.ordered_at < params.label_end),
days AS (
	SELECT pp.*,
	       date_diff('day', CAST(pp.last_at AS DATE), CAST(params.cutoff AS DATE)) AS recency_days,
	       date_diff('day', CAST(pp.first_at AS DATE), CAST(params.cutoff AS DATE)) AS tenure_days,
	       date_diff('day', CAST(pp.first_at AS DATE), CAST(pp.last_at AS DATE)) AS span_days
	FROM per_profile pp, params)
SELECT d.profile_id,
       CAST(d.recency_days AS DOUBLE), CAST(d.frequency AS DOUBLE), CAST(d.monetary AS DOUBLE),
       CAST(d.tenure_days AS DOUBLE), CAST(d.orders_30d AS DOUBLE), CAST(d.orders_90d AS DOUBLE),
       CAST(d.orders_365d AS DOUBLE), CAST(d.monetary / d.frequency AS DOUBLE),
       CAST(coalesce(p.distinct_products, 0) AS DOUBLE),
       CAST(CASE WHEN d.frequency > 1 THEN d.span_days / (d.frequency - 1) ELSE d.tenure_days END AS DOUBLE),
       CAST(coalesce(e.events_30d, 0) AS DOUBLE),
       b.profile_id IS NOT NULL AS label
FROM days d
LEFT JOIN products p USING (profile_id)
LEFT JOIN recent_events e USING (profile_id)
LEFT JOIN buyers b USING (profile_id)
ORDER BY d.profile_id`

// SpanSQL (DuckDB dialect) selects the number, first and last time of the
// revenue orders attributed to live profiles: the extent of the history a
// cut-off must fall in.
const SpanSQL = `
WITH RECURSIVE chain(id, root) AS (
	SELECT id, id FROM profiles WHERE merged_into IS NULL
	UNION ALL SELECT p.id, c.root FROM profiles p JOIN chain c ON p.merged_into = c.id)
SELECT count(*), min(o.ordered_at), max(o.ordered_at)
FROM orders o JOIN chain c ON c.id = o.profile_id
WHERE o.status NOT IN ('cancelled', 'refunded', 'returned')`
