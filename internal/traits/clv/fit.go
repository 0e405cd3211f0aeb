package clv

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/optimize"
)

// FitInfo describes how a maximum-likelihood fit went.
type FitInfo struct {
	LogLikelihood float64 // at the fitted parameters, summed over Customers
	Customers     int     // customers the likelihood was summed over
	Iterations    int     // major iterations of the optimiser
	Evaluations   int     // likelihood evaluations
	Converged     bool    // false when the optimiser stopped early (iteration limit, failed line search)
	Status        string  // the optimiser's final status, for diagnostics
}

// ErrNoRepeatPurchases is returned by the fits when no customer has a repeat
// purchase: the likelihood then has no interior maximum.
var ErrNoRepeatPurchases = errors.New("clv: no customer has a repeat purchase")

// rfm is the fitting input for the purchase models: the distinct (x, t_x, T)
// triples with how many customers share each. Real data has ages in whole days
// and few repeat purchases, so 1,000,000 customers collapse to a few tens of
// thousands of triples. Rows are sorted by x, and terms that depend only on x
// (the Lgamma and digamma ones) are computed once per distinct x per
// evaluation.
type rfm struct {
	xs        []int     // distinct frequencies, ascending
	xi        []int32   // per row: index into xs
	tx, T, w  []float64 // per row: recency, age, number of customers
	customers int
	sumX      float64 // total repeat purchases, for starting values
	sumT      float64
}

type rfmKey struct {
	x     int
	tx, T float64
}

// newRFM validates and groups summaries. It rejects what the likelihoods are
// not defined for rather than returning NaN from the optimiser later.
func newRFM(s []Summary) (*rfm, error) {
	if len(s) == 0 {
		return nil, errors.New("clv: no customers to fit")
	}
	idx := make(map[rfmKey]int, len(s)/8)
	var keys []rfmKey
	var counts []float64
	d := &rfm{customers: len(s)}
	for i := range s {
		c := &s[i]
		if c.Frequency < 0 || !(c.Recency >= 0) || !(c.T >= c.Recency) || math.IsInf(c.T, 1) {
			return nil, fmt.Errorf("clv: customer %q: invalid summary x=%d t_x=%g T=%g", c.CustomerID, c.Frequency, c.Recency, c.T)
		}
		k := rfmKey{c.Frequency, c.Recency, c.T}
		j, ok := idx[k]
		if !ok {
			j = len(keys)
			idx[k] = j
			keys = append(keys, k)
			counts = append(counts, 0)
		}
		counts[j]++
		d.sumX += float64(c.Frequency)
		d.sumT += c.T
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		ka, kb := keys[a], keys[b]
		switch {
		case ka.x != kb.x:
			return ka.x - kb.x
		case ka.tx != kb.tx:
			if ka.tx < kb.tx {
				return -1
			}
			return 1
		case ka.T < kb.T:
			return -1
		case ka.T > kb.T:
			return 1
		}
		return 0
	})
	n := len(keys)
	d.xi = make([]int32, n)
	d.tx = make([]float64, n)
	d.T = make([]float64, n)
	d.w = make([]float64, n)
	for r, j := range order {
		k := keys[j]
		if len(d.xs) == 0 || d.xs[len(d.xs)-1] != k.x {
			d.xs = append(d.xs, k.x)
		}
		d.xi[r] = int32(len(d.xs) - 1)
		d.tx[r], d.T[r], d.w[r] = k.tx, k.T, counts[j]
	}
	return d, nil
}

// chunkRows is the unit of parallel work. It is fixed (not derived from the
// CPU count) so that partial sums, added in chunk order, give bit-identical
// results on any machine.
const chunkRows = 4096

// parallelSum calls fn on consecutive row ranges [lo, hi) of n rows, each with
// a zeroed accumulator of length dim, spreading the ranges over GOMAXPROCS
// goroutines, and returns the accumulators added in range order.
func parallelSum(n, dim int, fn func(lo, hi int, acc []float64)) []float64 {
	chunks := (n + chunkRows - 1) / chunkRows
	parts := make([]float64, chunks*dim)
	workers := min(runtime.GOMAXPROCS(0), chunks)
	run := func(c int) {
		lo := c * chunkRows
		fn(lo, min(lo+chunkRows, n), parts[c*dim:(c+1)*dim])
	}
	if workers <= 1 {
		for c := range chunks {
			run(c)
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for c := int(next.Add(1) - 1); c < chunks; c = int(next.Add(1) - 1) {
					run(c)
				}
			})
		}
		wg.Wait()
	}
	total := make([]float64, dim)
	for c := range chunks {
		for k := range dim {
			total[k] += parts[c*dim+k]
		}
	}
	return total
}

// objective is a negative log-likelihood over log-parameters θ: it returns
// −LL(exp θ) and, when grad is non-nil, fills it with the derivative with
// respect to θ.
type objective func(theta, grad []float64) float64

// maxLogParam bounds |θ|: beyond e^±40 a parameter is degenerate for any real
// data, and refusing such points keeps a wild line-search step from producing
// overflow instead of a merely bad value.
const maxLogParam = 40

// Gradient thresholds for maximize. A central-difference gradient is only
// accurate to about 1e-9, so asking it for 1e-9 makes the line search fail at
// the optimum instead of stopping there.
const (
	analyticGradTol = 1e-9
	numericGradTol  = 1e-7
)

// maximize fits parameters by maximum likelihood with BFGS in log space (which
// keeps every parameter positive without constraints). The objective is scaled
// by 1/customers so that tolerances mean the same for 2,000 and 1,000,000
// customers. gradTol is the gradient norm (of the mean log-likelihood per
// customer, in log-parameters) at which the fit has converged. It returns the
// parameters (not logged) and how the fit went.
func maximize(f objective, start []float64, customers int, gradTol float64) ([]float64, FitInfo, error) {
	dim := len(start)
	scale := 1 / float64(customers)

	// gonum asks for the value and the gradient separately at the same point;
	// both come from one pass over the data, so the last pass is cached.
	var lastX, lastG []float64
	var lastF float64
	evals := 0
	eval := func(x []float64) {
		if lastX != nil && slices.Equal(x, lastX) {
			return
		}
		lastX = slices.Clone(x)
		lastG = make([]float64, dim)
		for _, v := range x {
			if math.Abs(v) > maxLogParam {
				lastF = math.Inf(1)
				return
			}
		}
		evals++
		lastF = f(x, lastG) * scale
		for i := range lastG {
			lastG[i] *= scale
		}
		if math.IsNaN(lastF) {
			lastF = math.Inf(1)
		}
	}
	p := optimize.Problem{
		Func: func(x []float64) float64 { eval(x); return lastF },
		Grad: func(g, x []float64) { eval(x); copy(g, lastG) },
	}
	theta := make([]float64, dim)
	for i, v := range start {
		theta[i] = math.Log(v)
	}
	settings := &optimize.Settings{
		GradientThreshold: gradTol,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-14, Relative: 1e-14, Iterations: 20},
		MajorIterations:   1000,
	}
	res, err := optimize.Minimize(p, theta, settings, &optimize.BFGS{})
	if res == nil {
		return nil, FitInfo{}, fmt.Errorf("clv: optimiser: %w", err)
	}
	params := make([]float64, dim)
	for i, v := range res.X {
		params[i] = math.Exp(v)
	}
	info := FitInfo{
		LogLikelihood: -res.F / scale,
		Customers:     customers,
		Iterations:    res.MajorIterations,
		Evaluations:   evals,
		Status:        res.Status.String(),
	}
	// A line search that can no longer improve next to a vanishing gradient is
	// a converged fit limited by floating point, not a failure.
	gnorm := 0.0
	for _, g := range res.Gradient {
		gnorm = max(gnorm, math.Abs(g))
	}
	info.Converged = (err == nil && !res.Status.Early()) || gnorm < 1e-6
	if math.IsInf(res.F, 0) || math.IsNaN(res.F) {
		return params, info, fmt.Errorf("clv: likelihood is not finite at the optimum (%s)", info.Status)
	}
	return params, info, nil
}
