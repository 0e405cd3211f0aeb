package cli

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// The offline evaluation on the Online Retail sample, checked against plain
// SQL on the CSV: the customers counted, and the popularity baseline's hits
// computed a second way (top 10 StockCodes by customers in the 90 days up to
// the last invoice before the split, without the customer's own, against
// what it bought new after the split).
func TestScoresModelRecommendOnlineRetail(t *testing.T) {
	data := filepath.Join(t.TempDir(), "ws")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, out, stderr := runCLI(t, "import", "orders", retailCSV, "--source", "retail", "--data", data); code != 0 {
		t.Fatalf("import: %d\n%s\n%s", code, out, stderr)
	}
	const split = "2011-09-01"
	code, out, stderr := runCLI(t, "scores", "model", "recommend", "--split", split, "--data", data, "--json")
	if code != 0 {
		t.Fatalf("evaluate: %d %s", code, stderr)
	}
	var ev struct {
		BoughtBeforeAndAfter int `json:"bought_before_and_after"`
		Evaluated            int `json:"evaluated"`
		Model, Popularity    struct {
			Customers, Hits int
			HitRate         float64 `json:"hit_rate"`
		}
	}
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	lines := `(SELECT DISTINCT CustomerID AS c, StockCode AS p, ts FROM ` + retailSrc + `
		WHERE CustomerID <> 'NA' AND InvoiceNo NOT LIKE 'C%' AND q > 0 AND StockCode <> '')`
	oracle := `WITH lines AS ` + lines + `,
		before AS (SELECT DISTINCT c, p FROM lines WHERE ts < DATE '` + split + `'),
		after AS (SELECT DISTINCT c, p FROM lines WHERE ts >= DATE '` + split + `'),
		pairs_ba AS (SELECT DISTINCT c FROM before WHERE c IN (SELECT c FROM after)),
		new AS (SELECT c, p FROM after WHERE c IN (SELECT c FROM pairs_ba) AND (c, p) NOT IN (SELECT c, p FROM before)),
		last AS (SELECT max(ts) AS at FROM lines WHERE ts < DATE '` + split + `'),
		popular AS (
			SELECT p, row_number() OVER (ORDER BY count(DISTINCT c) DESC, p) AS r
			FROM lines, last WHERE ts < DATE '` + split + `' AND ts > last.at - INTERVAL 90 DAY GROUP BY p),
		recs AS (
			SELECT b.c, pop.p FROM pairs_ba b JOIN popular pop ON true
			WHERE NOT EXISTS (SELECT 1 FROM before x WHERE x.c = b.c AND x.p = pop.p)
			QUALIFY row_number() OVER (PARTITION BY b.c ORDER BY pop.r) <= 10)
		SELECT (SELECT count(*) FROM pairs_ba), (SELECT count(DISTINCT c) FROM new),
		       (SELECT count(DISTINCT r.c) FROM recs r JOIN new n ON n.c = r.c AND n.p = r.p)`
	var both, evaluated, popHits int
	if err := oracleDB(t).QueryRow(oracle).Scan(&both, &evaluated, &popHits); err != nil {
		t.Fatalf("oracle: %v", err)
	}
	t.Logf("split %s: %d bought before and after, %d evaluated; popularity %d hits (SQL on the CSV); model %+v popularity %+v",
		split, both, evaluated, popHits, ev.Model, ev.Popularity)
	if ev.BoughtBeforeAndAfter != both || ev.Evaluated != evaluated || ev.Model.Customers != evaluated || ev.Popularity.Customers != evaluated {
		t.Errorf("customers: %d before and after, %d evaluated; want %d, %d", ev.BoughtBeforeAndAfter, ev.Evaluated, both, evaluated)
	}
	if ev.Popularity.Hits != popHits {
		t.Errorf("popularity hits %d, SQL on the CSV gives %d", ev.Popularity.Hits, popHits)
	}
	if ev.Model.HitRate <= 0 || ev.Model.HitRate > 1 {
		t.Errorf("model hit rate %v", ev.Model.HitRate)
	}

	// Bad input is refused with a usage error naming the flag.
	for _, args := range [][]string{
		{"--split", "2011-13-01"}, {"--split", "yesterday"}, {"--split", split, "--k", "0"}, {"--split", split, "--k", "101"},
		{"--split", split, "--until", split}, {"--neighbours", "-3"}, {"--window-days", "5000"}, {"extra"},
	} {
		code, _, stderr := runCLI(t, append([]string{"scores", "model", "recommend", "--data", data}, args...)...)
		if code == 0 || !strings.Contains(stderr, "usage") && !strings.Contains(stderr, "want") && !strings.Contains(stderr, "not both") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// scores run builds the model; scores recommend serves it, refuses bad
// limits and unknown profiles.
func TestScoresRecommendCLI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "ws")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	if code, out, stderr := runCLI(t, "import", "orders", retailCSV, "--source", "retail", "--data", data); code != 0 {
		t.Fatalf("import: %d\n%s\n%s", code, out, stderr)
	}
	ws, err := duckdb.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	var pid string
	err = ws.SQL().QueryRow(`SELECT profile_id FROM identities WHERE type = 'retail_customer_id' AND value = '12748'`).Scan(&pid)
	ws.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "scores", "recommend", pid, "--data", data, "--json")
	if code != 0 || !strings.Contains(out, `"model": null`) {
		t.Errorf("before any build: %d %s", code, out)
	}
	if code, _, stderr := runCLI(t, "scores", "run", "--only", "recommendations", "--as-of", "2011-12-10", "--data", data); code != 0 {
		t.Fatalf("scores run: %s", stderr)
	}
	code, out, stderr := runCLI(t, "scores", "recommend", pid, "--limit", "5", "--data", data, "--json")
	if code != 0 {
		t.Fatalf("recommend: %d %s", code, stderr)
	}
	var got struct {
		ProfileID       string `json:"profile_id"`
		Recommendations []struct {
			ProductID string `json:"product_id"`
			Reason    string `json:"reason"`
		} `json:"recommendations"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.ProfileID != pid || len(got.Recommendations) != 5 {
		t.Fatalf("answer %s (%v)", out, err)
	}
	// Nothing this customer bought (non-cancelled) is recommended.
	for _, r := range got.Recommendations {
		n := oracleInt(t, `SELECT count(*) FROM `+retailSrc+` WHERE CustomerID = '12748' AND InvoiceNo NOT LIKE 'C%' AND q > 0 AND StockCode = ?`, r.ProductID)
		if n != 0 || r.Reason == "" {
			t.Errorf("recommended %s (bought %d times), reason %q", r.ProductID, n, r.Reason)
		}
	}
	for _, args := range [][]string{{pid, "--limit", "0"}, {pid, "--limit", "101"}, {"no-such-profile"}, {}} {
		if code, _, _ := runCLI(t, append([]string{"scores", "recommend", "--data", data}, args...)...); code == 0 {
			t.Errorf("%v accepted", args)
		}
	}
}
