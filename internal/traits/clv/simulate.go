package clv

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/stat/distuv"
)

// Simulation describes a synthetic customer base, for benchmarks and for
// checking that a fit recovers known parameters.
type Simulation struct {
	Customers  int
	MinT, MaxT float64 // customer ages are uniform on [MinT, MaxT]
	// Grid, when positive, floors every time to a multiple of Grid and merges
	// purchases in the same cell, as Summarize does with days (Grid = 1/7 for
	// a weekly model). Zero keeps continuous times.
	Grid float64
	// Spend, when set, draws each customer's repeat order values from the
	// Gamma-Gamma model and sets Monetary to their mean.
	Spend *GammaGamma
}

// SimulateBGNBD draws customers from the BG/NBD model m: each gets
// λ ~ Gamma(r, α) and p ~ Beta(a, b), buys at times of a Poisson(λ) process
// from age 0 and leaves for good after each repeat purchase with probability
// p. The same rng state gives the same customers. CustomerID is left empty.
func SimulateBGNBD(rng *rand.Rand, m BGNBD, sim Simulation) []Summary {
	lambda := distuv.Gamma{Alpha: m.R, Beta: m.Alpha, Src: rng}
	drop := distuv.Beta{Alpha: m.A, Beta: m.B, Src: rng}
	var nu, order distuv.Gamma
	if sim.Spend != nil {
		nu = distuv.Gamma{Alpha: sim.Spend.Q, Beta: sim.Spend.V, Src: rng}
		order = distuv.Gamma{Alpha: sim.Spend.P, Src: rng}
	}
	floor := func(t float64) float64 { return t }
	if sim.Grid > 0 {
		floor = func(t float64) float64 { return math.Floor(t/sim.Grid) * sim.Grid }
	}
	out := make([]Summary, sim.Customers)
	for i := range out {
		l, p := lambda.Rand(), drop.Rand()
		age := sim.MinT + (sim.MaxT-sim.MinT)*rng.Float64()
		s := Summary{T: floor(age)}
		last := 0.0
		if sim.Spend != nil {
			order.Beta = nu.Rand()
		}
		var spent float64
		for t := rng.ExpFloat64() / l; t <= age; t += rng.ExpFloat64() / l {
			if ft := floor(t); ft != last {
				s.Frequency++
				s.Recency = ft
				last = ft
				if sim.Spend != nil {
					spent += order.Rand()
				}
			}
			if rng.Float64() < p {
				break
			}
		}
		if s.Frequency > 0 && sim.Spend != nil {
			s.Monetary = spent / float64(s.Frequency)
		}
		out[i] = s
	}
	return out
}
