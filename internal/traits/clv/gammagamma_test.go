package clv

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Fader, Hardie & Lee (2005), "RFM and CLV", as asserted by lifetimes.
var publishedGG = GammaGamma{P: 6.25, Q: 3.74, V: 15.44}

func TestFitGammaGammaCDNOW(t *testing.T) {
	t.Parallel()
	for name, data := range map[string][]Summary{"orders": cdnowSummaries(t), "published": publishedSummaries(t)} {
		m, info, err := FitGammaGamma(data)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: p=%.4f q=%.4f v=%.4f LL=%.3f (%d customers, %d iterations, %s)",
			name, m.P, m.Q, m.V, info.LogLikelihood, info.Customers, info.Iterations, info.Status)
		if !info.Converged || info.Customers != 946 {
			t.Errorf("%s: converged=%v customers=%d, want 946", name, info.Converged, info.Customers)
		}
		within(t, name+" p", m.P, publishedGG.P, 0.01)
		within(t, name+" q", m.Q, publishedGG.Q, 0.01)
		within(t, name+" v", m.V, publishedGG.V, 0.01)
		near(t, name+" LogLikelihood()", m.LogLikelihood(data), info.LogLikelihood, 1e-6)
	}
}

func TestGammaGammaPublishedExpectations(t *testing.T) {
	t.Parallel()
	data := publishedSummaries(t)
	m, _, err := FitGammaGamma(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17}
	for i, w := range want {
		near(t, "E[M | x, z̄] of customer "+data[i].CustomerID, m.ConditionalExpectedValue(data[i]), w, 0.1)
	}
	// No repeat purchase: the population mean, whatever Monetary holds.
	near(t, "E[M | 0]", m.ConditionalExpectedValue(Summary{Monetary: 1e6}), m.P*m.V/(m.Q-1), 1e-12)
}

func TestGammaGammaGradient(t *testing.T) {
	t.Parallel()
	d, err := newGG(cdnowSummaries(t))
	if err != nil {
		t.Fatal(err)
	}
	theta := []float64{math.Log(5), math.Log(3), math.Log(20)}
	grad := make([]float64, 3)
	d.objective(theta, grad)
	for i := range theta {
		const h = 1e-6
		up, dn := append([]float64(nil), theta...), append([]float64(nil), theta...)
		up[i] += h
		dn[i] -= h
		num := (d.objective(up, nil) - d.objective(dn, nil)) / (2 * h)
		near(t, "gradient", grad[i], num, 1e-5*math.Max(1, math.Abs(num)))
	}
}

func TestFitGammaGammaRecoversSimulation(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 customers")
	}
	t.Parallel()
	truth := GammaGamma{P: 6, Q: 4, V: 15}
	data := SimulateBGNBD(rand.New(rand.NewPCG(5, 6)), BGNBD{R: 1, Alpha: 4, A: 0.8, B: 2.5},
		Simulation{Customers: 100_000, MinT: 26, MaxT: 78, Spend: &truth})
	m, info, err := FitGammaGamma(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("true %+v, fitted %+v on %d customers", truth, m, info.Customers)
	within(t, "p", m.P, truth.P, 0.05)
	within(t, "q", m.Q, truth.Q, 0.05)
	within(t, "v", m.V, truth.V, 0.08)
}

func TestFitGammaGammaNoRepeat(t *testing.T) {
	t.Parallel()
	if _, _, err := FitGammaGamma([]Summary{{T: 3}, {Frequency: 2, Recency: 1, T: 3}}); err != ErrNoRepeatPurchases {
		t.Errorf("err = %v, want ErrNoRepeatPurchases", err)
	}
}
