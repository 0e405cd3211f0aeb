package propensity

import (
	"fmt"
	"math"
)

// DefaultLambda is the L2 strength on the standardised coefficients. With a
// few thousand examples it barely moves a useful coefficient but keeps
// collinear ones (orders in 90 and 365 days, frequency) from taking large
// opposite values.
const DefaultLambda = 0.01

// MinClass is the least number of buyers and of non-buyers a training set
// needs: with fewer, the coefficients describe a handful of customers.
const MinClass = 10

// Model is a trained propensity model: the features it uses, how each is
// standardised, and the regression on the standardised values.
type Model struct {
	Features []int     // indexes of the features used (constant ones are left out)
	Mean     []float64 // mean of each used feature after its transform, on the training set
	Std      []float64 // population standard deviation, same
	Fit      Logistic  // on (transformed − Mean) / Std
	Info     FitInfo
	Lambda   float64
}

// Train fits the model on labelled examples. Features whose transformed value
// is the same for every training example (no products, no events) carry no
// information and are left out. It returns a *ClassError
// when there are fewer than MinClass buyers or non-buyers.
func Train(train []Example, lambda float64) (*Model, error) {
	var pos int
	for _, e := range train {
		if e.Label {
			pos++
		}
	}
	if pos < MinClass || len(train)-pos < MinClass {
		return nil, &ClassError{Buyers: pos, NonBuyers: len(train) - pos}
	}
	m := &Model{Lambda: lambda}
	n := float64(len(train))
	for j := range NumFeatures {
		var mean, sq float64
		for _, e := range train {
			mean += transform(j, e.Features[j])
		}
		mean /= n
		for _, e := range train {
			d := transform(j, e.Features[j]) - mean
			sq += d * d
		}
		std := math.Sqrt(sq / n)
		if std < 1e-9*math.Max(1, math.Abs(mean)) || math.IsNaN(std) {
			continue
		}
		m.Features = append(m.Features, j)
		m.Mean = append(m.Mean, mean)
		m.Std = append(m.Std, std)
	}
	x := make([][]float64, len(train))
	y := make([]bool, len(train))
	for i, e := range train {
		x[i] = m.standardise(e.Features)
		y[i] = e.Label
	}
	fit, info, err := FitLogistic(x, y, lambda)
	if err != nil {
		return nil, err
	}
	m.Fit, m.Info = fit, info
	return m, nil
}

// ClassError says a training set has too few buyers or non-buyers.
type ClassError struct{ Buyers, NonBuyers int }

func (e *ClassError) Error() string {
	return fmt.Sprintf("%d buyers and %d non-buyers: training needs at least %d of each", e.Buyers, e.NonBuyers, MinClass)
}

// standardise returns the used features of raw, transformed and standardised.
func (m *Model) standardise(raw [NumFeatures]float64) []float64 {
	z := make([]float64, len(m.Features))
	for k, j := range m.Features {
		z[k] = (transform(j, raw[j]) - m.Mean[k]) / m.Std[k]
	}
	return z
}

// Predict returns the probability of a purchase within the horizon.
func (m *Model) Predict(raw [NumFeatures]float64) float64 {
	return sigmoid(m.Fit.Logit(m.standardise(raw)))
}

// Explain returns the probability and each used feature's contribution to
// its logit, coefficient × standardised value, by feature name:
// logit(p) = m.Fit.Intercept + Σ contributions.
func (m *Model) Explain(raw [NumFeatures]float64) (float64, map[string]float64) {
	z := m.standardise(raw)
	c := make(map[string]float64, len(z))
	for k, j := range m.Features {
		c[FeatureNames[j]] = m.Fit.W[k] * z[k]
	}
	return sigmoid(m.Fit.Logit(z)), c
}

// Coefficient describes one used feature of a model, for reports.
type Coefficient struct {
	Feature   string  `json:"feature"`
	Transform string  `json:"transform"` // "log1p" or "identity", applied before standardising
	Mean      float64 `json:"mean"`      // of the transformed value on the training set
	Std       float64 `json:"std"`
	Weight    float64 `json:"weight"` // on the standardised value: the logit change per standard deviation
}

// Coefficients lists the model's features with their weights.
func (m *Model) Coefficients() []Coefficient {
	out := make([]Coefficient, len(m.Features))
	for k, j := range m.Features {
		out[k] = Coefficient{Feature: FeatureNames[j], Transform: TransformName(j), Mean: m.Mean[k], Std: m.Std[k], Weight: m.Fit.W[k]}
	}
	return out
}
