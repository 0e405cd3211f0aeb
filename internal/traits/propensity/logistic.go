package propensity

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// Logistic is a fitted logistic regression: P(y=1 | x) = σ(Intercept + W·x).
type Logistic struct {
	Intercept float64
	W         []float64
}

// FitInfo says how a fit went.
type FitInfo struct {
	Iterations int     `json:"iterations"`
	Converged  bool    `json:"converged"`     // false when the optimiser stopped early
	GradNorm   float64 `json:"gradient_norm"` // max |∂objective| at the returned point
	Objective  float64 `json:"objective"`     // mean log-loss + λ/2 ‖W‖² at the returned point
}

// gradTol is the largest gradient component of the objective (a mean per
// example, so independent of n) at which the fit counts as converged.
const gradTol = 1e-8

// FitLogistic minimises the L2-regularised mean log-loss
//
//	J(b, w) = (1/n) Σ [log(1 + e^{z_i}) − y_i z_i] + λ/2 ‖w‖²,  z_i = b + w·x_i
//
// with gonum's BFGS and the analytic gradient. The intercept b is not
// penalised. x rows must all have the same length; the columns should be
// standardised (the penalty treats every coefficient alike). J is strictly
// convex for λ > 0, so the minimum is unique; with λ = 0 and separable data
// it does not exist and the fit reports Converged false.
func FitLogistic(x [][]float64, y []bool, lambda float64) (Logistic, FitInfo, error) {
	n := len(x)
	if n == 0 || len(y) != n {
		return Logistic{}, FitInfo{}, errors.New("propensity: fit: no examples or labels of another length")
	}
	if lambda < 0 || math.IsNaN(lambda) || math.IsInf(lambda, 0) {
		return Logistic{}, FitInfo{}, fmt.Errorf("propensity: fit: regularisation %v must be finite and ≥ 0", lambda)
	}
	d := len(x[0])
	var pos float64
	for i, row := range x {
		if len(row) != d {
			return Logistic{}, FitInfo{}, fmt.Errorf("propensity: fit: row %d has %d features, want %d", i, len(row), d)
		}
		if y[i] {
			pos++
		}
	}
	obj := func(theta, grad []float64) float64 {
		b, w := theta[0], theta[1:]
		if grad != nil {
			clear(grad)
		}
		var loss float64
		for i, row := range x {
			z := b
			for j, v := range row {
				z += w[j] * v
			}
			yi := 0.0
			if y[i] {
				yi = 1
			}
			loss += softplus(z) - yi*z
			if grad != nil {
				r := sigmoid(z) - yi
				grad[0] += r
				for j, v := range row {
					grad[1+j] += r * v
				}
			}
		}
		loss /= float64(n)
		var pen float64
		for _, v := range w {
			pen += v * v
		}
		if grad != nil {
			for j := range grad {
				grad[j] /= float64(n)
			}
			for j, v := range w {
				grad[1+j] += lambda * v
			}
		}
		return loss + lambda/2*pen
	}
	// Start at the base rate: w = 0, b = logit(mean y), which is the optimum of
	// the intercept-only model and keeps the first steps small.
	start := make([]float64, 1+d)
	rate := math.Min(math.Max(pos/float64(n), 1e-6), 1-1e-6)
	start[0] = math.Log(rate / (1 - rate))
	p := optimize.Problem{
		Func: func(t []float64) float64 { return obj(t, nil) },
		Grad: func(g, t []float64) { obj(t, g) },
	}
	settings := &optimize.Settings{
		GradientThreshold: gradTol,
		Converger:         &optimize.FunctionConverge{Absolute: 1e-15, Relative: 1e-15, Iterations: 50},
		MajorIterations:   5000,
	}
	res, err := optimize.Minimize(p, start, settings, &optimize.BFGS{})
	if res == nil {
		return Logistic{}, FitInfo{}, fmt.Errorf("propensity: optimiser: %w", err)
	}
	g := make([]float64, 1+d)
	f := obj(res.X, g)
	info := FitInfo{Iterations: res.MajorIterations, Objective: f}
	for _, v := range g {
		info.GradNorm = math.Max(info.GradNorm, math.Abs(v))
	}
	// A line search that fails next to a vanishing gradient is a converged
	// fit limited by floating point, not a failure.
	info.Converged = (err == nil && !res.Status.Early()) || info.GradNorm < 1e-6
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Logistic{}, info, fmt.Errorf("propensity: objective not finite at the optimum (%s)", res.Status)
	}
	return Logistic{Intercept: res.X[0], W: append([]float64(nil), res.X[1:]...)}, info, nil
}

// Logit returns Intercept + W·x.
func (m Logistic) Logit(x []float64) float64 {
	z := m.Intercept
	for j, v := range x {
		z += m.W[j] * v
	}
	return z
}

// sigmoid is 1/(1+e^−z), written so that neither branch overflows.
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// softplus is log(1+e^z) without overflow for large z.
func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}
