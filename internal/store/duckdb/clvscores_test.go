package duckdb_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/traits/clv"
)

const cdnowDir = "../../traits/clv/testdata/"

// cdnowAsOf is the start of the day after the papers' calibration period
// (1997-01-01 … 1997-09-30).
var cdnowAsOf = time.Date(1997, 10, 1, 0, 0, 0, 0, time.UTC)

// cdnowWorkspace is a fresh workspace holding the CDNOW sample: profile
// "c<sample id>" per customer, one completed order per CSV row (several on
// one day are kept apart, as an import does), plus a cancelled order and a
// guest order that must count for nobody.
func cdnowWorkspace(t *testing.T) *duckdb.DB {
	t.Helper()
	src := `read_csv('` + cdnowDir + `cdnow_sample.csv', all_varchar = true)`
	return testDB(t,
		`INSERT INTO profiles (id, created_at, updated_at) SELECT DISTINCT 'c' || customer_id, TIMESTAMP '1997-01-01', TIMESTAMP '1997-01-01' FROM `+src,
		`INSERT INTO orders (profile_id, source_id, order_id, status, total, ordered_at, created_at, updated_at)
		 SELECT 'c' || customer_id, 'cdnow', 'row-' || row_number() OVER (), 'completed', CAST(dollar_value AS DOUBLE),
		        CAST(date AS TIMESTAMP) + INTERVAL 12 HOUR, now(), now() FROM `+src,
		// A cancelled order and a guest order: neither may change anything.
		`INSERT INTO orders (profile_id, source_id, order_id, status, total, ordered_at, created_at, updated_at) VALUES
		 ('c1', 'cdnow', 'x-cancelled', 'cancelled', 500, TIMESTAMP '1997-09-29 10:00:00', now(), now()),
		 (NULL, 'cdnow', 'x-guest', 'completed', 500, TIMESTAMP '1997-09-29 10:00:00', now(), now())`,
	)
}

func readCDNOW(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(cdnowDir + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows[1:]
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The SQL summary equals clv.Summarize run on the CSV rows (the second
// method) for every customer.
func TestCLVSummariesMatchSummarize(t *testing.T) {
	t.Parallel()
	db := cdnowWorkspace(t)
	got, end, err := db.CLVSummaries(context.Background(), cdnowAsOf)
	if err != nil {
		t.Fatal(err)
	}
	if end.Format(time.DateOnly) != "1997-09-30" {
		t.Fatalf("calibration end %s", end)
	}
	var txns []clv.Transaction
	for _, r := range readCDNOW(t, "cdnow_sample.csv") {
		day, err := time.Parse(time.DateOnly, r[2])
		if err != nil {
			t.Fatal(err)
		}
		txns = append(txns, clv.Transaction{CustomerID: "c" + r[1], Time: day, Amount: atof(t, r[4])})
	}
	want := clv.Summarize(txns, end, clv.Week)
	if len(got) != len(want) || len(got) != 2357 {
		t.Fatalf("%d summaries, Summarize gives %d (want 2357)", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.CustomerID != w.CustomerID || g.Frequency != w.Frequency || g.Recency != w.Recency || g.T != w.T || math.Abs(g.Monetary-w.Monetary) > 1e-9 {
			t.Fatalf("customer %d: SQL %+v, Summarize %+v", i, g, w)
		}
	}
}

// bgnbdClosedForm is the paper's (Fader, Hardie & Lee 2005, eq. 10 and
// appendix) P(alive) and E[Y(t)], written here from the formulas with a
// plain power series for 2F1, independently of package clv.
type bgnbdClosedForm struct{ r, alpha, a, b float64 }

func (m bgnbdClosedForm) pAlive(x, tx, T float64) float64 {
	if x == 0 {
		return 1
	}
	return 1 / (1 + m.a/(m.b+x-1)*math.Pow((m.alpha+T)/(m.alpha+tx), m.r+x))
}

func hyp2f1Series(a, b, c, z float64) float64 {
	sum, term := 1.0, 1.0
	for n := 0.0; n < 10000; n++ {
		term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
		sum += term
		if math.Abs(term) < 1e-15*math.Abs(sum) {
			break
		}
	}
	return sum
}

func (m bgnbdClosedForm) expected(x, tx, T, t float64) float64 {
	z := t / (m.alpha + T + t)
	bracket := 1 - math.Pow((m.alpha+T)/(m.alpha+T+t), m.r+x)*hyp2f1Series(m.r+x, m.b+x, m.a+m.b+x-1, z)
	return (m.a + m.b + x - 1) / (m.a - 1) * bracket * m.pAlive(x, tx, T)
}

// Per-profile CLV scores on CDNOW: the published per-customer expectations
// (README of the data set), and P(alive), E[Y] and CLV recomputed with the
// paper's closed forms in this test.
func TestRefreshCLVScoresCDNOW(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := cdnowWorkspace(t)
	// 39 weeks = 273 days: the horizon of the published E[X(39) | 2, 30.43, 38.86].
	res, err := db.RefreshCLVScores(ctx, cdnowAsOf, clv.ScoreOptions{PurchaseDays: 273})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != "" || res.Customers != 2357 || res.Scored != 2357 || res.CalibrationEnd != "1997-09-30" || res.CLVMonths != 12 || res.Discount != 0.01 {
		t.Fatalf("refresh %+v", res)
	}
	p := res.Report.Models[0].Parameters
	for k, want := range map[string]float64{"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426} {
		if math.Abs(p[k]-want)/want > 0.01 {
			t.Errorf("BG/NBD %s = %g, published %g", k, p[k], want)
		}
	}
	m := bgnbdClosedForm{p["r"], p["alpha"], p["a"], p["b"]}
	g := res.Report.Models[1].Parameters

	scores := map[string]map[string]float64{}
	rows, err := db.SQL().QueryContext(ctx, `SELECT profile_id, name, value, computed_at FROM profile_scores`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, name, value string
		var at time.Time
		if err := rows.Scan(&id, &name, &value, &at); err != nil {
			t.Fatal(err)
		}
		if !at.Equal(res.FittedAt.Truncate(time.Microsecond)) {
			t.Fatalf("%s %s computed_at %s, fit at %s", id, name, at, res.FittedAt)
		}
		if name == "clv_calibration_end" {
			if value != `"1997-09-30"` {
				t.Fatalf("%s: clv_calibration_end %s", id, value)
			}
			value = "0"
		}
		var v float64
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			t.Fatalf("%s %s: %q: %v", id, name, value, err)
		}
		if scores[id] == nil {
			scores[id] = map[string]float64{}
		}
		scores[id][name] = v
	}
	rows.Close()

	// Published: E[X(39) | x=2, t_x=30.43, T=38.86] = 1.226 (customer 1).
	if got := scores["c1"]["expected_purchases_273d"]; math.Abs(got-1.226) > 0.001 {
		t.Errorf("customer 1: expected purchases in 39 weeks %.4f, published 1.226", got)
	}
	// Published Gamma-Gamma expected values of the first ten customers.
	for i, want := range []float64{24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17} {
		id := "c" + strconv.Itoa(i+1)
		if got := scores[id]["expected_aov"]; math.Abs(got-want) > 0.1 {
			t.Errorf("%s: expected AOV %.2f, published %.2f", id, got, want)
		}
	}

	// Every customer against the closed forms on the published summary. It
	// gives t_x and T in weeks rounded to 0.01, which still identifies the
	// whole number of days (7 × 0.005 < 0.5); z̄ is rounded to the cent.
	oneTime := 0
	for _, r := range readCDNOW(t, "cdnow_customers_summary_with_transactions.csv") {
		id := "c" + r[0]
		x, tx, T, zbar := atof(t, r[1]), atof(t, r[2]), atof(t, r[3]), atof(t, r[4])
		tx, T = math.Round(tx*7)/7, math.Round(T*7)/7
		s := scores[id]
		if x == 0 {
			oneTime++
			if _, ok := s["p_alive"]; ok {
				t.Fatalf("%s: one-time buyer has p_alive", id)
			}
			if _, ok := s["churn_risk"]; ok {
				t.Fatalf("%s: one-time buyer has churn_risk", id)
			}
		} else {
			if want := m.pAlive(x, tx, T); math.Abs(s["p_alive"]-want) > 1e-4 {
				t.Fatalf("%s: p_alive %.4f, closed form %.4f", id, s["p_alive"], want)
			}
			if math.Abs(s["churn_risk"]-(1-s["p_alive"])) > 1.5e-4 {
				t.Fatalf("%s: churn_risk %.4f, p_alive %.4f", id, s["churn_risk"], s["p_alive"])
			}
		}
		wantY := m.expected(x, tx, T, 39)
		if math.Abs(s["expected_purchases_273d"]-wantY) > 1e-4 {
			t.Fatalf("%s: expected purchases %.4f, closed form %.4f", id, s["expected_purchases_273d"], wantY)
		}
		// Gamma-Gamma E[M | x, z̄] = p(v + x z̄)/(p x + q − 1) and the CLV sum
		// with the lifetimes month of 4.345 weeks, 1 % a month.
		value := g["p"] * (g["v"] + x*zbar) / (g["p"]*x + g["q"] - 1)
		if math.Abs(s["expected_aov"]-value) > 0.01 {
			t.Fatalf("%s: expected AOV %.2f, formula %.2f", id, s["expected_aov"], value)
		}
		want, prev := 0.0, 0.0
		for i := 1; i <= 12; i++ {
			cum := m.expected(x, tx, T, float64(i)*4.345)
			want += value * (cum - prev) / math.Pow(1.01, float64(i))
			prev = cum
		}
		if math.Abs(s["clv"]-want) > 0.01+0.005*x {
			t.Fatalf("%s: clv %.2f, closed form %.2f", id, s["clv"], want)
		}
	}
	if oneTime != 2357-946 {
		t.Errorf("%d one-time buyers, want %d", oneTime, 2357-946)
	}
}

// Too little data removes the previous scores and says why; bad horizons are
// refused before anything is written.
func TestRefreshCLVScoresSkipsAndValidates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := cdnowWorkspace(t)
	if _, err := db.RefreshCLVScores(ctx, cdnowAsOf, clv.ScoreOptions{}); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		if err := db.SQL().QueryRow(`SELECT count(*) FROM profile_scores WHERE name IN ('p_alive', 'clv', 'expected_purchases_90d', 'expected_purchases_273d')`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n == 0 {
		t.Fatal("no scores written")
	}
	for _, o := range []clv.ScoreOptions{{PurchaseDays: -1}, {PurchaseDays: 5000}, {CLV: clv.Horizon{Months: 12, MonthlyDiscount: 1.5}}, {CLV: clv.Horizon{Months: 500}}} {
		if _, err := db.RefreshCLVScores(ctx, cdnowAsOf, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
	if count() == 0 {
		t.Fatal("a refused refresh removed scores")
	}
	// As of 1997-01-02 every customer has one purchase day at most.
	res, err := db.RefreshCLVScores(ctx, time.Date(1997, 1, 2, 0, 0, 0, 0, time.UTC), clv.ScoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped == "" || res.Scored != 0 || count() != 0 {
		t.Fatalf("too little data: %+v, %d rows left", res, count())
	}
	res, err = db.RefreshCLVScores(ctx, time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), clv.ScoreOptions{})
	if err != nil || res.Skipped == "" || res.Customers != 0 {
		t.Fatalf("no orders: %+v %v", res, err)
	}
}

// The scores.clv setting: defaults, overrides, and every malformed form
// refused with the setting's name.
func TestCLVOptionsSetting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := duckdb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o, err := db.CLVOptions(ctx)
	if err != nil || o.PurchaseDays != 90 || o.CLV.Months != 12 || o.CLV.MonthlyDiscount != 0.01 || o.CLV.UnitsPerMonth != clv.WeeksPerMonth {
		t.Fatalf("defaults %+v %v", o, err)
	}
	if err := db.PutSetting(ctx, "scores.clv", `{"purchase_days": 30, "clv_months": 24}`, time.Now()); err != nil {
		t.Fatal(err)
	}
	if o, err = db.CLVOptions(ctx); err != nil || o.PurchaseDays != 30 || o.CLV.Months != 24 || o.CLV.MonthlyDiscount != 0.01 {
		t.Fatalf("override %+v %v", o, err)
	}
	for _, bad := range []string{
		``, `null x`, `{`, `[]`, `{"purchase_days": "90"}`, `{"purchase_days": 0}`, `{"purchase_days": 99999}`,
		`{"clv_months": 0}`, `{"monthly_discount": -0.1}`, `{"monthly_discount": 1}`, `{"horizon": 3}`,
		`{"purchase_days": 30} {}`, `{"purchase_days": 1e400}`, "{\"purchase_days\": 3\xff0}",
		`{"purchase_days": 30.5}`, `{"clv_months": ` + strings.Repeat("9", 5000) + `}`,
	} {
		if _, err := duckdb.ParseCLVOptions([]byte(bad)); err == nil || !strings.Contains(err.Error(), "scores.clv") {
			t.Errorf("%.60q: %v", bad, err)
		}
	}
	// A bad stored setting stops the step with that error, before anything
	// is written.
	if err := db.PutSetting(ctx, "scores.clv", `{"purchase_days": -1}`, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RunCLVScores(ctx, time.Time{}); err == nil || !strings.Contains(err.Error(), "purchase_days") {
		t.Errorf("bad setting: %v", err)
	}
}
