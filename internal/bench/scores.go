package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/traits"
	"github.com/atrium-cdp/atrium/internal/traits/clv"
)

// ScoresOptions size the scores benchmark.
type ScoresOptions struct {
	Profiles    int    // profiles generated (each with at least one order)
	Orders      int    // orders generated, about (each profile gets 1 … 2·Orders/Profiles − 1)
	Incremental int    // single-profile refreshes timed
	Dir         string // scratch folder ("" = temporary, removed after)
	DBMemory    string // DuckDB memory limit ("" = DuckDB's default)
	Progress    io.Writer
}

// ScoresResult is what `atrium bench scores` reports. Times are seconds
// unless named _ms.
type ScoresResult struct {
	Machine  Machine `json:"machine"`
	Profiles int     `json:"profiles"`
	Orders   int     `json:"orders"`
	Lines    int     `json:"lines"`
	Generate float64 `json:"generate_s"`

	Indicators        float64 `json:"indicators_rfm_s"` // RefreshIndicators: every built-in indicator and RFM, stored
	IndicatorProfiles int     `json:"indicator_profiles"`
	// The same batch again, replacing the set the first one stored (the
	// first wrote into an empty table): what a scheduled refresh does.
	IndicatorsAgain    float64 `json:"indicators_rfm_again_s"`
	HandSQL            float64 `json:"hand_sql_s"` // the same aggregates, hand-written, into a temporary table
	RatioToHandSQL     float64 `json:"ratio_to_hand_sql"`
	RecordBoundaries   float64 `json:"record_rfm_boundaries_s"`
	IncrementalMedian  float64 `json:"incremental_one_profile_median_ms"`
	IncrementalMax     float64 `json:"incremental_one_profile_max_ms"`
	IncrementalMatches bool    `json:"incremental_equals_batch"`
	// The same refreshes once a single-column index on
	// profile_scores(profile_id) exists (created here on the scratch
	// workspace only; the schema has none), and the time to build it.
	IndexBuild         float64 `json:"profile_index_build_s"`
	IndexedIncrMedian  float64 `json:"incremental_indexed_median_ms"`
	IndexedIncrMax     float64 `json:"incremental_indexed_max_ms"`
	IndexedIncrMatches bool    `json:"incremental_indexed_equals_batch"`

	CLVSummary      float64 `json:"clv_summary_s"` // orders → per-customer (x, t_x, T, z̄) in SQL
	FitCustomers    int     `json:"fit_customers"`
	FitBGNBD        float64 `json:"fit_bgnbd_s"`
	FitConverged    bool    `json:"fit_converged"`
	FitIterations   int     `json:"fit_iterations"`
	CLVScoresStored float64 `json:"clv_scores_refresh_s"` // RefreshCLVScores: summary, both fits, scoring, storing

	PeakRSSMB float64 `json:"peak_rss_mb"`
}

// Synthetic workspace, all in SQL. Random numbers are hashes of the row's
// coordinates (U below), so a size always gives the same data on any
// machine. Customers follow the BG/NBD story, so that the CLV fit has a real
// maximum to find: a first order on a day of 2024, then repeat orders at a
// personal Poisson rate λ ~ Exponential(mean 1/10 a day) until the window
// ends on 2025-12-31 or the customer leaves, which happens after each repeat
// order with a personal probability p ~ Beta(2, b) (b sets the mean number
// of orders; at most 60 repeats are drawn). Order values are exponential
// around a personal mean; 3 % of orders are cancelled. Orders are inserted
// profile by profile (as a sorted bulk import leaves them).
const genProfilesSQL = `INSERT INTO profiles (id, identified, created_at, updated_at)
SELECT printf('p%08d', p), true, TIMESTAMP '2024-01-01', TIMESTAMP '2024-01-01' FROM range(?) t(p)`

// genOrdersSQL takes 1 b (an integer ≥ 1: the customer leaves after b + 1
// repeat orders on average, window permitting), 2 the number of profiles.
var genOrdersSQL = strings.NewReplacer("U(", "(0.5 + hash(", ")U", ") % 1000000007) / 1000000007.0").Replace(`
INSERT INTO orders (profile_id, source_id, order_id, status, currency, total, ordered_at, created_at, updated_at)
WITH pp AS (
	SELECT p, CAST(? AS INTEGER) AS b, hash(p, 2) % 365 AS first_day, -ln(U(p, 1)U) / 10.0 AS lam,
	       -ln(U(p, 3)U) - ln(U(p, 4)U) AS gx, 0.5 + U(p, 8)U AS spend
	FROM range(?) t(p)),
pd AS (
	SELECT *, gx / (gx - list_sum(list_transform(range(b), k -> ln(U(p, 10 + k)U)))) AS pdrop FROM pp),
nn AS (
	SELECT p, first_day, lam, spend, CAST(least(60, greatest(1, ceil(ln(U(p, 5)U) / ln(1 - least(pdrop, 0.999999))))) AS BIGINT) AS repeats
	FROM pd),
rep AS (SELECT p, first_day, lam, spend, unnest(range(repeats + 1)) AS j FROM nn),
times AS (
	SELECT p, j, spend, first_day + U(p, 9)U
	       + sum(CASE WHEN j = 0 THEN 0 ELSE -ln(U(p, j, 4)U) / lam END) OVER (PARTITION BY p ORDER BY j) AS t
	FROM rep)
SELECT printf('p%08d', p), 'bench', printf('o%08d-%d', p, j),
       CASE WHEN hash(p, j, 7) % 100 < 3 THEN 'cancelled' ELSE 'completed' END, 'EUR',
       round(5 + 40 * spend * -ln(U(p, j, 6)U), 2),
       TIMESTAMP '2024-01-01' + to_seconds(CAST(t * 86400 AS BIGINT)),
       TIMESTAMP '2026-01-01', TIMESTAMP '2026-01-01'
FROM times WHERE t < 730 ORDER BY p, j`)

const (
	genLinesSQL = `INSERT INTO order_items (profile_id, source_id, order_id, line_no, product_id, name, category, quantity, unit_price, amount, status)
WITH l AS (SELECT profile_id, order_id, status, unnest(range(CAST(1 + hash(order_id) % 3 AS BIGINT))) AS k FROM orders)
SELECT profile_id, 'bench', order_id, k + 1, 'sku' || (hash(order_id, k) % 5000), NULL,
       'cat' || (hash(order_id, k) % 5000 % 40), 1 + hash(order_id, k, 1) % 5, 9.99, NULL, status
FROM l`

	// handSQL computes the aggregates of the batch (counts, sums, first and
	// last orders, units, favourite product and category, the three
	// quintiles) the way one would write them for a one-off report: no merge
	// chains, no JSON rows, one row per profile into a temporary table.
	handSQL = `CREATE OR REPLACE TEMP TABLE hand AS
WITH o AS (
	SELECT profile_id, source_id, order_id, ordered_at, total FROM orders
	WHERE profile_id IS NOT NULL AND status NOT IN ('cancelled', 'refunded', 'returned') AND ordered_at < ?),
l AS (
	SELECT o.profile_id, i.product_id, i.category, i.quantity FROM order_items i
	JOIN o ON o.source_id = i.source_id AND o.order_id = i.order_id
	WHERE i.status NOT IN ('cancelled', 'refunded', 'returned')),
per AS (SELECT profile_id, count(*) n, sum(total) rev, min(ordered_at) first_at, max(ordered_at) last_at FROM o GROUP BY 1),
units AS (SELECT profile_id, sum(quantity) units FROM l GROUP BY 1),
fp AS (SELECT profile_id, arg_max(product_id, q) product FROM (SELECT profile_id, product_id, sum(quantity) q FROM l GROUP BY 1, 2) GROUP BY 1),
fc AS (SELECT profile_id, arg_max(category, q) category FROM (SELECT profile_id, category, sum(quantity) q FROM l GROUP BY 1, 2) GROUP BY 1)
SELECT per.*, units, product, category,
       ntile(5) OVER (ORDER BY last_at) r, ntile(5) OVER (ORDER BY n, rev) f, ntile(5) OVER (ORDER BY rev, n) m
FROM per LEFT JOIN units USING (profile_id) LEFT JOIN fp USING (profile_id) LEFT JOIN fc USING (profile_id)`
)

// benchAsOf is the as-of instant of every refresh in the benchmark: the day
// after the generated orders end.
var benchAsOf = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Scores generates a workspace of o.Profiles profiles and about o.Orders
// orders straight in DuckDB, then times the batch of indicators and RFM, the
// hand-written SQL for the same aggregates, the single-profile refresh
// (checked against the batch's values for that profile), the CLV summary and
// the BG/NBD fit, and the stored CLV scores.
func Scores(ctx context.Context, o ScoresOptions) (ScoresResult, error) {
	r := ScoresResult{Machine: ThisMachine()}
	if o.Profiles < 1 || o.Orders < o.Profiles {
		return r, fmt.Errorf("bench scores: want at least one profile and one order per profile")
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "atrium-bench-scores-")
		if err != nil {
			return r, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	say := func(f string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, f+"\n", a...)
		}
	}
	st, err := duckdb.OpenWith(ctx, filepath.Join(dir, "ws"), duckdb.Options{MemoryLimit: o.DBMemory})
	if err != nil {
		return r, err
	}
	defer st.Close()
	db := st.SQL()
	avg := max(1, o.Orders/o.Profiles)

	say("generating %d profiles and about %d orders", o.Profiles, o.Profiles*avg)
	start := time.Now()
	if _, err := db.ExecContext(ctx, genProfilesSQL, o.Profiles); err != nil {
		return r, fmt.Errorf("generate profiles: %w", err)
	}
	// p ~ Beta(2, b) gives E[1/p] = b + 1 repeat orders before leaving, some of
	// which fall after the window: b = avg + 3 lands near avg orders a profile.
	if _, err := db.ExecContext(ctx, genOrdersSQL, avg+3, o.Profiles); err != nil {
		return r, fmt.Errorf("generate orders: %w", err)
	}
	if _, err := db.ExecContext(ctx, genLinesSQL); err != nil {
		return r, fmt.Errorf("generate lines: %w", err)
	}
	if _, err := db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return r, err
	}
	r.Generate = time.Since(start).Seconds()
	r.Profiles = o.Profiles
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_items)`).Scan(&r.Orders, &r.Lines); err != nil {
		return r, err
	}
	say("generated %d orders and %d lines in %.1f s", r.Orders, r.Lines, r.Generate)

	say("batch: every built-in indicator and RFM")
	start = time.Now()
	if r.IndicatorProfiles, err = st.RefreshIndicators(ctx, benchAsOf); err != nil {
		return r, err
	}
	r.Indicators = time.Since(start).Seconds()
	say("  %.2f s for %d profiles", r.Indicators, r.IndicatorProfiles)

	say("hand-written SQL for the same aggregates")
	start = time.Now()
	if _, err := db.ExecContext(ctx, handSQL, benchAsOf); err != nil {
		return r, fmt.Errorf("hand sql: %w", err)
	}
	r.HandSQL = time.Since(start).Seconds()
	r.RatioToHandSQL = r.Indicators / r.HandSQL
	say("  %.2f s (batch / hand-written = %.2f)", r.HandSQL, r.RatioToHandSQL)

	say("batch again, replacing the stored indicators")
	start = time.Now()
	again, err := st.RefreshIndicators(ctx, benchAsOf)
	if err != nil {
		return r, err
	}
	if again != r.IndicatorProfiles {
		return r, fmt.Errorf("bench scores: second batch gave %d profiles, first %d", again, r.IndicatorProfiles)
	}
	r.IndicatorsAgain = time.Since(start).Seconds()
	say("  %.2f s", r.IndicatorsAgain)

	start = time.Now()
	if _, err := st.RecordRFMBoundaries(ctx); err != nil {
		return r, err
	}
	r.RecordBoundaries = time.Since(start).Seconds()

	if r.IncrementalMedian, r.IncrementalMax, r.IncrementalMatches, err = incremental(ctx, st, o, 0); err != nil {
		return r, err
	}
	say("incremental refresh of one profile: median %.2f ms, max %.2f ms, equals batch: %v", r.IncrementalMedian, r.IncrementalMax, r.IncrementalMatches)
	start = time.Now()
	if _, err := db.ExecContext(ctx, `CREATE INDEX bench_profile_scores_profile ON profile_scores (profile_id)`); err != nil {
		return r, fmt.Errorf("bench index: %w", err)
	}
	r.IndexBuild = time.Since(start).Seconds()
	if r.IndexedIncrMedian, r.IndexedIncrMax, r.IndexedIncrMatches, err = incremental(ctx, st, o, 1); err != nil {
		return r, err
	}
	say("  with an index on profile_scores(profile_id) (built in %.1f s): median %.2f ms, max %.2f ms", r.IndexBuild, r.IndexedIncrMedian, r.IndexedIncrMax)

	say("BG/NBD on every customer")
	start = time.Now()
	sums, _, err := st.CLVSummaries(ctx, benchAsOf)
	if err != nil {
		return r, err
	}
	r.CLVSummary = time.Since(start).Seconds()
	r.FitCustomers = len(sums)
	start = time.Now()
	_, info, err := clv.FitBGNBD(sums)
	if err != nil {
		return r, err
	}
	r.FitBGNBD = time.Since(start).Seconds()
	r.FitConverged, r.FitIterations = info.Converged, info.Iterations
	sums = nil
	say("  summary %.2f s, fit %.2f s on %d customers (converged %v)", r.CLVSummary, r.FitBGNBD, r.FitCustomers, r.FitConverged)

	start = time.Now()
	if _, err := st.RefreshCLVScores(ctx, benchAsOf, clv.ScoreOptions{}); err != nil {
		return r, err
	}
	r.CLVScoresStored = time.Since(start).Seconds()
	say("  CLV scores stored in %.2f s", r.CLVScoresStored)
	r.PeakRSSMB = PeakRSSMB()
	return r, nil
}

// incremental times single-profile refreshes of profiles spread over the
// workspace (a different set for each pass) and checks each one's rows equal
// what was stored before (the batch's).
func incremental(ctx context.Context, st *duckdb.DB, o ScoresOptions, pass int) (median, worst float64, same bool, err error) {
	n := max(1, o.Incremental)
	read := func(id string) (map[string]string, error) {
		rows, err := st.SQL().QueryContext(ctx, `SELECT name, value FROM profile_scores WHERE profile_id = ? AND name IN (SELECT unnest(CAST(? AS VARCHAR[])))`,
			id, traits.IndicatorNames)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, rows.Err()
	}
	var times []float64
	same = true
	for i := range n {
		id := fmt.Sprintf("p%08d", ((i+pass*n)*7919+o.Profiles/2)%o.Profiles)
		before, err := read(id)
		if err != nil {
			return 0, 0, false, err
		}
		start := time.Now()
		if _, err := st.RefreshIndicatorsFor(ctx, benchAsOf, []string{id}); err != nil {
			return 0, 0, false, err
		}
		times = append(times, float64(time.Since(start).Microseconds())/1000)
		after, err := read(id)
		if err != nil {
			return 0, 0, false, err
		}
		if !mapsEqual(before, after) {
			same = false
		}
	}
	slices.Sort(times)
	return times[len(times)/2], times[len(times)-1], same, nil
}

// mapsEqual compares two profiles' indicator rows: the same names, each
// value equal, or two decimals one unit of their last decimal apart — a sum
// of doubles depends on the order DuckDB's parallel aggregation adds them in,
// so a money value on a x.xx5 edge can round either way, in two batches as
// between a batch and a refresh.
func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || (v != w && !oneUlpApart(v, w)) {
			return false
		}
	}
	return true
}

func oneUlpApart(a, b string) bool {
	x, errA := strconv.ParseFloat(a, 64)
	y, errB := strconv.ParseFloat(b, 64)
	d := max(decimals(a), decimals(b))
	if errA != nil || errB != nil || d == 0 {
		return false
	}
	return math.Abs(x-y) <= 1.000001*math.Pow(10, -float64(d))
}

func decimals(s string) int {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i - 1
	}
	return 0
}

// MarshalScores renders the result as indented JSON.
func MarshalScores(r ScoresResult) ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// PrintScores writes the result for people.
func PrintScores(w io.Writer, r ScoresResult) {
	m := r.Machine
	fmt.Fprintf(w, "machine: %d CPUs, %d MB, %s %s/%s\n", m.CPUs, m.MemoryMB, m.Go, m.GoOS, m.GoArch)
	fmt.Fprintf(w, "data: %d profiles, %d orders, %d lines (generated in %.1f s)\n", r.Profiles, r.Orders, r.Lines, r.Generate)
	fmt.Fprintf(w, "indicators + RFM (batch, stored):    %8.2f s  (%d profiles; target < 60 s)\n", r.Indicators, r.IndicatorProfiles)
	fmt.Fprintf(w, "same aggregates, hand-written SQL:   %8.2f s  (batch / hand-written = %.2f)\n", r.HandSQL, r.RatioToHandSQL)
	fmt.Fprintf(w, "batch again, replacing the stored:   %8.2f s\n", r.IndicatorsAgain)
	fmt.Fprintf(w, "RFM boundaries recorded:             %8.2f s\n", r.RecordBoundaries)
	fmt.Fprintf(w, "incremental refresh of one profile:  %8.2f ms median, %.2f ms max (target < 10 ms; equals batch: %v)\n",
		r.IncrementalMedian, r.IncrementalMax, r.IncrementalMatches)
	fmt.Fprintf(w, "  with an index on profile_scores(profile_id): %.2f ms median, %.2f ms max (index built in %.1f s; equals batch: %v)\n",
		r.IndexedIncrMedian, r.IndexedIncrMax, r.IndexBuild, r.IndexedIncrMatches)
	fmt.Fprintf(w, "CLV summary (SQL):                   %8.2f s  (%d customers)\n", r.CLVSummary, r.FitCustomers)
	fmt.Fprintf(w, "BG/NBD fit:                          %8.2f s  (target < 30 s; converged %v, %d iterations)\n", r.FitBGNBD, r.FitConverged, r.FitIterations)
	fmt.Fprintf(w, "CLV scores refreshed and stored:     %8.2f s\n", r.CLVScoresStored)
	fmt.Fprintf(w, "peak RSS:                            %8.0f MB\n", r.PeakRSSMB)
}
