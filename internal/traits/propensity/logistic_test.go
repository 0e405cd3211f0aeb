package propensity

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// overlapData is a two-feature set that is almost separable: the label is
// x1 + 0.5 x2 > 0 for most points, with 10% flipped, so the unpenalised
// optimum exists but has large weights.
func overlapData(n int, seed uint64) ([][]float64, []bool) {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([][]float64, n)
	y := make([]bool, n)
	for i := range x {
		x[i] = []float64{rng.NormFloat64(), rng.NormFloat64()}
		y[i] = x[i][0]+0.5*x[i][1]+0.3 > 0
		if rng.Float64() < 0.1 {
			y[i] = !y[i]
		}
	}
	return x, y
}

// newtonFit minimises the same penalised mean log-loss by Newton's method
// (IRLS), written from the formulas independently of FitLogistic:
// g = Xᵀ(p − y)/n + λ(0, w), H = Xᵀ diag(p(1−p)) X / n + λ diag(0, 1, …).
func newtonFit(t *testing.T, x [][]float64, y []bool, lambda float64) []float64 {
	t.Helper()
	n, d := len(x), len(x[0])+1
	beta := make([]float64, d)
	for iter := 0; iter < 100; iter++ {
		g := mat.NewVecDense(d, nil)
		h := mat.NewSymDense(d, nil)
		for i := range x {
			row := append([]float64{1}, x[i]...)
			z := 0.0
			for j := range row {
				z += beta[j] * row[j]
			}
			p := 1 / (1 + math.Exp(-z))
			yi := 0.0
			if y[i] {
				yi = 1
			}
			for j := range row {
				g.SetVec(j, g.AtVec(j)+(p-yi)*row[j]/float64(n))
				for k := j; k < d; k++ {
					h.SetSym(j, k, h.At(j, k)+p*(1-p)*row[j]*row[k]/float64(n))
				}
			}
		}
		for j := 1; j < d; j++ {
			g.SetVec(j, g.AtVec(j)+lambda*beta[j])
			h.SetSym(j, j, h.At(j, j)+lambda)
		}
		var step mat.VecDense
		if err := step.SolveVec(h, g); err != nil {
			t.Fatalf("newton: %v", err)
		}
		maxStep := 0.0
		for j := range beta {
			beta[j] -= step.AtVec(j)
			maxStep = math.Max(maxStep, math.Abs(step.AtVec(j)))
		}
		if maxStep < 1e-13 {
			return beta
		}
	}
	t.Fatal("newton did not converge")
	return nil
}

// gradient of the penalised mean log-loss at (b, w), by the formula.
func gradient(x [][]float64, y []bool, lambda float64, m Logistic) []float64 {
	g := make([]float64, 1+len(m.W))
	for i := range x {
		p := 1 / (1 + math.Exp(-m.Logit(x[i])))
		r := p
		if y[i] {
			r = p - 1
		}
		g[0] += r / float64(len(x))
		for j, v := range x[i] {
			g[1+j] += r * v / float64(len(x))
		}
	}
	for j, w := range m.W {
		g[1+j] += lambda * w
	}
	return g
}

func TestFitLogisticAgainstNewton(t *testing.T) {
	for _, lambda := range []float64{0, 1e-3, 0.01, 0.5} {
		x, y := overlapData(400, 3)
		got, info, err := FitLogistic(x, y, lambda)
		if err != nil {
			t.Fatalf("λ %g: %v", lambda, err)
		}
		if !info.Converged {
			t.Errorf("λ %g: not converged: %+v", lambda, info)
		}
		for j, g := range gradient(x, y, lambda, got) {
			if math.Abs(g) > 1e-6 {
				t.Errorf("λ %g: gradient[%d] = %g at the fit", lambda, j, g)
			}
		}
		want := newtonFit(t, x, y, lambda)
		have := append([]float64{got.Intercept}, got.W...)
		for j := range want {
			if math.Abs(have[j]-want[j]) > 1e-5*math.Max(1, math.Abs(want[j])) {
				t.Errorf("λ %g: β[%d] = %.8f, Newton %.8f", lambda, j, have[j], want[j])
			}
		}
		t.Logf("λ %g: β = %.5f (Newton %.5f), %d iterations", lambda, have, want, info.Iterations)
	}
}

// Stronger regularisation shrinks the weights; the slope along x1 stays the
// largest, as in the data's generating rule.
func TestFitLogisticShrinks(t *testing.T) {
	x, y := overlapData(400, 5)
	weak, _, err := FitLogistic(x, y, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	strong, _, err := FitLogistic(x, y, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !(math.Abs(strong.W[0]) < math.Abs(weak.W[0]) && math.Abs(strong.W[1]) < math.Abs(weak.W[1])) {
		t.Errorf("λ 1 weights %v not smaller than λ 1e-4 weights %v", strong.W, weak.W)
	}
	if !(weak.W[0] > weak.W[1] && weak.W[1] > 0) {
		t.Errorf("weights %v: want w1 > w2 > 0", weak.W)
	}
}

func TestFitLogisticBadInput(t *testing.T) {
	if _, _, err := FitLogistic(nil, nil, 0.1); err == nil {
		t.Error("no examples: no error")
	}
	if _, _, err := FitLogistic([][]float64{{1}, {1, 2}}, []bool{true, false}, 0.1); err == nil {
		t.Error("ragged rows: no error")
	}
	if _, _, err := FitLogistic([][]float64{{1}}, []bool{true}, -1); err == nil {
		t.Error("negative λ: no error")
	}
	if _, _, err := FitLogistic([][]float64{{1}}, []bool{true}, math.NaN()); err == nil {
		t.Error("NaN λ: no error")
	}
}

// Train standardises, drops constant features and explains every score
// exactly: intercept + Σ contributions = logit(p).
func TestTrainExplain(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	var ex []Example
	for i := range 300 {
		var e Example
		e.ProfileID = string(rune('a' + i%26))
		e.Features[RecencyDays] = float64(rng.IntN(365))
		e.Features[Frequency] = float64(1 + rng.IntN(10))
		e.Features[Monetary] = 100 * e.Features[Frequency] * rng.Float64()
		e.Features[TenureDays] = e.Features[RecencyDays] + float64(rng.IntN(300))
		// DistinctProducts and Events30d stay 0: constant, left out.
		e.Label = rng.Float64() < 1/(1+math.Exp(e.Features[RecencyDays]/60-1.5))
		ex = append(ex, e)
	}
	m, err := Train(ex, DefaultLambda)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range m.Features {
		if j == DistinctProducts || j == Events30d {
			t.Errorf("constant feature %s used", FeatureNames[j])
		}
	}
	if w := m.Coefficients()[0]; w.Feature != "recency_days" || w.Weight >= 0 {
		t.Errorf("recency coefficient %+v: want negative (recent buyers buy again)", w)
	}
	for _, e := range ex[:20] {
		p, c := m.Explain(e.Features)
		sum := m.Fit.Intercept
		for _, v := range c {
			sum += v
		}
		if math.Abs(math.Log(p/(1-p))-sum) > 1e-9 || math.Abs(p-m.Predict(e.Features)) > 1e-15 {
			t.Fatalf("logit(p) %v ≠ intercept + Σ contributions %v", math.Log(p/(1-p)), sum)
		}
		if _, ok := c["events_30d"]; ok {
			t.Fatal("contribution of a constant feature")
		}
	}
	// Too few buyers.
	for i := range ex {
		ex[i].Label = i < MinClass-1
	}
	var ce *ClassError
	if _, err := Train(ex, DefaultLambda); !errors.As(err, &ce) || ce.Buyers != MinClass-1 {
		t.Errorf("9 buyers: err %v, want a ClassError with 9 buyers", err)
	}
}

// BenchmarkFitLogistic1M fits 1,000,000 examples of 10 standardised features
// (the size of "scores run" on a million customers):
// go test -run '^$' -bench FitLogistic1M -benchtime=1x ./internal/traits/propensity/
func BenchmarkFitLogistic1M(b *testing.B) {
	const n, d = 1_000_000, 10
	rng := rand.New(rand.NewPCG(11, 12))
	x := make([][]float64, n)
	y := make([]bool, n)
	for i := range x {
		x[i] = make([]float64, d)
		z := -1.0
		for j := range x[i] {
			x[i][j] = rng.NormFloat64()
			z += x[i][j] / float64(j+1)
		}
		y[i] = rng.Float64() < 1/(1+math.Exp(-z))
	}
	b.ResetTimer()
	for range b.N {
		_, info, err := FitLogistic(x, y, DefaultLambda)
		if err != nil || !info.Converged {
			b.Fatalf("%+v %v", info, err)
		}
		b.ReportMetric(float64(info.Iterations), "iterations")
	}
}
