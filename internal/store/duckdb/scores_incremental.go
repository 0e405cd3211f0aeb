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
// Witness is a profile of that batch, WitnessRow the rowid of its rfm_r row
// and Stamp that row's computed_at. A batch rewrites every row, so when the
// row at WitnessRow is no longer the witness's with that stamp, a newer batch
// has run and the boundaries are stale. The check reads one row by rowid:
// profile_scores has no index DuckDB can use for a lookup by profile (its
// ART index is on two columns), so anything else would scan the table.
type RFMBoundaries struct {
	Stamp      time.Time  `json:"stamp"`
	Witness    string     `json:"witness"`
	WitnessRow int64      `json:"witness_row"`
	R          []rfmBound `json:"r"`
	F          []rfmBound `json:"f"`
	M          []rfmBound `json:"m"`
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
	if b.Witness != "" {
		if err := d.sql.QueryRowContext(ctx, `SELECT rowid FROM profile_scores WHERE profile_id = ? AND name = 'rfm_r'`, b.Witness).Scan(&b.WitnessRow); err != nil {
			return RFMBoundaries{}, fmt.Errorf("rfm boundaries: %w", err)
		}
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
			var id, name string
			var stamp time.Time
			err := d.sql.QueryRowContext(ctx, `SELECT profile_id, name, computed_at FROM profile_scores WHERE rowid = ?`, b.WitnessRow).Scan(&id, &name, &stamp)
			if err == nil && id == b.Witness && name == traits.RFMRecency && stamp.Equal(b.Stamp) {
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
// Parameters: 1 the chain's ids (VARCHAR[]), 2 their roots (VARCHAR[]), 3
// the as-of instant, 4 computed_at, 5 the boundaries as a JSON array of {s,
// q, id, at, n, rev} objects (s = 'r', 'f' or 'm'), then the chain's ids
// twice, one parameter each, where the two /*ids*/ markers are replaced by
// as many placeholders.
const incrementalIndicatorsSQL = `
WITH
chain AS (SELECT unnest(CAST(? AS VARCHAR[])) AS id, unnest(CAST(? AS VARCHAR[])) AS root),
params AS (SELECT CAST(? AS TIMESTAMP) AS as_of, CAST(? AS TIMESTAMP) AS computed_at),
bounds AS (
	SELECT b->>'s' AS s, CAST(b->>'q' AS INTEGER) AS q, b->>'id' AS id,
	       strptime(b->>'at', '%Y-%m-%dT%H:%M:%SZ') AS at, CAST(b->>'n' AS BIGINT) AS n, CAST(b->>'rev' AS DOUBLE) AS rev
	FROM (SELECT unnest(CAST(CAST(? AS JSON) AS JSON[])) AS b)),
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
units AS (SELECT profile_id, sum(quantity) AS units FROM lines GROUP BY profile_id),
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
metrics AS (
	SELECT pp.*, coalesce(u.units, 0) AS units, fp.product AS favourite_product, fc.category AS favourite_category,
	       date_diff('day', CAST(pp.first_order_at AS DATE), CAST(params.as_of AS DATE)) AS tenure_days,
	       date_diff('day', CAST(pp.last_order_at AS DATE), CAST(params.as_of AS DATE)) AS recency_days,
	       date_diff('day', CAST(pp.first_order_at AS DATE), CAST(pp.last_order_at AS DATE)) AS span_days,
	       date_trunc('second', pp.last_order_at) AS last_s, round(pp.revenue, 2) AS rev_c
	FROM per_profile pp CROSS JOIN params
	LEFT JOIN units u USING (profile_id)
	LEFT JOIN fav_product fp USING (profile_id)
	LEFT JOIN fav_category fc USING (profile_id)),
-- A quintile is 1 + the number of boundaries the profile ranks above.
rfm AS (
	SELECT m.*,
	       1 + (SELECT count(*) FROM bounds b WHERE b.s = 'r' AND (m.last_s > b.at OR (m.last_s = b.at AND m.profile_id > b.id))) AS r,
	       1 + (SELECT count(*) FROM bounds b WHERE b.s = 'f' AND (m.order_count > b.n OR (m.order_count = b.n AND
	            (m.rev_c > b.rev OR (m.rev_c = b.rev AND m.profile_id > b.id))))) AS f,
	       1 + (SELECT count(*) FROM bounds b WHERE b.s = 'm' AND (m.rev_c > b.rev OR (m.rev_c = b.rev AND
	            (m.order_count > b.n OR (m.order_count = b.n AND m.profile_id > b.id))))) AS mq
	FROM metrics m),
` + traits.IndicatorRowsSQL

// boundsJSON is the boundaries as incrementalIndicatorsSQL reads them.
func (b RFMBoundaries) boundsJSON() (string, error) {
	type row struct {
		S   string  `json:"s"`
		Q   int     `json:"q"`
		ID  string  `json:"id"`
		At  string  `json:"at"`
		N   int64   `json:"n"`
		Rev float64 `json:"rev"`
	}
	out := []row{}
	for s, list := range map[string][]rfmBound{"r": b.R, "f": b.F, "m": b.M} {
		for _, x := range list {
			out = append(out, row{s, x.Q, x.ProfileID, x.LastAt.UTC().Format("2006-01-02T15:04:05Z"), x.Orders, x.Revenue})
		}
	}
	v, err := json.Marshal(out)
	return string(v), err
}

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
	bounds, err := b.boundsJSON()
	if err != nil {
		return 0, err
	}
	ph := placeholders(len(members))
	q := `INSERT INTO profile_scores (profile_id, name, value, computed_at) ` + strings.ReplaceAll(incrementalIndicatorsSQL, "/*ids*/", ph)
	now := time.Now().UTC()
	args := []any{members, owners, asOf.UTC(), now, bounds}
	for range 2 {
		for _, m := range members {
			args = append(args, m)
		}
	}
	// Each profile's rows are deleted by an equality on profile_id, which
	// DuckDB answers from an index on that column when the workspace has
	// one and by a scan otherwise (docs/scores.md, "Incremental refresh").
	n := 0
	err = d.inTx(ctx, func(conn *sql.Conn) error {
		clear := slices.Concat(ids, roots)
		if len(clear) > 32 { // many profiles: one pass over the table beats many lookups
			if _, err := conn.ExecContext(ctx, `DELETE FROM profile_scores WHERE profile_id IN (SELECT unnest(CAST(? AS VARCHAR[])))
				AND name IN (SELECT unnest(CAST(? AS VARCHAR[])))`, clear, traits.IndicatorNames); err != nil {
				return fmt.Errorf("clear indicators: %w", err)
			}
			clear = nil
		}
		for _, id := range clear {
			if _, err := conn.ExecContext(ctx, `DELETE FROM profile_scores WHERE profile_id = ? AND name IN (SELECT unnest(CAST(? AS VARCHAR[])))`,
				id, traits.IndicatorNames); err != nil {
				return fmt.Errorf("clear indicators: %w", err)
			}
		}
		rows, err := conn.QueryContext(ctx, q+` RETURNING profile_id, name`, args...)
		if err != nil {
			return fmt.Errorf("compute indicators: %w", err)
		}
		written := map[string]map[string]bool{}
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return fmt.Errorf("compute indicators: %w", err)
			}
			if written[id] == nil {
				written[id] = map[string]bool{}
			}
			written[id][name] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("compute indicators: %w", err)
		}
		n = len(written)
		// The witness's row was rewritten: record where it now is and its
		// stamp, or the next call would take the boundaries for stale.
		if written[b.Witness][traits.RFMRecency] {
			if err := conn.QueryRowContext(ctx, `SELECT rowid FROM profile_scores WHERE profile_id = ? AND name = ?`,
				b.Witness, traits.RFMRecency).Scan(&b.WitnessRow); err != nil {
				return fmt.Errorf("save rfm boundaries: %w", err)
			}
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
