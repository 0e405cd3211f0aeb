package cli

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

const cdnowCSV = "../traits/clv/testdata/cdnow_sample.csv"

// cdnowWorkspace imports the CDNOW sample (2,357 customers) as orders.
func cdnowWorkspace(t *testing.T) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "ws")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, out, stderr := runCLI(t, "import", "orders", cdnowCSV, "--mapping", "../imports/testdata/cdnow.mapping.yaml",
		"--source", "cdnow", "--data", data); code != 0 {
		t.Fatalf("import: %d\n%s\n%s", code, out, stderr)
	}
	return data
}

// retailOrdersWorkspace imports the Online Retail sample as orders, without
// running the indicators.
func retailOrdersWorkspace(t *testing.T) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "ws")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, out, stderr := runCLI(t, "import", "orders", retailCSV, "--source", "retail", "--data", data); code != 0 {
		t.Fatalf("import: %d\n%s\n%s", code, out, stderr)
	}
	return data
}

type propensityReport struct {
	TrainCutoff time.Time `json:"train_cutoff"`
	TestCutoff  time.Time `json:"test_cutoff"`
	TestEnd     time.Time `json:"test_end"`
	HorizonDays int       `json:"horizon_days"`
	Train, Test struct {
		Profiles, Buyers    int
		NonBuyers           int `json:"non_buyers"`
		AUC, LogLoss, Brier float64
		ConstantLogLoss     float64 `json:"constant_log_loss"`
	}
	Calibration []struct {
		Profiles      int
		MeanPredicted float64 `json:"mean_predicted"`
		ObservedRate  float64 `json:"observed_rate"`
	}
	Baselines []struct {
		Name string
		AUC  float64
		Note string
	}
	Coefficients []struct{ Feature string }
	Fit          struct{ Converged bool }
}

// orders is a query over a CSV giving (customer, ts) for every revenue order
// line; the oracle counts distinct customers, so lines of one invoice do not
// need grouping.
type csvOrders struct {
	name string
	src  string
}

var (
	cdnowOrders = csvOrders{"CDNOW", `(SELECT CAST(customer_id AS VARCHAR) AS customer, CAST(date AS TIMESTAMP) AS ts
		FROM read_csv('` + cdnowCSV + `', all_varchar = true))`}
	// Online Retail: cancellations (C invoices) and guest lines (CustomerID NA) are not revenue orders of a profile.
	retailOrders = csvOrders{"Online Retail", `(SELECT CustomerID AS customer, ts FROM ` + retailSrc + `
		WHERE CustomerID <> 'NA' AND InvoiceNo NOT LIKE 'C%')`}
)

// labelCounts returns, straight from the CSV, the customers with an order
// before cutoff and how many of them ordered in [cutoff, cutoff+n days).
func (o csvOrders) labelCounts(t *testing.T, cutoff time.Time, n int) (profiles, buyers int) {
	t.Helper()
	end := cutoff.AddDate(0, 0, n)
	q := `SELECT count(*), count(*) FILTER (WHERE bought) FROM (
		SELECT customer, bool_or(ts >= ? AND ts < ?) AS bought FROM ` + o.src + ` GROUP BY customer HAVING min(ts) < ?)`
	if err := oracleDB(t).QueryRow(q, cutoff, end, cutoff).Scan(&profiles, &buyers); err != nil {
		t.Fatalf("%s oracle: %v", o.name, err)
	}
	return profiles, buyers
}

func runPropensity(t *testing.T, data string, args ...string) propensityReport {
	t.Helper()
	code, out, stderr := runCLI(t, append([]string{"scores", "model", "propensity", "--data", data, "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("scores model propensity %v: %d %s", args, code, stderr)
	}
	var r propensityReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

// The training and test sets have the profiles and labels that plain SQL on
// the CSV gives, the report is consistent with itself, and the model beats
// chance.
func TestScoresModelPropensityLabels(t *testing.T) {
	cases := []struct {
		orders  csvOrders
		data    func(*testing.T) string
		cutoff  string
		horizon int
	}{
		{cdnowOrders, cdnowWorkspace, "1997-07-01", 90},
		{cdnowOrders, cdnowWorkspace, "1997-04-01", 30},
		{retailOrders, retailOrdersWorkspace, "2011-06-13", 90},
	}
	for _, c := range cases {
		t.Run(c.orders.name+" "+c.cutoff, func(t *testing.T) {
			data := c.data(t)
			r := runPropensity(t, data, "--cutoff", c.cutoff, "--horizon-days", strconv.Itoa(c.horizon))
			c1, _ := time.Parse(time.DateOnly, c.cutoff)
			c2 := c1.AddDate(0, 0, c.horizon)
			if !r.TrainCutoff.Equal(c1) || !r.TestCutoff.Equal(c2) || !r.TestEnd.Equal(c2.AddDate(0, 0, c.horizon)) {
				t.Errorf("windows %s %s %s", r.TrainCutoff, r.TestCutoff, r.TestEnd)
			}
			for _, set := range []struct {
				name              string
				at                time.Time
				profiles, buyers  int
				nonBuyers         int
				auc, ll, constant float64
			}{
				{"train", c1, r.Train.Profiles, r.Train.Buyers, r.Train.NonBuyers, r.Train.AUC, r.Train.LogLoss, r.Train.ConstantLogLoss},
				{"test", c2, r.Test.Profiles, r.Test.Buyers, r.Test.NonBuyers, r.Test.AUC, r.Test.LogLoss, r.Test.ConstantLogLoss},
			} {
				wantProfiles, wantBuyers := c.orders.labelCounts(t, set.at, c.horizon)
				if set.profiles != wantProfiles || set.buyers != wantBuyers || set.nonBuyers != wantProfiles-wantBuyers {
					t.Errorf("%s: %d profiles, %d buyers, %d non-buyers; CSV gives %d profiles, %d buyers", set.name,
						set.profiles, set.buyers, set.nonBuyers, wantProfiles, wantBuyers)
				}
				if !(set.auc > 0.6 && set.auc <= 1) || !(set.ll < set.constant) {
					t.Errorf("%s: AUC %.3f, log-loss %.4f (constant %.4f): no better than chance", set.name, set.auc, set.ll, set.constant)
				}
				t.Logf("%s as of %s: %d profiles, %d buyers, AUC %.3f", set.name, set.at.Format(time.DateOnly), set.profiles, set.buyers, set.auc)
			}
			n, buyers, predicted := 0, 0.0, 0.0
			for _, b := range r.Calibration {
				n += b.Profiles
				buyers += b.ObservedRate * float64(b.Profiles)
				predicted += b.MeanPredicted * float64(b.Profiles)
			}
			if len(r.Calibration) != 10 || n != r.Test.Profiles || math.Abs(buyers-float64(r.Test.Buyers)) > 1e-6 {
				t.Errorf("calibration: %d bins over %d profiles with %.1f buyers; test has %d and %d", len(r.Calibration), n, buyers, r.Test.Profiles, r.Test.Buyers)
			}
			names := map[string]float64{}
			for _, b := range r.Baselines {
				if b.Note != "" {
					t.Errorf("baseline %s: %s", b.Name, b.Note)
				}
				names[b.Name] = b.AUC
			}
			if len(names) != 3 || names["recency"] <= 0.5 || names["frequency"] <= 0.5 || names["bg_nbd"] <= 0.5 {
				t.Errorf("baselines %v", names)
			}
			if !r.Fit.Converged || len(r.Coefficients) == 0 {
				t.Errorf("fit %+v with %d coefficients", r.Fit, len(r.Coefficients))
			}
			t.Logf("test AUC %.3f, baselines %v, mean predicted %.3f vs rate %.3f", r.Test.AUC, names, predicted/float64(n), buyers/float64(n))
		})
	}
}

// scores run as of c2 trains on the same window as the evaluation with
// cut-off c1 = c2 − N, so the stored probabilities, ranked against the labels
// the CSV gives for [c2, c2+N) and counted pair by pair, reproduce the
// reported test AUC; and every stored score is explained exactly by its
// contributions.
func TestScoresRunStoresPropensity(t *testing.T) {
	data := cdnowWorkspace(t)
	r := runPropensity(t, data, "--cutoff", "1997-07-01")
	code, out, stderr := runCLI(t, "scores", "run", "--as-of", "1997-09-29", "--data", data, "--json")
	if code != 0 {
		t.Fatalf("scores run: %s", stderr)
	}
	var run struct {
		Steps []struct {
			Name   string          `json:"name"`
			Result json.RawMessage `json:"result"` // each step has its own shape
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &run); err != nil {
		t.Fatal(err)
	}
	ran := false
	for _, s := range run.Steps {
		if s.Name != "propensity" {
			continue
		}
		ran = true
		var r struct {
			Profiles    int    `json:"profiles"`
			HorizonDays int    `json:"horizon_days"`
			Skipped     string `json:"skipped"`
		}
		if err := json.Unmarshal(s.Result, &r); err != nil || r.Profiles != 2357 || r.HorizonDays != 90 || r.Skipped != "" {
			t.Fatalf("scores run propensity %s (%v)", s.Result, err)
		}
	}
	if !ran {
		t.Fatalf("scores run has no propensity step: %s", out)
	}
	ws, err := duckdb.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ws.SQL().Query(`SELECT i.value, s.value FROM profile_scores s JOIN identities i ON i.profile_id = s.profile_id
		WHERE s.name = 'purchase_propensity'`)
	if err != nil {
		t.Fatal(err)
	}
	p := map[string]float64{}
	for rows.Next() {
		var customer, raw string
		if err := rows.Scan(&customer, &raw); err != nil {
			t.Fatal(err)
		}
		var v struct {
			P             float64            `json:"p"`
			HorizonDays   int                `json:"horizon_days"`
			Intercept     float64            `json:"intercept"`
			Contributions map[string]float64 `json:"contributions"`
		}
		if err := json.Unmarshal([]byte(raw), &v); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		sum := v.Intercept
		for _, c := range v.Contributions {
			sum += c
		}
		// The ≤ 12 terms are rounded to 4 decimals (6e-4 at most), and p too
		// (a logit error of 5e-5 / (p(1−p)) at most).
		tol := 6e-4 + 5e-5/(v.P*(1-v.P))
		if logit := math.Log(v.P / (1 - v.P)); !(math.Abs(logit-sum) <= tol) || v.HorizonDays != 90 || v.Contributions["recency_days"] == 0 {
			t.Fatalf("customer %s: %s: logit(p) %.4f, intercept + contributions %.4f", customer, raw, logit, sum)
		}
		p[customer] = v.P
	}
	rows.Close()
	ws.Close()
	labels := map[string]bool{}
	lr, err := oracleDB(t).Query(`SELECT customer, bool_or(ts >= '1997-09-29' AND ts < '1997-12-28') FROM ` + cdnowOrders.src + ` GROUP BY customer`)
	if err != nil {
		t.Fatal(err)
	}
	defer lr.Close()
	for lr.Next() {
		var c string
		var b bool
		if err := lr.Scan(&c, &b); err != nil {
			t.Fatal(err)
		}
		labels[c] = b
	}
	if len(labels) != len(p) {
		t.Fatalf("%d stored scores, %d customers in the CSV", len(p), len(labels))
	}
	var wins, pairs float64
	for a, pa := range p {
		if !labels[a] {
			continue
		}
		for b, pb := range p {
			if labels[b] {
				continue
			}
			pairs++
			if pa > pb {
				wins++
			} else if pa == pb {
				wins += 0.5
			}
		}
	}
	// Rounding p to 4 decimals creates a few ties the report does not have.
	if auc := wins / pairs; math.Abs(auc-r.Test.AUC) > 0.002 {
		t.Errorf("AUC of the stored scores against the CSV labels %.4f, reported test AUC %.4f", auc, r.Test.AUC)
	}
}

// Bad input: clear errors, exit codes 2 for flags and 1 for data, nothing
// stored.
func TestScoresModelPropensityBadInput(t *testing.T) {
	data := cdnowWorkspace(t)
	// Fewer than 10 buyers on 1997-12-25: checked on the CSV, not assumed.
	if _, buyers := cdnowOrders.labelCounts(t, time.Date(1997, 12, 25, 0, 0, 0, 0, time.UTC), 1); buyers >= 10 {
		t.Fatalf("precondition: %d buyers on 1997-12-25", buyers)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if code, _, stderr := runCLI(t, "init", "--data", empty); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--cutoff", "1996-12-01"}, 1, "outside the data"},
		{[]string{"--cutoff", "1997-01-01"}, 1, "outside the data"},
		{[]string{"--cutoff", "1998-03-01"}, 1, "no later than 1998-01-02"},
		{[]string{"--cutoff", "2030-01-01"}, 1, "outside the data"},
		{[]string{"--cutoff", "1997-13-01"}, 2, "want a date"},
		{[]string{"--cutoff", "yesterday"}, 2, "want a date"},
		{[]string{"--horizon-days", "0"}, 2, "want 1 to 3660"},
		{[]string{"--horizon-days", "-5"}, 2, "want 1 to 3660"},
		{[]string{"--horizon-days", "100000000000"}, 2, "want 1 to 3660"},
		{[]string{"--horizon-days", "3000"}, 1, "too short"},
		{[]string{"--horizon-days", "ninety"}, 2, ""},
		{[]string{"--lambda", "0"}, 2, "above 0"},
		{[]string{"--lambda", "NaN"}, 2, "above 0"},
		{[]string{"--cutoff", "1997-12-25", "--horizon-days", "1"}, 1, "training needs at least 10 of each"},
		{[]string{"extra"}, 2, "usage"},
		{[]string{"--data", empty}, 1, "no revenue orders"},
	}
	for _, c := range cases {
		code, out, stderr := runCLI(t, append([]string{"scores", "model", "propensity", "--data", data}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.want) || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d and %q", c.args, code, stderr, out, c.code, c.want)
		}
	}
	// scores run on a workspace too young for a model skips the propensity.
	code, out, stderr := runCLI(t, "scores", "run", "--as-of", "1997-01-05", "--data", data, "--json")
	if code != 0 || !strings.Contains(out, `"skipped": "training on orders before 1996-10-07`) {
		t.Errorf("scores run on four days of history: exit %d, %s %s", code, out, stderr)
	}
}
