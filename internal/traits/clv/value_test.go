package clv

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// linear is a Predictor buying k times per time unit, for checking the CLV
// sum by hand.
type linear struct{ k float64 }

func (l linear) ConditionalExpectedPurchases(_ Summary, t float64) float64 { return l.k * t }
func (l linear) PAlive(Summary) float64                                    { return 1 }

func TestCLV(t *testing.T) {
	t.Parallel()
	// k purchases a week, value 10, 12 months of 4.345 weeks at 1% a month:
	// 10·k·4.345 · Σ_{i=1..12} 1.01^−i.
	h := Horizon{Months: 12, MonthlyDiscount: 0.01, UnitsPerMonth: WeeksPerMonth}
	annuity := (1 - math.Pow(1.01, -12)) / 0.01
	within(t, "CLV linear", CLV(linear{0.5}, Summary{}, 10, h), 10*0.5*WeeksPerMonth*annuity, 1e-12)

	// Without discount the monthly differences telescope to E[Y(12 months)].
	m := publishedBGNBD
	c := Summary{Frequency: 2, Recency: 30.43, T: 38.86, Monetary: 22.35}
	h0 := Horizon{Months: 12, UnitsPerMonth: WeeksPerMonth}
	within(t, "CLV undiscounted", CLV(m, c, 25, h0), 25*m.ConditionalExpectedPurchases(c, 12*WeeksPerMonth), 1e-12)

	// Discounting lowers it; a lapsed customer is worth less than an active one.
	if CLV(m, c, 25, h) >= CLV(m, c, 25, h0) {
		t.Error("discounting did not lower CLV")
	}
	lapsed := Summary{Frequency: 2, Recency: 3, T: 38.86, Monetary: 22.35}
	if CLV(m, lapsed, 25, h) >= CLV(m, c, 25, h) {
		t.Error("lapsed customer worth as much as an active one")
	}
	if !math.IsNaN(CLV(m, c, 25, Horizon{Months: 0, UnitsPerMonth: 4})) {
		t.Error("no months: not NaN")
	}
}

func TestFitModelsReport(t *testing.T) {
	t.Parallel()
	models, err := FitModels(cdnowSummaries(t), calibrationEnd, FitOptions{ParetoNBD: true})
	if err != nil {
		t.Fatal(err)
	}
	r := models.Report
	if r.CalibrationEnd != "1997-09-30" || r.TimeUnit != "week" || r.Customers != 2357 || len(r.Models) != 3 || models.ParetoNBD == nil {
		t.Fatalf("report %+v", r)
	}
	for i, want := range []struct {
		model     string
		customers int
	}{{"bg_nbd", 2357}, {"gamma_gamma", 946}, {"pareto_nbd", 2357}} {
		got := r.Models[i]
		if got.Model != want.model || got.Customers != want.customers || !got.Converged || got.Iterations == 0 {
			t.Errorf("model %d: %+v", i, got)
		}
	}
	near(t, "bg_nbd r in report", r.Models[0].Parameters["r"], models.BGNBD.R, 0)

	// The JSON keys the CLI prints.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"calibration_end":"1997-09-30"`, `"time_unit":"week"`, `"models":[`, `"model":"bg_nbd"`,
		`"parameters":{"a":`, `"log_likelihood":-9582.4`, `"customers":946`, `"iterations":`, `"converged":true`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}

	// The whole chain on one customer: CLV with the fitted models.
	c := Summary{Frequency: 2, Recency: 30.43, T: 38.86, Monetary: 22.35}
	v := CLV(models.BGNBD, c, models.GammaGamma.ConditionalExpectedValue(c), Horizon{Months: 12, MonthlyDiscount: 0.01, UnitsPerMonth: WeeksPerMonth})
	t.Logf("12-month CLV of CDNOW customer 1: %.2f", v)
	if !(v > 20 && v < 60) {
		t.Errorf("CLV of customer 1 = %g", v)
	}
}
