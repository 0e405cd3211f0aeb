package clv

import (
	"math"
)

// ParetoNBD is a fitted Pareto/NBD model (Schmittlein, Morrison & Colombo
// 1987, "Counting your customers: who are they and what will they do next?",
// Management Science 33(1); likelihood as derived in Fader & Hardie 2005, "A
// note on deriving the Pareto/NBD model and related expressions"). While alive
// a customer buys at a Poisson rate λ and has an exponential lifetime with
// rate μ; λ ~ Gamma(R, Alpha) and μ ~ Gamma(S, Beta) across customers. Alpha
// and Beta are in the time unit of the summaries.
type ParetoNBD struct {
	R, Alpha float64
	S, Beta  float64
}

// Params returns the parameters by the papers' names.
func (m ParetoNBD) Params() map[string]float64 {
	return map[string]float64{"r": m.R, "alpha": m.Alpha, "s": m.S, "beta": m.Beta}
}

// FitParetoNBD fits the Pareto/NBD model by maximum likelihood, with the same
// contract as FitBGNBD. Its gradient is numeric (central differences), and
// each evaluation sums two hypergeometric series per distinct customer, so it
// is several times slower than FitBGNBD.
func FitParetoNBD(s []Summary) (ParetoNBD, FitInfo, error) {
	d, err := newRFM(s)
	if err != nil {
		return ParetoNBD{}, FitInfo{}, err
	}
	if d.sumX == 0 {
		return ParetoNBD{}, FitInfo{}, ErrNoRepeatPurchases
	}
	// Same purchase-rate start as BG/NBD; a mean lifetime β/s of the mean age.
	start := []float64{1, d.sumT / d.sumX, 1, d.sumT / float64(d.customers)}
	p, info, err := maximize(d.paretoObjective, start, d.customers, numericGradTol)
	if err != nil {
		return ParetoNBD{}, info, err
	}
	return ParetoNBD{R: p[0], Alpha: p[1], S: p[2], Beta: p[3]}, info, nil
}

// LogLikelihood returns the Pareto/NBD log-likelihood of the summaries. It
// panics on an invalid summary.
func (m ParetoNBD) LogLikelihood(s []Summary) float64 {
	d, err := newRFM(s)
	if err != nil {
		panic(err)
	}
	return d.paretoLL(m)
}

// paretoObjective returns −LL at exp(θ), θ = log(r, α, s, β), with a central
// difference gradient when grad is non-nil.
func (d *rfm) paretoObjective(theta, grad []float64) float64 {
	at := func(th []float64) float64 {
		return -d.paretoLL(ParetoNBD{R: math.Exp(th[0]), Alpha: math.Exp(th[1]), S: math.Exp(th[2]), Beta: math.Exp(th[3])})
	}
	f := at(theta)
	if grad != nil {
		// The series are summed to 1e-16, so a step of 1e-5 in log space
		// balances truncation (h²) and rounding (ε/h) errors.
		const h = 1e-5
		th := make([]float64, len(theta))
		for i := range theta {
			copy(th, theta)
			th[i] = theta[i] + h
			up := at(th)
			th[i] = theta[i] - h
			grad[i] = (up - at(th)) / (2 * h)
		}
	}
	return f
}

// paretoLL is the log-likelihood, per customer
//
//	ln Γ(r+x) − ln Γ(r) + r ln α + s ln β
//	  + ln( (α+T)^−(r+x) (β+T)^−s + s/(r+s+x) · A₀ )
//
// with A₀ from logA0, all in logs.
func (d *rfm) paretoLL(m ParetoNBD) float64 {
	lgr := lgamma(m.R)
	c := m.R*math.Log(m.Alpha) + m.S*math.Log(m.Beta)
	c0 := make([]float64, len(d.xs))
	for k, x := range d.xs {
		c0[k] = lgamma(m.R+float64(x)) - lgr + c
	}
	ls := math.Log(m.S)
	acc := parallelSum(len(d.w), 1, func(lo, hi int, acc []float64) {
		var ll float64
		for i := lo; i < hi; i++ {
			x := float64(d.xs[d.xi[i]])
			T := d.T[i]
			a := -(m.R+x)*math.Log(m.Alpha+T) - m.S*math.Log(m.Beta+T)
			b := ls - math.Log(m.R+m.S+x) + m.logA0(x, d.tx[i], T)
			ll += d.w[i] * (c0[d.xi[i]] + logAddExp(a, b))
		}
		acc[0] += ll
	})
	return acc[0]
}

// logA0 returns ln A₀ of Fader & Hardie's note:
//
//	A₀ = F(z₁)/(m+t_x)^(r+s+x) − F(z₂)/(m+T)^(r+s+x)
//
// with m = max(α, β), F = 2F1(r+s+x, c; r+s+x+1; ·), c = s+1 if α ≥ β and
// r+x otherwise, z₁ = |α−β|/(m+t_x), z₂ = |α−β|/(m+T). Euler's transformation
// F(z) = (1−z)^(1−c) 2F1(1, r+s+x+1−c; r+s+x+1; z) gives a series whose
// terms shrink at least as fast as zⁿ from the first one, for any x; both
// terms are kept in logs and subtracted as ln(e^l₁ − e^l₂). It is −Inf when
// t_x = T (then A₀ = 0).
func (m ParetoNBD) logA0(x, tx, T float64) float64 {
	rsx := m.R + m.S + x
	hi, lo, c := m.Alpha, m.Beta, m.S+1
	if m.Alpha < m.Beta {
		hi, lo, c = m.Beta, m.Alpha, m.R+x
	}
	gap := hi - lo
	term := func(t float64) float64 {
		z := gap / (hi + t)
		f, ok := hyp2f1(1, rsx+1-c, rsx+1, z)
		if !ok {
			return math.NaN()
		}
		// (1−z) = (lo+t)/(hi+t), exact even when gap ≫ lo.
		return (1-c)*(math.Log(lo+t)-math.Log(hi+t)) + math.Log(f) - rsx*math.Log(hi+t)
	}
	l1, l2 := term(tx), term(T)
	if !(l1 > l2) {
		return math.Inf(-1)
	}
	return l1 + math.Log(-math.Expm1(l2-l1))
}

// PAlive returns the probability that customer c is still alive at age c.T:
//
//	P(alive) = 1 / (1 + s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A₀)
func (m ParetoNBD) PAlive(c Summary) float64 {
	x := float64(c.Frequency)
	l := math.Log(m.S) - math.Log(m.R+m.S+x) + (m.R+x)*math.Log(m.Alpha+c.T) +
		m.S*math.Log(m.Beta+c.T) + m.logA0(x, c.Recency, c.T)
	return 1 / (1 + math.Exp(l))
}

// ChurnRisk is 1 − PAlive.
func (m ParetoNBD) ChurnRisk(c Summary) float64 { return 1 - m.PAlive(c) }

// ConditionalExpectedPurchases returns E[Y(t) | x, t_x, T], the expected
// number of purchases of customer c in the next t time units:
//
//	(r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^(s−1)] · P(alive)
func (m ParetoNBD) ConditionalExpectedPurchases(c Summary, t float64) float64 {
	if t <= 0 {
		return 0
	}
	x := float64(c.Frequency)
	return (m.R + x) / (m.Alpha + c.T) * m.survivalIntegral(c.T, t) * m.PAlive(c)
}

// ExpectedPurchases returns E[X(t)], the expected number of repeat purchases
// of a new customer in their first t time units:
// r β / (α (s−1)) · [1 − (β/(β+t))^(s−1)].
func (m ParetoNBD) ExpectedPurchases(t float64) float64 {
	if t <= 0 {
		return 0
	}
	return m.R / m.Alpha * m.survivalIntegral(0, t)
}

// survivalIntegral is (β+T)/(s−1) · [1 − ((β+T)/(β+T+t))^(s−1)], the expected
// time alive in (T, T+t] of a customer alive at T; expm1 keeps it exact near
// s = 1, where it tends to (β+T) ln(1 + t/(β+T)).
func (m ParetoNBD) survivalIntegral(T, t float64) float64 {
	u := -math.Log1p(t / (m.Beta + T)) // ln((β+T)/(β+T+t))
	if m.S == 1 {
		return -(m.Beta + T) * u
	}
	return (m.Beta + T) * -math.Expm1((m.S-1)*u) / (m.S - 1)
}

// logAddExp returns ln(eᵃ + eᵇ) without overflow.
func logAddExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}
