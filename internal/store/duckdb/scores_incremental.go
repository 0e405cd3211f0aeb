package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/traits"
)

// rfmBoundariesKey is the settings key under which RecordRFMBoundaries keeps
// the quintile boundaries of the last batch of indicators.
const rfmBoundariesKey = "scores.rfm_boundaries"

// rfmBound is the largest ranking key of one quintile in the batch (the
// profile ranked last in it). R ranks by (last order time, profile id), which
// is the batch's order (recency days descending, then last order time, then
// id) for any one as-of day; F by (order count, revenue, id); M by (revenue,
// order count, id).
type rfmBound struct {
	Q         int       `json:"q"`
	ProfileID string    `json:"profile_id"`
	LastAt    time.Time `json:"last_order_at,omitzero"`
	Orders    int64     `json:"order_count"`
	Revenue   float64   `json:"revenue"`
}

// RFMBoundaries are the quintile boundaries of one batch of indicators.
// Witness is a profile of that batch and Stamp the computed_at of its rfm_r
// row. A batch stamps every row it writes, so when the witness's rfm_r row
// no longer has that stamp (or is gone), a newer batch has run and the
// boundaries are stale. The check is a lookup by profile, which DuckDB
// answers by skipping the row groups of profile_scores that the min/max
// profile id excludes (the first batch writes its rows in profile order).
type RFMBoundaries struct {
	Stamp   time.Time  `json:"stamp"`
	Witness string     `json:"witness"`
	R       []rfmBound `json:"r"`
	F       []rfmBound `json:"f"`
	M       []rfmBound `json:"m"`
}

// rfmBoundariesSQL derives the boundaries from the stored batch: for each
// quintile 1…4 of each score, the profile ranked last in it and its ranking
// values as stored (money to the cent, times to the second). Quintile 5 has
// no upper boundary.
const rfmBoundariesSQL = `
WITH s AS (
	SELECT profile_id,
	       max(CASE WHEN name = 'rfm_r' THEN CAST(value AS INTEGER) END) AS r,
	       max(CASE WHEN name = 'rfm_f' THEN CAST(value AS INTEGER) END) AS f,
	       max(CASE WHEN name = 'rfm_m' THEN CAST(value AS INTEGER) END) AS m,
	       max(CASE WHEN name = 'last_order_at' THEN strptime(json_extract_string(value, '$'), '%Y-%m-%dT%H:%M:%SZ') END) AS last_at,
	       max(CASE WHEN name = 'order_count' THEN CAST(value AS BIGINT) END) AS n,
	       max(CASE WHEN name = 'revenue' THEN CAST(value AS DOUBLE) END) AS rev,
	       max(CASE WHEN name = 'rfm_r' THEN computed_at END) AS stamp
	FROM profile_scores
	WHERE name IN ('rfm_r', 'rfm_f', 'rfm_m', 'last_order_at', 'order_count', 'revenue')
	GROUP BY profile_id HAVING r IS NOT NULL)
SELECT 'r', r, profile_id, last_at, n, rev, stamp FROM s WHERE r < 5
	QUALIFY row_number() OVER (PARTITION BY r ORDER BY last_at DESC, profile_id DESC) = 1
UNION ALL
SELECT 'f', f, profile_id, last_at, n, rev, stamp FROM s WHERE f < 5
	QUALIFY row_number() OVER (PARTITION BY f ORDER BY n DESC, rev DESC, profile_id DESC) = 1
UNION ALL
SELECT 'm', m, profile_id, last_at, n, rev, stamp FROM s WHERE m < 5
	QUALIFY row_number() OVER (PARTITION BY m ORDER BY rev DESC, n DESC, profile_id DESC) = 1`

// RecordRFMBoundaries reads the quintile boundaries of the batch of
// indicators now stored and keeps them for RefreshIndicatorsFor. Call it
// after RefreshIndicators; RefreshIndicatorsFor also calls it when it finds
// none, or finds them older than the stored batch.
func (d *DB) RecordRFMBoundaries(ctx context.Context) (RFMBoundaries, error) {
	rows, err := d.sql.QueryContext(ctx, rfmBoundariesSQL)
	if err != nil {
		return RFMBoundaries{}, fmt.Errorf("rfm boundaries: %w", err)
	}
	defer rows.Close()
	var b RFMBoundaries
	for rows.Next() {
		var which string
		var x rfmBound
		var last sql.NullTime
		var stamp time.Time
		if err := rows.Scan(&which, &x.Q, &x.ProfileID, &last, &x.Orders, &x.Revenue, &stamp); err != nil {
			return RFMBoundaries{}, fmt.Errorf("rfm boundaries: %w", err)
		}
		x.LastAt = last.Time.UTC()
		switch which {
		case "r":
			b.R = append(b.R, x)
			if x.Q == 1 {
				b.Witness, b.Stamp = x.ProfileID, stamp.UTC()
			}
		case "f":
			b.F = append(b.F, x)
		case "m":
			b.M = append(b.M, x)
		}
	}
	if err := rows.Err(); err != nil {
		return RFMBoundaries{}, fmt.Errorf("rfm boundaries: %w", err)
	}
	for _, s := range [][]rfmBound{b.R, b.F, b.M} {
		slices.SortFunc(s, func(x, y rfmBound) int { return x.Q - y.Q })
	}
	v, err := json.Marshal(b)
	if err != nil {
		return RFMBoundaries{}, err
	}
	if err := d.PutSetting(ctx, rfmBoundariesKey, string(v), time.Now()); err != nil {
		return RFMBoundaries{}, fmt.Errorf("save rfm boundaries: %w", err)
	}
	return b, nil
}

// currentRFMBoundaries returns the recorded boundaries when they belong to
// the stored batch, recording them afresh otherwise.
func (d *DB) currentRFMBoundaries(ctx context.Context) (RFMBoundaries, error) {
	v, err := d.Setting(ctx, rfmBoundariesKey)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return RFMBoundaries{}, err
	}
	if err == nil {
		var b RFMBoundaries
		if json.Unmarshal([]byte(v), &b) == nil && b.Witness != "" {
			var stamp time.Time
			err := d.sql.QueryRowContext(ctx, `SELECT computed_at FROM profile_scores WHERE profile_id = ? AND name = ?`,
				b.Witness, traits.RFMRecency).Scan(&stamp)
			if err == nil && stamp.Equal(b.Stamp) {
				return b, nil
			}
		}
	}
	return d.RecordRFMBoundaries(ctx)
}

// incrementalIndicatorsSQL is traits.IndicatorsSQL restricted to a list of
// live profiles, with the R, F and M quintiles placed against the last
// batch's boundaries instead of re-ranking everybody (which is what makes a
// refresh of one profile cost milliseconds rather than a full pass). Every
// other formula is the batch's; TestRefreshIndicatorsForEqualsBatch checks
// the two give the same rows.
//
// The merge chains are resolved beforehand (chain lists every profile id
// whose orders count, with its live root), and the orders and lines are
// filtered by an IN list of those ids: a list of constants is what DuckDB
// turns into a scan filter that skips the row groups (by their min/max
// profile id) holding none of them.
//
// A quintile is 1 + the number of boundaries the profile ranks above; each
// boundary is one comparison with parameters in place of /*r*/, /*f*/ and
// /*m*/ (rfmQuintileSQL). Written as three correlated subqueries over a
// table of boundaries, the same rule made DuckDB spend more time planning the
// statement than running it.
//
// Parameters: 1 the chain's ids (VARCHAR[]), 2 their roots (VARCHAR[]), 3
// the as-of instant, 4 computed_at, then the chain's ids twice, one
// parameter each, where the two /*ids*/ markers are replaced by as many
// placeholders, then those of the boundaries' comparisons.
const incrementalIndicatorsSQL = `
WITH
chain AS (SELECT unnest(CAST(? AS VARCHAR[])) AS id, unnest(CAST(? AS VARCHAR[])) AS root),
params AS (SELECT CAST(? AS TIMESTAMP) AS as_of, CAST(? AS TIMESTAMP) AS computed_at),
live_orders AS (
	SELECT c.root AS profile_id, o.source_id, o.order_id, o.ordered_at, coalesce(o.total, 0) AS total
	FROM orders o JOIN chain c ON c.id = o.profile_id, params
	WHERE o.profile_id IN (/*ids*/)
	  AND o.status NOT IN ('cancelled', 'refunded', 'returned') AND o.ordered_at < params.as_of),
lines AS (
	SELECT lo.profile_id, nullif(i.product_id, '') AS product_id, nullif(i.name, '') AS name,
	       nullif(i.category, '') AS category, i.quantity
	FROM order_items i JOIN live_orders lo ON lo.source_id = i.source_id AND lo.order_id = i.order_id
	WHERE i.profile_id IN (/*ids*/)
	  AND i.status NOT IN ('cancelled', 'refunded', 'returned')),
` + traits.IndicatorPerProfileSQL + `metrics AS (
	SELECT pp.*, coalesce(u.units, 0) AS units, fp.product AS favourite_product, fc.category AS favourite_category,
	       date_diff('day', CAST(pp.first_order_at AS DATE), CAST(params.as_of AS DATE)) AS tenure_days,
	       date_diff('day', CAST(pp.last_order_at AS DATE), CAST(params.as_of AS DATE)) AS recency_days,
	       date_diff('day', CAST(pp.first_order_at AS DATE), CAST(pp.last_order_at AS DATE)) AS span_days,
	       date_trunc('second', pp.last_order_at) AS last_s, round(pp.revenue, 2) AS rev_c
	FROM per_profile pp CROSS JOIN params
	LEFT JOIN units u USING (profile_id)
	LEFT JOIN fav_product fp USING (profile_id)
	LEFT JOIN fav_category fc USING (profile_id)),
rfm AS (SELECT m.*, 1 /*r*/ AS r, 1 /*f*/ AS f, 1 /*m*/ AS mq FROM metrics m),
` + traits.IndicatorRowsSQL

// rfmQuintileSQL is, per score, the comparison of a profile with one
// boundary (true when it ranks above it) and the boundary's values it takes
// as parameters, in the ranking orders of RFMBoundaries.
var rfmQuintileSQL = map[string]struct {
	cmp  string
	args func(rfmBound) []any
}{
	"r": {`m.last_s > CAST(? AS TIMESTAMP) OR (m.last_s = CAST(? AS TIMESTAMP) AND m.profile_id > ?)`,
		func(x rfmBound) []any { return []any{x.LastAt.UTC(), x.LastAt.UTC(), x.ProfileID} }},
	"f": {`m.order_count > CAST(? AS BIGINT) OR (m.order_count = CAST(? AS BIGINT) AND
		(m.rev_c > CAST(? AS DOUBLE) OR (m.rev_c = CAST(? AS DOUBLE) AND m.profile_id > ?)))`,
		func(x rfmBound) []any { return []any{x.Orders, x.Orders, x.Revenue, x.Revenue, x.ProfileID} }},
	"m": {`m.rev_c > CAST(? AS DOUBLE) OR (m.rev_c = CAST(? AS DOUBLE) AND
		(m.order_count > CAST(? AS BIGINT) OR (m.order_count = CAST(? AS BIGINT) AND m.profile_id > ?)))`,
		func(x rfmBound) []any { return []any{x.Revenue, x.Revenue, x.Orders, x.Orders, x.ProfileID} }},
}

// incrementalQuery is incrementalIndicatorsSQL for n chain ids and the
// boundaries b, with its arguments after the first four.
func incrementalQuery(members []string, b RFMBoundaries) (string, []any) {
	q := strings.ReplaceAll(incrementalIndicatorsSQL, "/*ids*/", placeholders(len(members)))
	var args []any
	for range 2 {
		for _, m := range members {
			args = append(args, m)
		}
	}
	for _, s := range []struct {
		key    string
		bounds []rfmBound
	}{{"r", b.R}, {"f", b.F}, {"m", b.M}} {
		c := rfmQuintileSQL[s.key]
		var terms strings.Builder
		for _, x := range s.bounds {
			terms.WriteString(" + CAST(" + c.cmp + " AS INTEGER)")
			args = append(args, c.args(x)...)
		}
		q = strings.Replace(q, "/*"+s.key+"*/", terms.String(), 1)
	}
	return q, args
}

// writeIndicatorsSQL makes the stored indicator rows of the refreshed
// profiles the new ones in one statement, from three parallel lists
// (profile id, name, value) holding every (profile, indicator) pair to
// refresh: a pair with a value is updated in place or inserted, one with an
// empty value (no JSON value is empty) is deleted. Parameters: the three
// lists, then computed_at twice. Updating in place, rather than deleting the
// profile's rows and inserting them again, leaves the primary-key index as
// it is, and DuckDB looks the pairs up with one scan of profile_scores whose
// row groups it skips by their min/max profile id, from the batch's order.
const writeIndicatorsSQL = `
MERGE INTO profile_scores s
USING (SELECT unnest(CAST(? AS VARCHAR[])) AS profile_id, unnest(CAST(? AS VARCHAR[])) AS name,
              nullif(unnest(CAST(? AS VARCHAR[])), '') AS value) n
ON s.profile_id = n.profile_id AND s.name = n.name
WHEN MATCHED AND n.value IS NULL THEN DELETE
WHEN MATCHED THEN UPDATE SET value = n.value, computed_at = CAST(? AS TIMESTAMP)
WHEN NOT MATCHED AND n.value IS NOT NULL THEN INSERT (profile_id, name, value, computed_at)
	VALUES (n.profile_id, n.name, n.value, CAST(? AS TIMESTAMP))`

// RefreshIndicatorsFor recomputes the built-in indicators of the given
// profiles as of asOf, the same values RefreshIndicators would give them,
// except that their R, F and M quintiles are placed against the boundaries
// of the last batch (RecordRFMBoundaries) and the other profiles keep theirs:
// quintiles are only rebalanced by a batch. A merged-away id refreshes its
// survivor and loses its own rows; an unknown id is store.ErrNotFound.
// Returns how many profiles got indicators.
func (d *DB) RefreshIndicatorsFor(ctx context.Context, asOf time.Time, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var roots []string
	for _, id := range ids {
		root, err := d.Survivor(ctx, id)
		if err != nil {
			return 0, err
		}
		if !slices.Contains(roots, root) {
			roots = append(roots, root)
		}
	}
	members, owners, err := d.mergeChains(ctx, roots)
	if err != nil {
		return 0, err
	}
	b, err := d.currentRFMBoundaries(ctx)
	if err != nil {
		return 0, err
	}
	q, rest := incrementalQuery(members, b)
	now := time.Now().UTC()
	args := append([]any{members, owners, asOf.UTC(), now}, rest...)
	n := 0
	err = d.inTx(ctx, func(conn *sql.Conn) error {
		values := map[[2]string]string{}
		rows, err := conn.QueryContext(ctx, `SELECT profile_id, name, value FROM (`+q+`)`, args...)
		if err != nil {
			return fmt.Errorf("compute indicators: %w", err)
		}
		for rows.Next() {
			var id, name, value string
			if err := rows.Scan(&id, &name, &value); err != nil {
				rows.Close()
				return fmt.Errorf("compute indicators: %w", err)
			}
			values[[2]string{id, name}] = value
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("compute indicators: %w", err)
		}
		// Every indicator of every id asked for and of its survivor: the
		// ones without a new value are deleted.
		var pids, names, vals []string
		written := map[string]bool{}
		for _, id := range slices.Compact(slices.Sorted(slices.Values(slices.Concat(ids, roots)))) {
			for _, name := range traits.IndicatorNames {
				v := values[[2]string{id, name}]
				pids, names, vals = append(pids, id), append(names, name), append(vals, v)
				if v != "" {
					written[id] = true
				}
			}
		}
		if _, err := conn.ExecContext(ctx, writeIndicatorsSQL, pids, names, vals, now, now); err != nil {
			return fmt.Errorf("store indicators: %w", err)
		}
		n = len(written)
		// The witness's row was rewritten: record its new stamp, or the
		// next call would take the boundaries for stale.
		if values[[2]string{b.Witness, traits.RFMRecency}] != "" {
			b.Stamp = now.Truncate(time.Microsecond)
			v, err := json.Marshal(b)
			if err != nil {
				return err
			}
			if _, err := conn.ExecContext(ctx, `UPDATE settings SET value = ?, updated_at = ? WHERE key = ?`, string(v), now, rfmBoundariesKey); err != nil {
				return fmt.Errorf("save rfm boundaries: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// mergeChains lists every profile whose orders count for one of the live
// roots (the roots themselves and everything merged into them, at any
// depth) with the root it counts for.
func (d *DB) mergeChains(ctx context.Context, roots []string) (members, owners []string, err error) {
	members, owners = slices.Clone(roots), slices.Clone(roots)
	frontier, rootOf := roots, map[string]string{}
	for _, r := range roots {
		rootOf[r] = r
	}
	for depth := 0; len(frontier) > 0; depth++ {
		if depth == 64 { // as in Survivor: a chain this long is a bug, not data
			return nil, nil, fmt.Errorf("merge chain below %q too long", frontier[0])
		}
		rows, err := d.sql.QueryContext(ctx, `SELECT id, merged_into FROM profiles WHERE merged_into IN (`+placeholders(len(frontier))+`)`, anySlice(frontier)...)
		if err != nil {
			return nil, nil, fmt.Errorf("read merge chains: %w", err)
		}
		var next []string
		for rows.Next() {
			var id, into string
			if err := rows.Scan(&id, &into); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("read merge chains: %w", err)
			}
			if _, seen := rootOf[id]; seen {
				continue
			}
			rootOf[id] = rootOf[into]
			members, owners = append(members, id), append(owners, rootOf[into])
			next = append(next, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, fmt.Errorf("read merge chains: %w", err)
		}
		frontier = next
	}
	return members, owners, nil
}

// placeholders is "?, ?, …" for n parameters.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
