package clv

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// BGNBD is a fitted BG/NBD model (Fader, Hardie & Lee 2005, "Counting your
// customers the easy way: an alternative to the Pareto/NBD model", Marketing
// Science 24(2)). While alive a customer buys at a Poisson rate λ; after each
// repeat purchase they drop out for good with probability p. Across customers
// λ ~ Gamma(shape R, rate Alpha) and p ~ Beta(A, B).
//
// Alpha is in the time unit of the summaries it was fitted on (weeks in
// Atrium). The zero value is not a usable model; get one from FitBGNBD or set
// all four parameters to positive values.
type BGNBD struct {
	R, Alpha float64
	A, B     float64
}

// Params returns the parameters by the papers' names, for reports.
func (m BGNBD) Params() map[string]float64 {
	return map[string]float64{"r": m.R, "alpha": m.Alpha, "a": m.A, "b": m.B}
}

// FitBGNBD fits the BG/NBD model to summaries by maximum likelihood. Customers
// with the same (Frequency, Recency, T) are evaluated once, and the likelihood
// is summed in parallel over GOMAXPROCS goroutines.
//
// It returns ErrNoRepeatPurchases when nobody bought twice, and an error for a
// summary with a negative value or Recency > T. A fit that stopped early is
// returned with Converged false and no error: the caller decides whether an
// imperfect fit is still useful.
func FitBGNBD(s []Summary) (BGNBD, FitInfo, error) {
	d, err := newRFM(s)
	if err != nil {
		return BGNBD{}, FitInfo{}, err
	}
	if d.sumX == 0 {
		return BGNBD{}, FitInfo{}, ErrNoRepeatPurchases
	}
	// Start from r = 1 with the mean purchase rate r/α equal to the observed
	// one, and a flat Beta(1, 1) for the dropout probability.
	start := []float64{1, d.sumT / d.sumX, 1, 1}
	p, info, err := maximize(d.bgnbdObjective, start, d.customers, analyticGradTol)
	if err != nil {
		return BGNBD{}, info, err
	}
	return BGNBD{R: p[0], Alpha: p[1], A: p[2], B: p[3]}, info, nil
}

// LogLikelihood returns the BG/NBD log-likelihood of the summaries (the
// paper's L(r, α, a, b | x, t_x, T), logged and summed over customers). It
// panics on an invalid summary.
func (m BGNBD) LogLikelihood(s []Summary) float64 {
	d, err := newRFM(s)
	if err != nil {
		panic(err)
	}
	return -d.bgnbdObjective([]float64{math.Log(m.R), math.Log(m.Alpha), math.Log(m.A), math.Log(m.B)}, nil)
}

// bgnbdObjective returns −LL at exp(θ), θ = log(r, α, a, b), and its gradient
// with respect to θ when grad is non-nil.
//
// Per customer, LL = A₁ + A₂ + log(e^A₃ + δ e^A₄) with δ = [x > 0] and
//
//	A₁ = lnΓ(r+x) − lnΓ(r) + r ln α
//	A₂ = lnΓ(a+b) + lnΓ(b+x) − lnΓ(b) − lnΓ(a+b+x)
//	A₃ = −(r+x) ln(α+T)
//	A₄ = ln a − ln(b+x−1) − (r+x) ln(α+t_x)
//
// which is the paper's likelihood written in logs, so that large x or T
// neither overflow nor underflow. A₁, A₂ and the x-only parts of the gradient
// are computed once per distinct x.
func (d *rfm) bgnbdObjective(theta, grad []float64) float64 {
	r, alpha, a, b := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2]), math.Exp(theta[3])
	nx := len(d.xs)
	type perX struct {
		c0, la, rx         float64 // A₁ + A₂; ln a − ln(b+x−1); r + x
		dr, da, db, db4    float64 // ∂(A₁+A₂)/∂r, ∂A₂/∂a, ∂A₂/∂b; ∂A₄/∂b
		hasRepeat, needDer bool
	}
	tab := make([]perX, nx)
	lgr, lgb, lgab := lgamma(r), lgamma(b), lgamma(a+b)
	var psr, psb, psab float64
	if grad != nil {
		psr, psb, psab = mathext.Digamma(r), mathext.Digamma(b), mathext.Digamma(a+b)
	}
	la := math.Log(alpha)
	for k, xi := range d.xs {
		x := float64(xi)
		e := &tab[k]
		e.rx = r + x
		e.c0 = lgamma(r+x) - lgr + r*la + lgab + lgamma(b+x) - lgb - lgamma(a+b+x)
		e.hasRepeat = xi > 0
		if e.hasRepeat {
			e.la = math.Log(a) - math.Log(b+x-1)
			e.db4 = -1 / (b + x - 1)
		}
		if grad != nil {
			psabx := mathext.Digamma(a + b + x)
			e.dr = mathext.Digamma(r+x) - psr + la
			e.da = psab - psabx
			e.db = psab + mathext.Digamma(b+x) - psb - psabx
		}
	}
	dim := 1
	if grad != nil {
		dim = 5
	}
	acc := parallelSum(len(d.w), dim, func(lo, hi int, acc []float64) {
		var ll, gr, gal, ga, gb float64
		for i := lo; i < hi; i++ {
			e := &tab[d.xi[i]]
			w := d.w[i]
			aT := alpha + d.T[i]
			lT := math.Log(aT)
			a3 := -e.rx * lT
			if !e.hasRepeat {
				ll += w * (e.c0 + a3)
				if grad != nil {
					gr += w * (e.dr - lT)
					gal += w * (r/alpha - e.rx/aT)
					ga += w * e.da
					gb += w * e.db
				}
				continue
			}
			atx := alpha + d.tx[i]
			ltx := math.Log(atx)
			a4 := e.la - e.rx*ltx
			// log(e^a3 + e^a4) without overflow, and the weights w3, w4 of
			// the two terms in it, which the gradient needs.
			var lse, w3, w4 float64
			if a3 >= a4 {
				q := math.Exp(a4 - a3)
				lse = a3 + math.Log1p(q)
				w4 = q / (1 + q)
				w3 = 1 - w4
			} else {
				q := math.Exp(a3 - a4)
				lse = a4 + math.Log1p(q)
				w3 = q / (1 + q)
				w4 = 1 - w3
			}
			ll += w * (e.c0 + lse)
			if grad != nil {
				gr += w * (e.dr - w3*lT - w4*ltx)
				gal += w * (r/alpha - e.rx*(w3/aT+w4/atx))
				ga += w * (e.da + w4/a)
				gb += w * (e.db + w4*e.db4)
			}
		}
		acc[0] += ll
		if grad != nil {
			acc[1] += gr
			acc[2] += gal
			acc[3] += ga
			acc[4] += gb
		}
	})
	if grad != nil {
		// Chain rule for θ = log(param): ∂/∂θ = param · ∂/∂param.
		grad[0] = -r * acc[1]
		grad[1] = -alpha * acc[2]
		grad[2] = -a * acc[3]
		grad[3] = -b * acc[4]
	}
	return -acc[0]
}

// PAlive returns the probability that a customer with summary c is still
// alive at the end of their observation (age c.T), as in Fader, Hardie & Lee's
// note "Computing P(alive) using the BG/NBD model":
//
//	P(alive) = 1 / (1 + δ · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
//
// It is 1 for a customer without repeat purchases: the model lets customers
// drop out only right after a repeat purchase.
func (m BGNBD) PAlive(c Summary) float64 {
	if c.Frequency == 0 {
		return 1
	}
	x := float64(c.Frequency)
	// log1p keeps ((α+T)/(α+t_x)) exact when T − t_x is small against α.
	l := math.Log(m.A) - math.Log(m.B+x-1) + (m.R+x)*math.Log1p((c.T-c.Recency)/(m.Alpha+c.Recency))
	return 1 / (1 + math.Exp(l))
}

// ChurnRisk is 1 − PAlive: the probability the customer has already left.
func (m BGNBD) ChurnRisk(c Summary) float64 { return 1 - m.PAlive(c) }

// ConditionalExpectedPurchases returns E[Y(t) | x, t_x, T], the expected
// number of purchases of customer c in the next t time units (the paper's
// conditional expectation). It is NaN if the hypergeometric series does not converge, which
// needs t to be thousands of times the customer's age.
//
// The paper's (α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; z) grows and
// shrinks like z^x for large x; Euler's transformation
// 2F1(A,B;C;z) = (1−z)^(C−A−B) 2F1(C−A, C−B; C; z) turns the product into
// (1−z)^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z), whose series shrinks with x and
// never overflows.
func (m BGNBD) ConditionalExpectedPurchases(c Summary, t float64) float64 {
	if t <= 0 {
		return 0
	}
	return m.expectedAhead(float64(c.Frequency), c.T, t) * m.PAlive(c)
}

// ExpectedPurchases returns E[X(t)], the expected number of repeat purchases a
// new customer makes in their first t time units (the paper's E[X(t)]).
func (m BGNBD) ExpectedPurchases(t float64) float64 {
	if t <= 0 {
		return 0
	}
	return m.expectedAhead(0, 0, t)
}

// expectedAhead is (a+b+x−1)/(a−1) · [1 − (1−z)^(a−1) 2F1(a+b−1−r, a−1;
// a+b+x−1; z)] with z = t/(α+T+t): the expected purchases in (T, T+t] of an
// alive customer with x repeat purchases.
func (m BGNBD) expectedAhead(x, T, t float64) float64 {
	z := t / (m.Alpha + T + t)
	f := func(a float64) float64 {
		h, ok := hyp2f1(a+m.B-1-m.R, a-1, a+m.B+x-1, z)
		if !ok {
			return math.NaN()
		}
		// −expm1 keeps the bracket accurate when it is small (short t).
		e := (a - 1) * math.Log1p(-z)
		bracket := -math.Expm1(e) - math.Exp(e)*(h-1)
		return (a + m.B + x - 1) / (a - 1) * bracket
	}
	// At a = 1 the formula is 0/0; the function is smooth there, so
	// interpolate between two points far enough apart to avoid cancellation.
	const h = 1e-4
	if d := m.A - 1; math.Abs(d) < h {
		lo, hi := f(1-h), f(1+h)
		return lo + (hi-lo)*(d+h)/(2*h)
	}
	return f(m.A)
}

// ProbPurchases returns P(X(t) = n), the probability that a new customer makes
// exactly n repeat purchases in their first t time units (the paper's
// P(X(t) = x)).
func (m BGNBD) ProbPurchases(n int, t float64) float64 {
	if n < 0 {
		return 0
	}
	if t <= 0 { // nobody has bought again at age 0
		if n == 0 {
			return 1
		}
		return 0
	}
	r, alpha, a, b := m.R, m.Alpha, m.A, m.B
	x := float64(n)
	lbab := lbeta(a, b)
	lp := math.Log(alpha / (alpha + t)) // log of the NBD "failure" probability
	lq := math.Log(t / (alpha + t))
	nbd := func(j float64) float64 { // log P(NBD(r, ·) = j)
		return lgamma(r+j) - lgamma(r) - lgamma(j+1) + r*lp + j*lq
	}
	p := math.Exp(lbeta(a, b+x) - lbab + nbd(x))
	if n == 0 {
		return p
	}
	// P(NBD ≥ n): from the head when that is not close to 1, otherwise by
	// summing the tail, whose terms shrink at rate t/(α+t).
	head := 0.0
	for j := range n {
		head += math.Exp(nbd(float64(j)))
	}
	tail := 1 - head
	if head > 0.5 {
		tail = 0
		q := t / (alpha + t)
		for j := x; j < x+hyp2f1MaxTerms; j++ {
			term := math.Exp(nbd(j))
			tail += term
			if ratio := (r + j) / (j + 1) * q; j > r && ratio < 1 && term*ratio/(1-ratio) <= 1e-16*tail {
				break
			}
		}
	}
	return p + math.Exp(lbeta(a+1, b+x-1)-lbab)*tail
}

func lgamma(x float64) float64 {
	v, _ := math.Lgamma(x)
	return v
}

func lbeta(a, b float64) float64 { return lgamma(a) + lgamma(b) - lgamma(a+b) }
