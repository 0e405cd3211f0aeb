package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

const retailCSV = "../imports/testdata/online_retail_sample_20k.csv"

// retailWorkspace imports the Online Retail sample as orders (source
// "retail") and runs the indicators as of 2011-12-10, the day after the last
// invoice.
func retailWorkspace(t *testing.T) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "ws")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, out, stderr := runCLI(t, "import", "orders", retailCSV, "--source", "retail", "--data", data); code != 0 {
		t.Fatalf("import: %d\n%s\n%s", code, out, stderr)
	}
	code, out, stderr := runCLI(t, "scores", "run", "--as-of", "2011-12-10", "--data", data, "--json")
	if code != 0 {
		t.Fatalf("scores run: %d %s", code, stderr)
	}
	var rep struct{ Profiles int }
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	// Every customer with at least one invoice that is not a cancellation.
	want := oracleInt(t, `SELECT count(DISTINCT CustomerID) FROM `+retailSrc+` WHERE CustomerID <> 'NA' AND InvoiceNo NOT LIKE 'C%'`)
	if rep.Profiles != want {
		t.Errorf("scores run: %d profiles, want %d", rep.Profiles, want)
	}
	return data
}

const retailSrc = `(SELECT InvoiceNo, StockCode, CustomerID, CAST(Quantity AS DOUBLE) AS q, CAST(UnitPrice AS DOUBLE) AS up,
	CAST(InvoiceDate AS TIMESTAMP) AS ts FROM read_csv('` + retailCSV + `', all_varchar = true))`

func oracleDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func oracleInt(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := oracleDB(t).QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// The indicators of a few Online Retail customers equal what plain SQL on the
// CSV gives: revenue = Σ Quantity × UnitPrice over non-C invoices, orders =
// distinct non-C invoices, and so on (docs/scores.md has the formulas).
func TestScoresRunOnlineRetailIndicators(t *testing.T) {
	data := retailWorkspace(t)
	ws, err := duckdb.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	pidOf := map[string]string{}
	// Frequent buyers; 12417 has a cancellation (C invoice) to leave out;
	// 17968 bought once on the first day; 13093 bought three times a year
	// before the as-of day.
	customers := []string{"12748", "14911", "15311", "12621", "12417", "17968", "13093"}
	for _, c := range customers {
		var typ, pid string
		if err := ws.SQL().QueryRow(`SELECT type, profile_id FROM identities WHERE value = ?`, c).Scan(&typ, &pid); err != nil {
			t.Fatalf("customer %s: %v", c, err)
		}
		if typ != "retail_customer_id" {
			t.Errorf("customer %s: identity type %q", c, typ)
		}
		pidOf[c] = pid
	}
	ws.Close()

	asOf := time.Date(2011, 12, 10, 0, 0, 0, 0, time.UTC)
	o := oracleDB(t)
	for _, c := range customers {
		t.Run(c, func(t *testing.T) {
			var revenue, units float64
			var orders int
			var first, last time.Time
			err := o.QueryRow(`SELECT sum(q * up), count(DISTINCT InvoiceNo), sum(q), min(ts), max(ts)
				FROM `+retailSrc+` WHERE CustomerID = ? AND InvoiceNo NOT LIKE 'C%'`, c).Scan(&revenue, &orders, &units, &first, &last)
			if err != nil {
				t.Fatal(err)
			}
			var fav string
			if err := o.QueryRow(`SELECT StockCode FROM `+retailSrc+` WHERE CustomerID = ? AND InvoiceNo NOT LIKE 'C%'
				GROUP BY StockCode HAVING sum(q) > 0 ORDER BY sum(q) DESC, StockCode LIMIT 1`, c).Scan(&fav); err != nil {
				t.Fatal(err)
			}
			day := func(x time.Time) time.Time { return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC) }
			days := func(a, b time.Time) float64 { return math.Round(day(b).Sub(day(a)).Hours() / 24) }
			tenure, recency := days(first, asOf), days(last, asOf)
			want := map[string]any{
				"revenue":           revenue,
				"order_count":       float64(orders),
				"aov":               revenue / float64(orders),
				"items_per_order":   units / float64(orders),
				"orders_per_month":  float64(orders) * 30.4375 / math.Max(tenure, 30.4375),
				"recency_days":      recency,
				"tenure_days":       tenure,
				"first_order_at":    first.Format("2006-01-02T15:04:05Z"),
				"last_order_at":     last.Format("2006-01-02T15:04:05Z"),
				"favourite_product": fav,
			}
			if orders > 1 {
				want["mean_days_between_orders"] = days(first, last) / float64(orders-1)
			}
			code, out, stderr := runCLI(t, "scores", "show", pidOf[c], "--data", data, "--json")
			if code != 0 {
				t.Fatalf("scores show: %d %s", code, stderr)
			}
			var got struct {
				Scores map[string]struct {
					Value      any       `json:"value"`
					ComputedAt time.Time `json:"computed_at"`
				} `json:"scores"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatal(err)
			}
			for k, w := range want {
				g, ok := got.Scores[k]
				if !ok {
					t.Errorf("%s missing", k)
					continue
				}
				switch w := w.(type) {
				case float64:
					if gf, ok := g.Value.(float64); !ok || math.Abs(gf-w) > 0.005 {
						t.Errorf("%s = %v, want %.4f", k, g.Value, w)
					}
				default:
					if g.Value != w {
						t.Errorf("%s = %v, want %v", k, g.Value, w)
					}
				}
				t.Logf("%-26s want %-22v got %s", k, w, jsonText(g.Value))
				if g.ComputedAt.IsZero() {
					t.Errorf("%s: no computed_at", k)
				}
			}
			if _, ok := got.Scores["mean_days_between_orders"]; orders == 1 && ok {
				t.Errorf("mean_days_between_orders given for a single order")
			}
			t.Logf("customer %s: revenue %.2f orders %d units %.0f first %s last %s recency %.0f tenure %.0f fav %s; segment %v score %v",
				c, revenue, orders, units, first.Format(time.DateTime), last.Format(time.DateTime), recency, tenure, fav,
				got.Scores["rfm_segment"].Value, got.Scores["rfm_score"].Value)
		})
	}
}

// RFM quintiles split the customers into five groups whose sizes differ by at
// most one, and every profile with orders is in exactly one named cell.
func TestScoresRunRFM(t *testing.T) {
	data := retailWorkspace(t)
	ws, err := duckdb.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	db := ws.SQL()
	var customers int
	if err := db.QueryRow(`SELECT count(*) FROM profile_scores WHERE name = 'order_count'`).Scan(&customers); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"rfm_r", "rfm_f", "rfm_m"} {
		var groups, smallest, largest int
		if err := db.QueryRow(`SELECT count(*), min(n), max(n) FROM (
			SELECT value, count(*) AS n FROM profile_scores WHERE name = ? GROUP BY value)`, q).Scan(&groups, &smallest, &largest); err != nil {
			t.Fatal(err)
		}
		if groups != 5 || largest-smallest > 1 || smallest < customers/5 {
			t.Errorf("%s: %d groups of %d to %d profiles (of %d)", q, groups, smallest, largest, customers)
		}
	}
	var without, multiple, unknown int
	if err := db.QueryRow(`SELECT
		count(*) FILTER (WHERE n = 0), count(*) FILTER (WHERE n > 1), count(*) FILTER (WHERE bad > 0)
		FROM (SELECT o.profile_id, count(s.value) AS n,
		             count(*) FILTER (WHERE s.value NOT IN ('"Champions"', '"Loyal"', '"Potential loyalists"', '"New customers"',
		                 '"Promising"', '"Need attention"', '"About to sleep"', '"At risk"', '"Cannot lose them"', '"Hibernating"', '"Lost"')) AS bad
		      FROM profile_scores o LEFT JOIN profile_scores s ON s.profile_id = o.profile_id AND s.name = 'rfm_segment'
		      WHERE o.name = 'order_count' GROUP BY o.profile_id)`).Scan(&without, &multiple, &unknown); err != nil {
		t.Fatal(err)
	}
	if without != 0 || multiple != 0 || unknown != 0 {
		t.Errorf("segments: %d profiles without one, %d with several, %d with an unknown name", without, multiple, unknown)
	}
	rows, err := db.Query(`SELECT value, count(*) FROM profile_scores WHERE name = 'rfm_segment' GROUP BY value ORDER BY 2 DESC`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		var n int
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		t.Logf("%-22s %d", v, n)
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Orders of a merged-away profile count for its survivor.
func TestScoresRunFollowsMerges(t *testing.T) {
	data := retailWorkspace(t)
	ws, err := duckdb.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	pid := map[string]string{}
	for _, c := range []string{"13093", "17968"} {
		var p string
		if err := ws.SQL().QueryRow(`SELECT profile_id FROM identities WHERE type = 'retail_customer_id' AND value = ?`, c).Scan(&p); err != nil {
			t.Fatal(err)
		}
		pid[c] = p
	}
	ws.Close()
	if code, out, stderr := runCLI(t, "profiles", "merge", pid["13093"], pid["17968"], "--data", data); code != 0 {
		t.Fatalf("merge: %d %s %s", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, "scores", "run", "--as-of", "2011-12-10", "--data", data); code != 0 {
		t.Fatalf("scores run: %s", stderr)
	}
	o := oracleDB(t)
	var revenue float64
	var orders int
	if err := o.QueryRow(`SELECT sum(q * up), count(DISTINCT InvoiceNo) FROM `+retailSrc+`
		WHERE CustomerID IN ('13093', '17968') AND InvoiceNo NOT LIKE 'C%'`).Scan(&revenue, &orders); err != nil {
		t.Fatal(err)
	}
	// Shown through the merged-away id too: show resolves to the survivor.
	code, out, stderr := runCLI(t, "scores", "show", pid["17968"], "--data", data, "--json")
	if code != 0 {
		t.Fatalf("scores show: %s", stderr)
	}
	var got struct {
		ProfileID string `json:"profile_id"`
		Scores    map[string]struct {
			Value any `json:"value"`
		} `json:"scores"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	gotOrders, _ := got.Scores["order_count"].Value.(float64)
	gotRevenue, _ := got.Scores["revenue"].Value.(float64)
	if got.ProfileID != pid["13093"] || int(gotOrders) != orders || math.Abs(gotRevenue-revenue) > 0.005 {
		t.Errorf("survivor %s: orders %v revenue %v, want %s with %d orders and %.2f", got.ProfileID,
			gotOrders, gotRevenue, pid["13093"], orders, revenue)
	}
	// The profile JSON carries the scores with their computed_at.
	code, out, stderr = runCLI(t, "profiles", "get", pid["17968"], "--data", data, "--json")
	if code != 0 {
		t.Fatalf("profiles get: %s", stderr)
	}
	var prof struct {
		ID     string `json:"id"`
		Scores map[string]struct {
			Value      json.RawMessage `json:"value"`
			ComputedAt time.Time       `json:"computed_at"`
		} `json:"scores"`
	}
	if err := json.Unmarshal([]byte(out), &prof); err != nil {
		t.Fatal(err)
	}
	if oc := prof.Scores["order_count"]; prof.ID != pid["13093"] || string(oc.Value) != strconv.Itoa(orders) || oc.ComputedAt.IsZero() {
		t.Errorf("profiles get %s: order_count %s computed %s, want %d", prof.ID, oc.Value, oc.ComputedAt, orders)
	}
	ws, err = duckdb.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if left, err := ws.ProfileScores(context.Background(), pid["17968"]); err != nil || len(left) != 0 {
		t.Errorf("merged-away profile keeps %d scores (%v)", len(left), err)
	}
}
