package clv

import (
	"errors"
	"math"
	"slices"

	"gonum.org/v1/gonum/mathext"
)

// GammaGamma is a fitted Gamma-Gamma spend model (Fader, Hardie & Lee 2005,
// "RFM and CLV: using iso-value curves for customer base analysis", Journal of
// Marketing Research 42(4); the model is Colombo & Jiang's 1999). A customer's
// order values are Gamma(P, ν) around their own mean, and ν varies across
// customers as Gamma(Q, V). V is in the currency of the order amounts.
//
// The model assumes order values are independent of purchase frequency; check
// the correlation between Frequency and Monetary before trusting it.
type GammaGamma struct {
	P, Q, V float64
}

// Params returns the parameters by the papers' names (V is the paper's γ).
func (m GammaGamma) Params() map[string]float64 {
	return map[string]float64{"p": m.P, "q": m.Q, "v": m.V}
}

// ConditionalExpectedValue returns E[M | x, z̄], the expected value of the
// customer's future orders: a weighted mean of the population mean p·v/(q−1)
// and the customer's own mean z̄ (Monetary), the weight on z̄ growing with the
// number of repeat purchases x:
//
//	E[M | x, z̄] = p (v + x z̄) / (p x + q − 1)
//
// A customer without repeat purchases gets the population mean. It is +Inf
// when p·x + q ≤ 1 (the fitted spend distribution then has no mean).
func (m GammaGamma) ConditionalExpectedValue(c Summary) float64 {
	x := float64(c.Frequency)
	zbar := c.Monetary
	if c.Frequency == 0 {
		zbar = 0
	}
	den := m.P*x + m.Q - 1
	if den <= 0 {
		return math.Inf(1)
	}
	return m.P * (m.V + x*zbar) / den
}

// ggData groups the (x, z̄) pairs the spend model is fitted on.
type ggData struct {
	xs        []int
	xi        []int32
	lz, z, w  []float64 // per row: log z̄, z̄, number of customers
	customers int
	sumZ      float64
}

// newGG keeps the customers with a repeat purchase and a positive mean order
// value: first orders carry no information on repeat spend in the papers'
// definition, and the model's support is z̄ > 0.
func newGG(s []Summary) (*ggData, error) {
	type key struct {
		x int
		z float64
	}
	idx := map[key]int{}
	var keys []key
	var counts []float64
	d := &ggData{}
	for i := range s {
		c := &s[i]
		if c.Frequency <= 0 || !(c.Monetary > 0) || math.IsInf(c.Monetary, 1) {
			continue
		}
		k := key{c.Frequency, c.Monetary}
		j, ok := idx[k]
		if !ok {
			j = len(keys)
			idx[k] = j
			keys = append(keys, k)
			counts = append(counts, 0)
		}
		counts[j]++
		d.customers++
		d.sumZ += c.Monetary
	}
	if d.customers == 0 {
		return nil, ErrNoRepeatPurchases
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if keys[a].x != keys[b].x {
			return keys[a].x - keys[b].x
		}
		if keys[a].z < keys[b].z {
			return -1
		}
		if keys[a].z > keys[b].z {
			return 1
		}
		return 0
	})
	n := len(keys)
	d.xi, d.lz, d.z, d.w = make([]int32, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for r, j := range order {
		k := keys[j]
		if len(d.xs) == 0 || d.xs[len(d.xs)-1] != k.x {
			d.xs = append(d.xs, k.x)
		}
		d.xi[r] = int32(len(d.xs) - 1)
		d.z[r], d.lz[r], d.w[r] = k.z, math.Log(k.z), counts[j]
	}
	return d, nil
}

// FitGammaGamma fits the spend model by maximum likelihood on the customers
// with Frequency > 0 and Monetary > 0 (FitInfo.Customers says how many); the
// others are ignored. It returns ErrNoRepeatPurchases when there are none.
func FitGammaGamma(s []Summary) (GammaGamma, FitInfo, error) {
	d, err := newGG(s)
	if err != nil {
		return GammaGamma{}, FitInfo{}, err
	}
	// Start with q = 2 and v so that the population mean p·v/(q−1) equals the
	// observed mean of z̄.
	start := []float64{1, 2, d.sumZ / float64(d.customers)}
	p, info, err := maximize(d.objective, start, d.customers, analyticGradTol)
	if err != nil {
		return GammaGamma{}, info, err
	}
	return GammaGamma{P: p[0], Q: p[1], V: p[2]}, info, nil
}

// LogLikelihood returns the Gamma-Gamma log-likelihood of the customers with
// Frequency > 0 and Monetary > 0. It panics if there are none.
func (m GammaGamma) LogLikelihood(s []Summary) float64 {
	d, err := newGG(s)
	if err != nil {
		panic(errors.New("clv: GammaGamma.LogLikelihood: no customer with repeat purchases"))
	}
	return -d.objective([]float64{math.Log(m.P), math.Log(m.Q), math.Log(m.V)}, nil)
}

// objective returns −LL at exp(θ), θ = log(p, q, v), and its gradient with
// respect to θ when grad is non-nil. The density of a customer's mean z̄ of x
// orders is
//
//	Γ(px+q) / (Γ(px) Γ(q)) · v^q · x^(px) · z̄^(px−1) / (v + x z̄)^(px+q)
func (d *ggData) objective(theta, grad []float64) float64 {
	p, q, v := math.Exp(theta[0]), math.Exp(theta[1]), math.Exp(theta[2])
	type perX struct{ c0, px, dp, dq float64 }
	tab := make([]perX, len(d.xs))
	lgq, lv := lgamma(q), math.Log(v)
	psq := 0.0
	if grad != nil {
		psq = mathext.Digamma(q)
	}
	for k, xi := range d.xs {
		x := float64(xi)
		px := p * x
		e := &tab[k]
		e.px = px
		e.c0 = lgamma(px+q) - lgamma(px) - lgq + q*lv + px*math.Log(x)
		if grad != nil {
			psPQ := mathext.Digamma(px + q)
			e.dp = x * (psPQ - mathext.Digamma(px) + math.Log(x))
			e.dq = psPQ - psq + lv
		}
	}
	dim := 1
	if grad != nil {
		dim = 4
	}
	acc := parallelSum(len(d.w), dim, func(lo, hi int, acc []float64) {
		var ll, gp, gq, gv float64
		for i := lo; i < hi; i++ {
			e := &tab[d.xi[i]]
			x := float64(d.xs[d.xi[i]])
			w := d.w[i]
			den := v + x*d.z[i]
			lden := math.Log(den)
			ll += w * (e.c0 + (e.px-1)*d.lz[i] - (e.px+q)*lden)
			if grad != nil {
				gp += w * (e.dp + x*(d.lz[i]-lden))
				gq += w * (e.dq - lden)
				gv += w * (q/v - (e.px+q)/den)
			}
		}
		acc[0] += ll
		if grad != nil {
			acc[1] += gp
			acc[2] += gq
			acc[3] += gv
		}
	})
	if grad != nil {
		grad[0], grad[1], grad[2] = -p*acc[1], -q*acc[2], -v*acc[3]
	}
	return -acc[0]
}
