// Package traits computes the built-in traits and scores of live profiles
// from the store: commerce indicators and RFM. Each computation is one SQL
// statement over the store, so the numbers a marketer sees are the ones the
// documented formulas (docs/scores.md) give, with no second implementation in
// Go to drift from them.
package traits

// Names of the indicators RefreshIndicators writes into profile_scores, one
// row per profile and name. A refresh deletes every row with one of these
// names and inserts the new ones, so an indicator that became undefined (a
// profile whose last order was refunded) disappears rather than going stale.
const (
	Revenue             = "revenue"                  // sum of revenue order totals
	OrderCount          = "order_count"              // number of revenue orders
	AOV                 = "aov"                      // revenue / order_count
	ItemsPerOrder       = "items_per_order"          // units on revenue lines / order_count
	OrdersPerMonth      = "orders_per_month"         // order_count per 30.4375 days of tenure (at least one month)
	DaysBetweenOrders   = "mean_days_between_orders" // (last − first order day) / (order_count − 1); absent for one order
	RecencyDays         = "recency_days"             // days from the last order's day to the as-of day
	FirstOrderAt        = "first_order_at"           // timestamp of the first revenue order
	LastOrderAt         = "last_order_at"            // timestamp of the last revenue order
	TenureDays          = "tenure_days"              // days from the first order's day to the as-of day
	FavouriteCategory   = "favourite_category"       // category with the most units; absent without categories
	FavouriteProduct    = "favourite_product"        // product id (else name) with the most units
	RFMRecency          = "rfm_r"                    // recency quintile, 5 = most recent
	RFMFrequency        = "rfm_f"                    // frequency quintile, 5 = most orders
	RFMMonetary         = "rfm_m"                    // monetary quintile, 5 = most revenue
	RFMScore            = "rfm_score"                // "RFM" digits, e.g. "545"
	RFMSegment          = "rfm_segment"              // named cell of the (R, F) grid
	nonRevenueStatusSQL = "('cancelled', 'refunded', 'returned')"
)

// IndicatorNames lists every name IndicatorsSQL can write, in display order.
var IndicatorNames = []string{
	Revenue, OrderCount, AOV, ItemsPerOrder, OrdersPerMonth, DaysBetweenOrders,
	RecencyDays, FirstOrderAt, LastOrderAt, TenureDays, FavouriteCategory, FavouriteProduct,
	RFMRecency, RFMFrequency, RFMMonetary, RFMScore, RFMSegment,
}

// IndicatorsSQL (DuckDB dialect) selects (profile_id, name, value,
// computed_at) rows for profile_scores: every indicator and the RFM scores of
// each live profile with at least one revenue order before the as-of instant.
//
// Parameters: 1 the as-of instant (TIMESTAMP; orders at or after it are
// ignored, recency and tenure count calendar days up to its day), 2 the
// computed_at stamp.
//
// Rules (docs/scores.md gives them to users):
//   - Revenue orders are those whose status is not cancelled, refunded or
//     returned; guest orders (no profile) count for nobody. Orders of a
//     merged-away profile count for the live profile at the end of its
//     merged_into chain (the recursive CTE chain).
//   - Lines count when their own status is a revenue status (a line inherits
//     its order's status unless the import gave it one).
//   - Quintiles use ntile(5), which makes five groups whose sizes differ by at
//     most one. Ties are split, not kept together, so the groups stay equal:
//     R orders by recency_days descending, then the last order's exact time,
//     then profile id; F by order count, then revenue, then profile id; M by
//     revenue, then order count, then profile id. The profile id makes a
//     refresh reproducible.
//   - Values are JSON: numbers (money rounded to 2 decimals, ratios to 3),
//     strings for dates ("2011-12-09T12:50:00Z"), product, category and
//     segment. An indicator without a value (mean days between orders for a
//     single order, favourite category without categories) is not written.
const IndicatorsSQL = `
WITH RECURSIVE
chain(id, root) AS (
	SELECT id, id FROM profiles WHERE merged_into IS NULL
	UNION ALL SELECT p.id, c.root FROM profiles p JOIN chain c ON p.merged_into = c.id),
params AS (SELECT CAST(? AS TIMESTAMP) AS as_of, CAST(? AS TIMESTAMP) AS computed_at),
live_orders AS (
	SELECT c.root AS profile_id, o.source_id, o.order_id, o.ordered_at, coalesce(o.total, 0) AS total
	FROM orders o JOIN chain c ON c.id = o.profile_id, params
	WHERE o.status NOT IN ` + nonRevenueStatusSQL + ` AND o.ordered_at < params.as_of),
lines AS (
	SELECT lo.profile_id, nullif(i.product_id, '') AS product_id, nullif(i.name, '') AS name,
	       nullif(i.category, '') AS category, i.quantity
	FROM order_items i JOIN live_orders lo ON lo.source_id = i.source_id AND lo.order_id = i.order_id
	WHERE i.status NOT IN ` + nonRevenueStatusSQL + `),
` + IndicatorPerProfileSQL + `metrics AS (
	SELECT pp.*, coalesce(u.units, 0) AS units, fp.product AS favourite_product, fc.category AS favourite_category,
	       date_diff('day', CAST(pp.first_order_at AS DATE), CAST(params.as_of AS DATE)) AS tenure_days,
	       date_diff('day', CAST(pp.last_order_at AS DATE), CAST(params.as_of AS DATE)) AS recency_days,
	       date_diff('day', CAST(pp.first_order_at AS DATE), CAST(pp.last_order_at AS DATE)) AS span_days
	FROM per_profile pp CROSS JOIN params
	LEFT JOIN units u USING (profile_id)
	LEFT JOIN fav_product fp USING (profile_id)
	LEFT JOIN fav_category fc USING (profile_id)),
rfm AS (
	SELECT m.*,
	       ntile(5) OVER (ORDER BY recency_days DESC, last_order_at, profile_id) AS r,
	       ntile(5) OVER (ORDER BY order_count, revenue, profile_id) AS f,
	       ntile(5) OVER (ORDER BY revenue, order_count, profile_id) AS mq
	FROM metrics m),
` + IndicatorRowsSQL

// IndicatorPerProfileSQL is the middle of IndicatorsSQL, shared with the
// one-profile refresh (store/duckdb): from CTEs "live_orders" (revenue
// orders by live profile) and "lines" (their revenue lines), it sums the
// units, picks the favourite product and category and aggregates the orders
// per profile ("units", "fav_product", "fav_category", "per_profile").
const IndicatorPerProfileSQL = `
units AS (SELECT profile_id, sum(quantity) AS units FROM lines GROUP BY profile_id),
-- Favourites: the most units, ties to the alphabetically first; only
-- positive totals (a product only ever returned is nobody's favourite).
fav_product AS (
	SELECT profile_id, product FROM (
		SELECT profile_id, coalesce(product_id, name) AS product, sum(quantity) AS q
		FROM lines WHERE coalesce(product_id, name) IS NOT NULL GROUP BY ALL)
	WHERE q > 0
	QUALIFY row_number() OVER (PARTITION BY profile_id ORDER BY q DESC, product) = 1),
fav_category AS (
	SELECT profile_id, category FROM (
		SELECT profile_id, category, sum(quantity) AS q
		FROM lines WHERE category IS NOT NULL GROUP BY ALL)
	WHERE q > 0
	QUALIFY row_number() OVER (PARTITION BY profile_id ORDER BY q DESC, category) = 1),
per_profile AS (
	SELECT profile_id, count(*) AS order_count, sum(total) AS revenue,
	       min(ordered_at) AS first_order_at, max(ordered_at) AS last_order_at
	FROM live_orders GROUP BY profile_id),
`

// IndicatorRowsSQL is the end of IndicatorsSQL, shared with the one-profile
// refresh (store/duckdb): from a CTE "rfm" holding the metrics and the r, f and
// mq quintiles, it names the RFM cell and selects one (profile_id, name,
// value, computed_at) row per indicator; "params" holds computed_at.
const IndicatorRowsSQL = `
-- The named cells of the classic RFM grid over (R, F); docs/scores.md has
-- the same rules as a table. The branches are disjoint and cover all 25
-- cells, so every profile gets exactly one.
segmented AS (
	SELECT rfm.*, CASE
		WHEN r = 5 AND f >= 4 THEN 'Champions'
		WHEN r IN (3, 4) AND f >= 4 THEN 'Loyal'
		WHEN r >= 4 AND f IN (2, 3) THEN 'Potential loyalists'
		WHEN r = 5 AND f = 1 THEN 'New customers'
		WHEN r = 4 AND f = 1 THEN 'Promising'
		WHEN r = 3 AND f = 3 THEN 'Need attention'
		WHEN r = 3 AND f <= 2 THEN 'About to sleep'
		WHEN r <= 2 AND f = 5 THEN 'Cannot lose them'
		WHEN r <= 2 AND f IN (3, 4) THEN 'At risk'
		WHEN r = 2 AND f <= 2 THEN 'Hibernating'
		ELSE 'Lost' -- r = 1 AND f <= 2
	END AS segment
	FROM rfm),
kv AS (
	SELECT profile_id, unnest([
		{'name': 'revenue', 'value': to_json(round(revenue, 2))::VARCHAR},
		{'name': 'order_count', 'value': to_json(order_count)::VARCHAR},
		{'name': 'aov', 'value': to_json(round(revenue / order_count, 2))::VARCHAR},
		{'name': 'items_per_order', 'value': to_json(round(units / order_count, 3))::VARCHAR},
		{'name': 'orders_per_month', 'value': to_json(round(order_count * 30.4375 / greatest(tenure_days, 30.4375), 3))::VARCHAR},
		{'name': 'mean_days_between_orders', 'value': to_json(CASE WHEN order_count > 1 THEN round(span_days / (order_count - 1), 3) END)::VARCHAR},
		{'name': 'recency_days', 'value': to_json(recency_days)::VARCHAR},
		{'name': 'first_order_at', 'value': to_json(strftime(first_order_at, '%Y-%m-%dT%H:%M:%SZ'))::VARCHAR},
		{'name': 'last_order_at', 'value': to_json(strftime(last_order_at, '%Y-%m-%dT%H:%M:%SZ'))::VARCHAR},
		{'name': 'tenure_days', 'value': to_json(tenure_days)::VARCHAR},
		{'name': 'favourite_category', 'value': to_json(favourite_category)::VARCHAR},
		{'name': 'favourite_product', 'value': to_json(favourite_product)::VARCHAR},
		{'name': 'rfm_r', 'value': to_json(r)::VARCHAR},
		{'name': 'rfm_f', 'value': to_json(f)::VARCHAR},
		{'name': 'rfm_m', 'value': to_json(mq)::VARCHAR},
		{'name': 'rfm_score', 'value': to_json(r::VARCHAR || f::VARCHAR || mq::VARCHAR)::VARCHAR},
		{'name': 'rfm_segment', 'value': to_json(segment)::VARCHAR}
	]) AS s
	FROM segmented)
SELECT kv.profile_id, kv.s.name, kv.s.value, params.computed_at
FROM kv CROSS JOIN params
WHERE kv.s.value IS NOT NULL`
