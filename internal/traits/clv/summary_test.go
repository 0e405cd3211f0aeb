package clv

import (
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"
	"time"
)

// calibrationEnd is the end of the papers' 39-week calibration period.
var calibrationEnd = time.Date(1997, 9, 30, 0, 0, 0, 0, time.UTC)

func readCSV(t testing.TB, name string) [][]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rows[1:] // header
}

func num(t testing.TB, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// cdnowOrders is the CDNOW 1/10 sample as orders, keyed by the sample id.
func cdnowOrders(t testing.TB) []Transaction {
	var txns []Transaction
	for _, r := range readCSV(t, "cdnow_sample.csv") { // master_id,customer_id,date,cds,dollars
		d, err := time.Parse(time.DateOnly, r[2])
		if err != nil {
			t.Fatal(err)
		}
		txns = append(txns, Transaction{CustomerID: r[1], Time: d, Amount: num(t, r[4])})
	}
	return txns
}

// cdnowSummaries is the summary computed from the orders, as the issue asks
// the models to be fitted on.
func cdnowSummaries(t testing.TB) []Summary {
	return Summarize(cdnowOrders(t), calibrationEnd, Week)
}

// publishedSummaries is cdnow_customers_summary_with_transactions.csv, the
// papers' calibration data (rounded to 2 decimals), keyed by ID.
func publishedSummaries(t testing.TB) []Summary {
	var out []Summary
	for _, r := range readCSV(t, "cdnow_customers_summary_with_transactions.csv") { // ID,x,t_x,T,zbar
		out = append(out, Summary{CustomerID: r[0], Frequency: int(num(t, r[1])), Recency: num(t, r[2]), T: num(t, r[3]), Monetary: num(t, r[4])})
	}
	return out
}

func TestSummarizeCDNOW(t *testing.T) {
	t.Parallel()
	got := Summarize(cdnowOrders(t), calibrationEnd, Week)
	byID := make(map[string]Summary, len(got))
	for _, s := range got {
		byID[s.CustomerID] = s
	}
	if len(got) != 2357 {
		t.Fatalf("got %d customers, want 2357", len(got))
	}
	// The published files are rounded to 2 decimals.
	const tol = 0.005 + 1e-9
	check := func(file string, monetary bool) {
		rows := readCSV(t, file)
		if len(rows) != len(got) {
			t.Fatalf("%s: %d rows, Summarize gave %d", file, len(rows), len(got))
		}
		for _, r := range rows {
			s, ok := byID[r[0]]
			if !ok {
				t.Fatalf("%s: customer %s missing", file, r[0])
			}
			if s.Frequency != int(num(t, r[1])) || math.Abs(s.Recency-num(t, r[2])) > tol || math.Abs(s.T-num(t, r[3])) > tol {
				t.Errorf("%s: customer %s: got x=%d t_x=%.4f T=%.4f, want %s", file, r[0], s.Frequency, s.Recency, s.T, r[1:])
			}
			if monetary && math.Abs(s.Monetary-num(t, r[4])) > tol {
				t.Errorf("%s: customer %s: got zbar=%.4f, want %s", file, r[0], s.Monetary, r[4])
			}
		}
	}
	check("cdnow_customers_summary.csv", false)
	check("cdnow_customers_summary_with_transactions.csv", true)

	withRepeat := 0
	for _, s := range got {
		if s.Frequency > 0 {
			withRepeat++
		}
	}
	if withRepeat != 946 {
		t.Errorf("%d customers with a repeat purchase, want 946", withRepeat)
	}
}

func TestSummarizeRules(t *testing.T) {
	t.Parallel()
	day := func(d int, h int) time.Time { return time.Date(2024, 1, d, h, 0, 0, 0, time.UTC) }
	paris := time.FixedZone("CET", 3600)
	txns := []Transaction{
		{"b", day(3, 10), 5},
		{"a", day(1, 9), 10},
		{"a", day(1, 18), 99}, // same day as the first order: part of it
		{"a", day(8, 0), 20},
		{"a", day(8, 23), 10}, // merged with the order before
		{"a", time.Date(2024, 1, 15, 0, 30, 0, 0, paris), 7}, // 14 Jan 23:30 UTC
		{"a", day(30, 12), 1000},                             // after the calibration end
		{"c", day(21, 12), 3},                                // first order on the last day
		{"d", day(22, 0), 3},                                 // not yet a customer
	}
	got := Summarize(txns, day(21, 15), Week)
	want := []Summary{
		{CustomerID: "a", Frequency: 2, Recency: 13.0 / 7, T: 20.0 / 7, Monetary: (30 + 7) / 2.0},
		{CustomerID: "b", Frequency: 0, Recency: 0, T: 18.0 / 7},
		{CustomerID: "c", Frequency: 0, Recency: 0, T: 0},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.CustomerID != w.CustomerID || g.Frequency != w.Frequency || math.Abs(g.Recency-w.Recency) > 1e-12 ||
			math.Abs(g.T-w.T) > 1e-12 || math.Abs(g.Monetary-w.Monetary) > 1e-12 {
			t.Errorf("customer %d: got %+v, want %+v", i, g, w)
		}
	}
}
