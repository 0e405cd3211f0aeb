package clv

import (
	"math"
	"runtime"
	"testing"
)

// ScoreCustomers on the CDNOW summaries with the published parameters: each
// customer's scores are the model's single-customer answers, CLV factors as
// documented, and the special cases are treated as the doc says.
func TestScoreCustomers(t *testing.T) {
	sums := cdnowSummaries(t)
	m := Models{BGNBD: publishedBGNBD, GammaGamma: GammaGamma{P: 6.25, Q: 3.74, V: 15.44}}
	got := ScoreCustomers(m, sums, ScoreOptions{PurchaseDays: 273})
	if len(got) != len(sums) {
		t.Fatalf("%d scores for %d customers", len(got), len(sums))
	}
	h := Horizon{Months: 12, MonthlyDiscount: 0.01, UnitsPerMonth: WeeksPerMonth}
	population := 6.25 * 15.44 / (3.74 - 1)
	for i, c := range sums {
		g := got[i]
		if g.CustomerID != c.CustomerID {
			t.Fatalf("row %d: %s for %s", i, g.CustomerID, c.CustomerID)
		}
		// Published: E[X(39) | 2, 30.43, 38.86] = 1.226 for customer 1.
		if c.CustomerID == "1" {
			near(t, "customer 1 E[Y(39)]", g.ExpectedPurchases, 1.226, 0.001)
		}
		near(t, "E[Y]", g.ExpectedPurchases, m.BGNBD.ConditionalExpectedPurchases(c, 39), 1e-12)
		if (c.Frequency > 0) != g.HasPAlive {
			t.Fatalf("%s: x=%d, HasPAlive %v", c.CustomerID, c.Frequency, g.HasPAlive)
		}
		if g.HasPAlive {
			near(t, "P(alive)", g.PAlive, m.BGNBD.PAlive(c), 1e-15)
			near(t, "churn", g.ChurnRisk, 1-g.PAlive, 1e-15)
		}
		value := population
		if c.Frequency > 0 && c.Monetary > 0 {
			value = 6.25 * (15.44 + float64(c.Frequency)*c.Monetary) / (6.25*float64(c.Frequency) + 3.74 - 1)
		}
		if !g.HasValue {
			t.Fatalf("%s: no value", c.CustomerID)
		}
		near(t, "E[M]", g.ExpectedValue, value, 1e-9)
		near(t, "CLV", g.CLV, CLV(m.BGNBD, c, value, h), 1e-9*math.Max(1, g.CLV))
	}

	// The result does not depend on the number of CPUs.
	prev := runtime.GOMAXPROCS(1)
	one := ScoreCustomers(m, sums, ScoreOptions{PurchaseDays: 273})
	runtime.GOMAXPROCS(prev)
	for i := range one {
		if one[i] != got[i] {
			t.Fatalf("row %d differs with one CPU: %+v vs %+v", i, one[i], got[i])
		}
	}
}

func TestScoreCustomersSpecialCases(t *testing.T) {
	t.Parallel()
	m := Models{BGNBD: publishedBGNBD, GammaGamma: GammaGamma{P: 6.25, Q: 3.74, V: 15.44}}
	refund := Summary{CustomerID: "r", Frequency: 2, Recency: 10, T: 20, Monetary: -5}
	got := ScoreCustomers(m, []Summary{refund}, ScoreOptions{})[0]
	near(t, "refund E[M] = population mean", got.ExpectedValue, 6.25*15.44/2.74, 1e-9)
	near(t, "default 90 days", got.ExpectedPurchases, m.BGNBD.ConditionalExpectedPurchases(refund, 90.0/7), 1e-12)
	// q ≤ 1: the spend model has no mean; one-time buyers get no value.
	m.GammaGamma.Q = 0.9
	one := ScoreCustomers(m, []Summary{{CustomerID: "o", T: 10}}, ScoreOptions{})[0]
	if one.HasValue || one.HasPAlive {
		t.Errorf("q ≤ 1, one-time buyer: %+v", one)
	}
	if got := ScoreCustomers(m, nil, ScoreOptions{}); len(got) != 0 {
		t.Errorf("no customers: %v", got)
	}
}
