package clv

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
)

// Fader, Hardie & Lee (2005), the Pareto/NBD fit on CDNOW, as lifetimes
// asserts it.
var publishedPareto = ParetoNBD{R: 0.553, Alpha: 10.578, S: 0.606, Beta: 11.669}

func TestFitParetoNBDCDNOW(t *testing.T) {
	t.Parallel()
	for name, data := range map[string][]Summary{"orders": cdnowSummaries(t), "published": publishedSummaries(t)} {
		m, info, err := FitParetoNBD(data)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: r=%.4f α=%.4f s=%.4f β=%.4f LL=%.3f (%d iterations, %d evaluations, %s)",
			name, m.R, m.Alpha, m.S, m.Beta, info.LogLikelihood, info.Iterations, info.Evaluations, info.Status)
		if !info.Converged {
			t.Errorf("%s: not converged", name)
		}
		within(t, name+" r", m.R, publishedPareto.R, 0.01)
		within(t, name+" α", m.Alpha, publishedPareto.Alpha, 0.01)
		within(t, name+" s", m.S, publishedPareto.S, 0.01)
		within(t, name+" β", m.Beta, publishedPareto.Beta, 0.01)
		if name == "published" {
			near(t, "E[X(52) | 26, 30.86, 31]", m.ConditionalExpectedPurchases(Summary{Frequency: 26, Recency: 30.86, T: 31}, 52), 25.46, 0.01)
		}
	}
}

// TestParetoNBDLikelihoodIntegral checks the closed form of A₀ (Euler-
// transformed series, both the α < β and α ≥ β branches) against numerical
// integration of what it stands for, the likelihood of dying between the last
// purchase and T:
//
//	A₀ = ∫_{t_x}^{T} (r+s+x) (α+τ)^−(r+x) (β+τ)^−(s+1) dτ
func TestParetoNBDLikelihoodIntegral(t *testing.T) {
	t.Parallel()
	for _, m := range []ParetoNBD{publishedPareto, {R: 0.5, Alpha: 12, S: 0.7, Beta: 3}, {R: 2, Alpha: 4, S: 1.5, Beta: 4}} {
		for _, c := range []Summary{{Frequency: 1, Recency: 2, T: 30}, {Frequency: 10, Recency: 25, T: 38}, {Frequency: 0, Recency: 0, T: 27}} {
			x := float64(c.Frequency)
			f := func(tau float64) float64 {
				return (m.R + m.S + x) * math.Pow(m.Alpha+tau, -(m.R+x)) * math.Pow(m.Beta+tau, -(m.S+1))
			}
			want := quad.Fixed(f, c.Recency, c.T, 200, nil, 0)
			within(t, "A₀", math.Exp(m.logA0(x, c.Recency, c.T)), want, 1e-9)
		}
	}
}

func TestParetoNBDPredictions(t *testing.T) {
	t.Parallel()
	m := publishedPareto
	recent := m.PAlive(Summary{Frequency: 5, Recency: 38, T: 39})
	lapsed := m.PAlive(Summary{Frequency: 5, Recency: 5, T: 39})
	if !(recent > 0.8 && lapsed < 0.1) {
		t.Errorf("P(alive) recent=%g lapsed=%g", recent, lapsed)
	}
	// No history: E[Y(t) | 0, 0, 0] = E[X(t)] (P(alive) = 1 at age 0).
	near(t, "E[Y(t)|0,0,0]", m.ConditionalExpectedPurchases(Summary{}, 52), m.ExpectedPurchases(52), 1e-12)
	// s = 1 is the limit of the general formula.
	one := ParetoNBD{R: 0.5, Alpha: 10, S: 1, Beta: 10}
	c := Summary{Frequency: 3, Recency: 20, T: 30}
	v := one.ConditionalExpectedPurchases(c, 52)
	near1 := one
	near1.S = 1 + 1e-9
	within(t, "E[Y] at s=1", near1.ConditionalExpectedPurchases(c, 52), v, 1e-6)
	// A heavy buyer neither overflows nor gets NaN.
	if e := m.ConditionalExpectedPurchases(Summary{Frequency: 400, Recency: 51.9, T: 52}, 520); math.IsNaN(e) || e < 100 {
		t.Errorf("heavy buyer E[Y(520)] = %g", e)
	}
}
