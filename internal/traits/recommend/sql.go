// Package recommend computes item-to-item product recommendations from the
// store: which products are bought (and viewed) by the same customers, and,
// per profile, the products most similar to what the profile bought or
// viewed. docs/recommendations.md gives the rules to users.
//
// Invariants:
//   - Only revenue orders count (status not cancelled, refunded or
//     returned, on the order and on the line), only lines with a product id
//     and a positive quantity, and only orders of a profile: guest orders
//     count for nobody.
//   - Orders and events of a merged-away profile count for the live profile
//     at the end of its merged_into chain, as for the commerce indicators.
//   - A product the profile already bought is never recommended; a product
//     it only viewed may be.
//   - The model (neighbours and popular products) is built in SQL on the
//     store and replaced in one transaction; a profile's history is read
//     live when it asks, so a purchase made after the build is excluded at
//     once.
//   - Every statement here is text fixed at compile time; the values (dates,
//     limits, profile ids) are always bound parameters.
package recommend

import "strings"

// Defaults of the model; Options.withDefaults fills them in.
const (
	DefaultNeighbours   = 20  // K: neighbours kept per product
	DefaultWindowDays   = 90  // popularity window, days before the latest order
	DefaultMaxItems     = 500 // profiles with more distinct products are left out of similarities
	DefaultMinTogether  = 3   // pairs seen together by fewer profiles are dropped (docs/recommendations.md: why 3)
	DefaultViewWeight   = 0.5 // incidence weight of a product only viewed
	DefaultLimit        = 10  // recommendations per profile
	MaxLimit            = 100 // the API and CLI refuse more
	nonRevenueStatusSQL = "('cancelled', 'refunded', 'returned')"
)

// ViewEvents are the track event names that count as a product view: the
// Segment e-commerce v2 name and its v1 alias. The viewed product is
// properties.product_id, a string or an integer.
var ViewEvents = []string{"Product Viewed", "Viewed Product"}

// globalChainCTE maps every profile to the live profile at the end of its
// merge chain (indicators.go uses the same definition).
const globalChainCTE = `chain(id, root) AS (
	SELECT id, id FROM profiles WHERE merged_into IS NULL
	UNION ALL SELECT p.id, c.root FROM profiles p JOIN chain c ON p.merged_into = c.id)`

// profileChainCTE maps one live profile ($profile) and every profile merged
// into it, directly or not, to that profile: the same shape as the global
// chain without walking every profile.
const profileChainCTE = `chain(id, root) AS (
	SELECT CAST($profile AS TEXT), CAST($profile AS TEXT)
	UNION ALL SELECT p.id, c.root FROM profiles p JOIN chain c ON p.merged_into = c.id)`

// incidenceCTEs defines incidence(profile_id, product_id, w, bought,
// last_bought_at) over the profiles of the chain CTE: one row per live
// profile and product it bought or viewed before $cutoff. w is 1 for a
// product bought, $view_weight for a product only viewed; last_bought_at is
// NULL for a product only viewed. Repeat purchases do not add up: a
// customer who bought a product ten times counts once, so that one
// wholesaler does not make a product look popular.
const incidenceCTEs = `
params AS (SELECT CAST($cutoff AS TIMESTAMP) AS cutoff, CAST($view_weight AS DOUBLE) AS view_weight),
bought AS (
	SELECT c.root AS profile_id, i.product_id, max(o.ordered_at) AS last_bought_at
	FROM orders o JOIN chain c ON c.id = o.profile_id
	JOIN order_items i ON i.source_id = o.source_id AND i.order_id = o.order_id, params
	WHERE o.status NOT IN ` + nonRevenueStatusSQL + ` AND i.status NOT IN ` + nonRevenueStatusSQL + `
	  AND o.ordered_at < params.cutoff AND i.quantity > 0
	  AND i.product_id IS NOT NULL AND i.product_id <> ''
	GROUP BY ALL),
viewed AS (
	SELECT DISTINCT c.root AS profile_id, json_extract_string(e.properties, '$.product_id') AS product_id
	FROM events e JOIN chain c ON c.id = e.profile_id, params
	WHERE e.type = 'track' AND e.event IN ('Product Viewed', 'Viewed Product') AND e.timestamp < params.cutoff
	  AND CASE WHEN json_valid(e.properties) THEN json_type(e.properties, '$.product_id') IN ('VARCHAR', 'BIGINT', 'UBIGINT')
	           AND length(json_extract_string(e.properties, '$.product_id')) BETWEEN 1 AND 256 ELSE false END),
incidence AS (
	SELECT coalesce(b.profile_id, v.profile_id) AS profile_id, coalesce(b.product_id, v.product_id) AS product_id,
	       CASE WHEN b.profile_id IS NOT NULL THEN 1.0 ELSE params.view_weight END AS w,
	       b.profile_id IS NOT NULL AS bought, b.last_bought_at
	FROM bought b FULL JOIN viewed v ON v.profile_id = b.profile_id AND v.product_id = b.product_id, params)`

// IncidenceSQL selects (profile_id, product_id, w, bought, last_bought_at)
// for every live profile: the input of the model. Parameters: $cutoff
// (interactions at or after it are ignored), $view_weight.
const IncidenceSQL = `WITH RECURSIVE ` + globalChainCTE + `,` + incidenceCTEs + `
SELECT profile_id, product_id, w, bought, last_bought_at FROM incidence`

// NeighboursSQL selects (product_id, neighbour_id, similarity, together,
// rank) from an incidence table ({{incidence}}): for each product its K
// most similar products, by cosine similarity of the products' weighted
// customer vectors,
//
//	similarity(i, j) = Σ_u w(u,i)·w(u,j) / (‖w(·,i)‖ · ‖w(·,j)‖)
//
// Profiles with more than $max_items distinct products are left out (their
// pairs grow with the square of their basket and say little: resellers);
// pairs seen together by fewer than $min_together profiles are dropped.
// Ties rank by neighbour id, so a rebuild on the same data is identical.
const NeighboursSQL = `
WITH model_incidence AS (
	SELECT * FROM {{incidence}}
	WHERE profile_id IN (SELECT profile_id FROM {{incidence}} GROUP BY profile_id HAVING count(*) <= $max_items)),
norms AS (SELECT product_id, sqrt(sum(w * w)) AS norm FROM model_incidence GROUP BY product_id),
pairs AS (
	SELECT a.product_id, b.product_id AS neighbour_id, sum(a.w * b.w) AS dot, count(*) AS together
	FROM model_incidence a JOIN model_incidence b ON a.profile_id = b.profile_id AND a.product_id <> b.product_id
	GROUP BY ALL
	HAVING count(*) >= $min_together)
SELECT p.product_id, p.neighbour_id, p.dot / (na.norm * nb.norm) AS similarity, p.together,
       row_number() OVER (PARTITION BY p.product_id ORDER BY round(p.dot / (na.norm * nb.norm), 9) DESC, p.neighbour_id) AS rank
FROM pairs p JOIN norms na ON na.product_id = p.product_id JOIN norms nb ON nb.product_id = p.neighbour_id
QUALIFY rank <= $k
ORDER BY p.product_id, rank`

// ItemsSQL selects (product_id, name, buyers, window_buyers, share,
// popular_rank) from an incidence table: every product bought, with the
// number of profiles who bought it, and its popularity over the window: the
// $window_days days up to the latest purchase in the table (not up to
// today, so that a workspace whose data stops earlier still has popular
// products). share = window_buyers / profiles who bought anything in the
// window. popular_rank orders the products bought in the window by
// window_buyers, then product id; NULL outside the window. The name is the
// catalogue's (products table), else the most frequent name on the lines.
const ItemsSQL = `
WITH last AS (SELECT max(last_bought_at) AS at FROM {{incidence}}),
win AS (
	SELECT i.* FROM {{incidence}} i, last
	WHERE i.bought AND i.last_bought_at > last.at - to_days(CAST($window_days AS INTEGER))),
win_profiles AS (SELECT count(DISTINCT profile_id) AS n FROM win),
per_item AS (
	SELECT i.product_id, count(*) AS buyers, count(w.profile_id) AS window_buyers
	FROM {{incidence}} i LEFT JOIN win w ON w.profile_id = i.profile_id AND w.product_id = i.product_id
	WHERE i.bought GROUP BY i.product_id),
catalogue AS (SELECT product_id, min(name) AS name FROM products WHERE name IS NOT NULL AND name <> '' GROUP BY product_id),
line_names AS (
	SELECT product_id, name FROM (
		SELECT product_id, trim(name) AS name, count(*) AS n FROM order_items
		WHERE product_id IN (SELECT product_id FROM per_item) AND name IS NOT NULL AND trim(name) <> ''
		GROUP BY ALL)
	QUALIFY row_number() OVER (PARTITION BY product_id ORDER BY n DESC, name) = 1)
SELECT p.product_id, coalesce(c.name, l.name, '') AS name, p.buyers, p.window_buyers,
       CASE WHEN p.window_buyers > 0 THEN p.window_buyers / wp.n END AS share,
       CASE WHEN p.window_buyers > 0 THEN row_number() OVER (ORDER BY p.window_buyers > 0 DESC, p.window_buyers DESC, p.product_id) END AS popular_rank
FROM per_item p CROSS JOIN win_profiles wp
LEFT JOIN catalogue c USING (product_id) LEFT JOIN line_names l USING (product_id)
ORDER BY p.product_id`

// scoringCTEs ranks candidates for every profile of a history relation
// (profile_id, product_id, w, bought) against a model ({{neighbours}},
// {{items}}) and keeps the first $limit per profile:
//
//   - collaborative candidates: score(y) = Σ over the profile's products x
//     of w(x) · similarity(x, y), over the stored neighbours of x; the
//     product x contributing most (ties: smallest id) is the reason;
//   - popular candidates fill up: the products by popular_rank, enough of
//     them that $limit remain after the exclusions;
//   - products the profile bought are removed from both; a product in both
//     lists stays collaborative; collaborative ones rank first (by score,
//     then id), popular ones after (by popular_rank).
const scoringCTEs = `
owned AS (SELECT profile_id, product_id FROM history WHERE bought),
profile_set AS (
	SELECT profile_id, count(*) FILTER (WHERE bought) AS n_bought FROM history GROUP BY profile_id
	UNION ALL SELECT CAST($profile AS TEXT), 0
	WHERE CAST($profile AS TEXT) IS NOT NULL AND CAST($profile AS TEXT) NOT IN (SELECT profile_id FROM history)),
contrib AS (
	SELECT h.profile_id, n.neighbour_id AS product_id, h.product_id AS anchor, h.bought AS anchor_bought,
	       h.w * n.similarity AS c, n.together
	FROM history h JOIN {{neighbours}} n ON n.product_id = h.product_id),
collab AS (
	SELECT profile_id, product_id, sum(c) AS score,
	       first(anchor ORDER BY round(c, 9) DESC, anchor) AS anchor,
	       first(anchor_bought ORDER BY round(c, 9) DESC, anchor) AS anchor_bought,
	       first(together ORDER BY round(c, 9) DESC, anchor) AS together
	FROM contrib GROUP BY profile_id, product_id),
candidates AS (
	SELECT profile_id, product_id, score, anchor, anchor_bought, together, false AS fallback, 0 AS pop_rank FROM collab
	UNION ALL
	SELECT ps.profile_id, it.product_id, it.share, NULL, NULL, it.window_buyers, true, it.popular_rank
	FROM profile_set ps
	CROSS JOIN (SELECT * FROM {{items}} WHERE popular_rank <= 2 * $limit + (SELECT max(n_bought) FROM profile_set)) it
	WHERE it.popular_rank <= 2 * $limit + ps.n_bought),
kept AS (
	SELECT c.* FROM candidates c ANTI JOIN owned o ON o.profile_id = c.profile_id AND o.product_id = c.product_id
	QUALIFY row_number() OVER (PARTITION BY c.profile_id, c.product_id ORDER BY c.fallback) = 1),
ranked AS (
	SELECT *, row_number() OVER (PARTITION BY profile_id
		ORDER BY fallback, pop_rank, round(score, 9) DESC, product_id) AS rank
	FROM kept)`

// scoringSelect is the final projection of the scoring CTEs.
const scoringSelect = `
SELECT r.profile_id, r.rank, r.product_id, coalesce(it.name, '') AS name, r.score, r.fallback,
       coalesce(r.anchor, '') AS anchor, coalesce(r.anchor_bought, false) AS anchor_bought,
       coalesce(r.together, 0) AS together
FROM ranked r LEFT JOIN {{items}} it ON it.product_id = r.product_id
WHERE r.rank <= $limit
ORDER BY r.profile_id, r.rank`

// ProfileRecommendSQL recommends for one live profile ($profile) from the
// stored model, reading the profile's history (its own orders and views and
// those of the profiles merged into it) as it is now. Parameters: $profile,
// $cutoff (pass a date after every order), $view_weight, $limit.
var ProfileRecommendSQL = Bind(`WITH RECURSIVE `+profileChainCTE+`,`+incidenceCTEs+`,
history AS (SELECT profile_id, product_id, w, bought FROM incidence),`+scoringCTEs+scoringSelect,
	map[string]string{"neighbours": "reco_neighbours", "items": "reco_items"})

// BatchRecommendSQL recommends for every profile of a history table
// ({{history}}: profile_id, product_id, w, bought) from a model held in
// other tables ({{neighbours}}, {{items}}); the offline evaluation uses it
// with the model trained before the split. Parameters: $limit, $profile
// (NULL).
const BatchRecommendSQL = `WITH history AS (SELECT profile_id, product_id, w, bought FROM {{history}}),` +
	scoringCTEs + scoringSelect

// Bind replaces the {{name}} placeholders of a statement with table names
// fixed in code. It panics on a placeholder left over: that is a
// programming error, caught by the first test that runs the statement.
func Bind(stmt string, tables map[string]string) string {
	pairs := make([]string, 0, 2*len(tables))
	for k, v := range tables {
		pairs = append(pairs, "{{"+k+"}}", v)
	}
	out := strings.NewReplacer(pairs...).Replace(stmt)
	if strings.Contains(out, "{{") {
		panic("recommend: unbound table in statement: " + out[strings.Index(out, "{{"):])
	}
	return out
}
