package clv

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mathext"
)

// hyp2f1Gonum is gonum's Cephes-based 2F1, an independent implementation to
// compare against.
func hyp2f1Gonum(a, b, c, z float64) float64 { return mathext.Hypergeo(a, b, c, z) }

func TestHyp2F1(t *testing.T) {
	t.Parallel()
	// Closed forms.
	for _, z := range []float64{1e-6, 0.1, 0.5, 0.9, 0.99, 0.999} {
		got, ok := hyp2f1(1, 1, 2, z)
		within(t, "2F1(1,1;2;z) = −ln(1−z)/z", got, -math.Log1p(-z)/z, 1e-13)
		if !ok {
			t.Errorf("z=%g: not converged", z)
		}
		got, _ = hyp2f1(0.7, 3.2, 3.2, z)
		within(t, "2F1(a,b;b;z) = (1−z)^−a", got, math.Pow(1-z, -0.7), 1e-13)
	}
	// Polynomial case.
	got, _ := hyp2f1(-2, 1, 1, 0.5)
	within(t, "2F1(−2,1;1;z) = (1−z)²", got, 0.25, 1e-15)

	// Against gonum over the parameter ranges the models use.
	for _, c := range [][4]float64{
		{2.243, 4.426, 4.219, 0.47}, {0.243, 2.426, 2.219, 0.9}, {2.476, -0.207, 4.219, 0.3},
		{12.5, 1, 13.5, 0.2}, {1.4, 0.5, 30.2, 0.95},
	} {
		got, ok := hyp2f1(c[0], c[1], c[2], c[3])
		if !ok {
			t.Errorf("%v: not converged", c)
		}
		within(t, "2F1 vs gonum", got, hyp2f1Gonum(c[0], c[1], c[2], c[3]), 1e-12)
	}

	if _, ok := hyp2f1(1, 1, -2, 0.5); ok {
		t.Error("c a non-positive integer: ok")
	}
	if _, ok := hyp2f1(1, 1, 2, 1); ok {
		t.Error("z = 1: ok")
	}
}
