package duckdb_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

const retailCSV = "../../imports/testdata/online_retail_sample_20k.csv"

var retailAsOf = time.Date(2011, 12, 10, 0, 0, 0, 0, time.UTC)

// retailWorkspace holds the Online Retail sample: a profile "r<CustomerID>"
// per customer, an order per invoice (C invoices cancelled) with its total
// and lines. Customer 12748's second profile "r12748-old", merged into it,
// owns one of its invoices, so merge chains are exercised.
func retailWorkspace(t *testing.T) *duckdb.DB {
	t.Helper()
	src := `(SELECT * FROM read_csv('` + retailCSV + `', all_varchar = true) WHERE CustomerID <> 'NA')`
	return testDB(t,
		`INSERT INTO profiles (id, created_at, updated_at) SELECT DISTINCT 'r' || CustomerID, TIMESTAMP '2010-01-01', TIMESTAMP '2010-01-01' FROM `+src,
		`INSERT INTO profiles (id, merged_into, created_at, updated_at) VALUES ('r12748-old', 'r12748', TIMESTAMP '2010-01-01', TIMESTAMP '2010-01-01')`,
		`INSERT INTO orders (profile_id, source_id, order_id, status, total, ordered_at, created_at, updated_at)
		 SELECT 'r' || any_value(CustomerID), 'retail', InvoiceNo,
		        CASE WHEN InvoiceNo LIKE 'C%' THEN 'cancelled' ELSE 'completed' END,
		        sum(CAST(Quantity AS DOUBLE) * CAST(UnitPrice AS DOUBLE)), min(CAST(InvoiceDate AS TIMESTAMP)), now(), now()
		 FROM `+src+` GROUP BY InvoiceNo`,
		`INSERT INTO order_items (profile_id, source_id, order_id, line_no, product_id, name, quantity, unit_price, status)
		 SELECT 'r' || CustomerID, 'retail', InvoiceNo, row_number() OVER (PARTITION BY InvoiceNo), StockCode, Description,
		        CAST(Quantity AS DOUBLE), CAST(UnitPrice AS DOUBLE), CASE WHEN InvoiceNo LIKE 'C%' THEN 'cancelled' ELSE 'completed' END
		 FROM `+src,
		`UPDATE orders SET profile_id = 'r12748-old' WHERE order_id = (SELECT min(order_id) FROM orders WHERE profile_id = 'r12748')`,
		`UPDATE order_items SET profile_id = 'r12748-old' WHERE order_id = (SELECT order_id FROM orders WHERE profile_id = 'r12748-old')`,
	)
}

// sameValue compares two stored values: equal text, or two decimal numbers one
// unit of the last decimal apart. A sum of
// doubles depends on the order of its terms, which DuckDB's parallel
// aggregation does not fix, so a money total that lies on a rounding edge
// (x.xx5) can round either way in two runs of the same batch.
func sameValue(a, b string) bool {
	if a == b {
		return true
	}
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

// indicatorRows reads every indicator row but computed_at, keyed by
// profile and name.
func indicatorRows(t *testing.T, db *duckdb.DB) map[[2]string]string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT profile_id, name, value FROM profile_scores`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[[2]string]string{}
	for rows.Next() {
		var p, n, v string
		if err := rows.Scan(&p, &n, &v); err != nil {
			t.Fatal(err)
		}
		out[[2]string{p, n}] = v
	}
	return out
}

// The incremental refresh of every profile, one call per profile for a few
// and one call for all, writes exactly the rows the batch wrote.
func TestRefreshIndicatorsForEqualsBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := retailWorkspace(t)
	n, err := db.RefreshIndicators(ctx, retailAsOf)
	if err != nil {
		t.Fatal(err)
	}
	batch := indicatorRows(t, db)
	if n < 3000 || len(batch) < 17*n/2 {
		t.Fatalf("batch: %d profiles, %d rows", n, len(batch))
	}
	var ids []string
	if err := func() error {
		rows, err := db.SQL().Query(`SELECT id FROM profiles WHERE merged_into IS NULL ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	}(); err != nil {
		t.Fatal(err)
	}
	// One at a time: the boundaries are recorded on the first call.
	for _, id := range []string{"r12748", "r12417", "r17968", "r13093", ids[0], ids[len(ids)-1]} {
		got, err := db.RefreshIndicatorsFor(ctx, retailAsOf, []string{id})
		if err != nil || got != 1 {
			t.Fatalf("%s: %d profiles, %v", id, got, err)
		}
	}
	// The merged-away id refreshes its survivor.
	if got, err := db.RefreshIndicatorsFor(ctx, retailAsOf, []string{"r12748-old"}); err != nil || got != 1 {
		t.Fatalf("merged-away id: %d, %v", got, err)
	}
	if got, err := db.RefreshIndicatorsFor(ctx, retailAsOf, ids); err != nil || got != n {
		t.Fatalf("all profiles: %d of %d, %v", got, n, err)
	}
	incr := indicatorRows(t, db)
	for k, v := range batch {
		if !sameValue(incr[k], v) {
			t.Errorf("%s %s: incremental %s, batch %s", k[0], k[1], incr[k], v)
		}
	}
	for k, v := range incr {
		if _, ok := batch[k]; !ok {
			t.Errorf("%s %s: incremental wrote %s, batch nothing", k[0], k[1], v)
		}
	}
	if _, err := db.RefreshIndicatorsFor(ctx, retailAsOf, []string{"nobody"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown profile: %v", err)
	}
}

// New data for one profile moves it against the last batch's boundaries and
// leaves everyone else alone; a newer batch replaces the boundaries.
func TestRefreshIndicatorsForNewOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := retailWorkspace(t)
	if _, err := db.RefreshIndicators(ctx, retailAsOf); err != nil {
		t.Fatal(err)
	}
	before := indicatorRows(t, db)
	// 17968 bought once, on the first day of the data: R 1, F 1. A big order
	// the day before the as-of day makes it the most recent and the biggest
	// spender, with two orders.
	if before[[2]string{"r17968", "rfm_score"}] == "" {
		t.Fatal("no batch score for r17968")
	}
	if _, err := db.SQL().Exec(`INSERT INTO orders (profile_id, source_id, order_id, status, total, ordered_at, created_at, updated_at)
		VALUES ('r17968', 'retail', 'new-1', 'completed', 1000000, TIMESTAMP '2011-12-09 23:59:59', now(), now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RefreshIndicatorsFor(ctx, retailAsOf, []string{"r17968"}); err != nil {
		t.Fatal(err)
	}
	after := indicatorRows(t, db)
	for name, want := range map[string]string{"rfm_r": "5", "rfm_m": "5", "order_count": "2", "recency_days": "1", "last_order_at": `"2011-12-09T23:59:59Z"`} {
		if got := after[[2]string{"r17968", name}]; got != want {
			t.Errorf("r17968 %s = %s, want %s", name, got, want)
		}
	}
	for k, v := range before {
		if k[0] != "r17968" && after[k] != v {
			t.Fatalf("%v changed from %s to %s", k, v, after[k])
		}
	}
	// A new batch: boundaries are re-read from it, and the incremental
	// result equals the batch again.
	if _, err := db.RefreshIndicators(ctx, retailAsOf); err != nil {
		t.Fatal(err)
	}
	batch := indicatorRows(t, db)
	if _, err := db.RefreshIndicatorsFor(ctx, retailAsOf, []string{"r17968", "r12748"}); err != nil {
		t.Fatal(err)
	}
	again := indicatorRows(t, db)
	for k, v := range batch {
		if !sameValue(again[k], v) {
			t.Errorf("after a new batch: %v incremental %s, batch %s", k, again[k], v)
		}
	}
}

// A one-profile refresh rewrites that profile's indicators only: a stale
// indicator row goes, a merged-away id loses its rows, and rows of other
// names and other profiles stay as they were.
func TestRefreshIndicatorsForKeepsOtherRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := retailWorkspace(t)
	if _, err := db.RefreshIndicators(ctx, retailAsOf); err != nil {
		t.Fatal(err)
	}
	// r17968 bought once: no mean days between orders.
	if _, err := db.SQL().Exec(`INSERT INTO profile_scores VALUES
		('r17968', 'clv', '12.5', TIMESTAMP '2020-01-02 03:04:05'),
		('r17968', 'mean_days_between_orders', '3.5', TIMESTAMP '2020-01-02 03:04:05'),
		('r12748-old', 'revenue', '1', TIMESTAMP '2020-01-02 03:04:05'),
		('r12748-old', 'clv', '2', TIMESTAMP '2020-01-02 03:04:05')`); err != nil {
		t.Fatal(err)
	}
	before := storedScores(t, db)
	for _, ids := range [][]string{{"r17968"}, {"r12748-old"}} {
		if n, err := db.RefreshIndicatorsFor(ctx, retailAsOf, ids); err != nil || n != 1 {
			t.Fatalf("%v: %d profiles, %v", ids, n, err)
		}
	}
	after := storedScores(t, db)
	refreshed := map[string]bool{"r17968": true, "r12748": true}
	for k, s := range before {
		a, ok := after[k]
		switch {
		case k == [2]string{"r17968", "mean_days_between_orders"} || k == [2]string{"r12748-old", "revenue"}:
			if ok {
				t.Errorf("%v = %q kept", k, a.value)
			}
		case !ok:
			t.Errorf("%v deleted", k)
		case refreshed[k[0]] && k[1] != "clv":
			if !sameValue(a.value, s.value) || !a.at.After(s.at) {
				t.Errorf("%v: %q at %v, batch %q at %v", k, a.value, a.at, s.value, s.at)
			}
		case a.value != s.value || !a.at.Equal(s.at):
			t.Errorf("%v changed from %q at %v to %q at %v", k, s.value, s.at, a.value, a.at)
		}
	}
	if len(after) != len(before)-2 {
		t.Errorf("%d rows after, %d before", len(after), len(before))
	}
}
