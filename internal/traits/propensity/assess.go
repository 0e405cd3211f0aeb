package propensity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/atrium-cdp/atrium/internal/traits/clv"
)

// Store is what the model reads: labelled examples as of a cut-off, the
// extent of the order history, and the revenue orders for the BG/NBD
// baseline. internal/store/duckdb implements it.
type Store interface {
	// PropensityExamples returns one example per live profile with a revenue
	// order before cutoff, labelled by a revenue order in [cutoff, labelEnd),
	// ordered by profile id.
	PropensityExamples(ctx context.Context, cutoff, labelEnd time.Time) ([]Example, error)
	// PropensitySpan returns the revenue orders attributed to live profiles:
	// how many, and the first and last order time.
	PropensitySpan(ctx context.Context) (Span, error)
	// PropensityTransactions returns the revenue orders of live profiles
	// placed before the instant, with the profile id as CustomerID.
	PropensityTransactions(ctx context.Context, before time.Time) ([]clv.Transaction, error)
}

// Span is the extent of a workspace's order history.
type Span struct {
	Orders      int
	First, Last time.Time
}

// MaxHorizonDays bounds the horizon: ten years is more than any order history
// Atrium holds, and a bound keeps the date arithmetic far from overflow.
const MaxHorizonDays = 3660

// DefaultHorizonDays is the horizon when none is given.
const DefaultHorizonDays = 90

// Options set up an evaluation.
type Options struct {
	// Cutoff is the training cut-off c1; the test cut-off is c1 + horizon. Zero
	// means the latest cut-off whose test window still ends by the data end
	// (the start of the day after the last order).
	Cutoff      time.Time
	HorizonDays int     // N, 1 … MaxHorizonDays
	Lambda      float64 // L2 strength; 0 means DefaultLambda
}

// Report is the outcome of an out-of-time evaluation.
type Report struct {
	TrainCutoff  time.Time     `json:"train_cutoff"` // c1: training features use orders before it
	TestCutoff   time.Time     `json:"test_cutoff"`  // c2 = c1 + N: end of the training labels, start of the test
	TestEnd      time.Time     `json:"test_end"`     // c2 + N: end of the test labels (exclusive)
	HorizonDays  int           `json:"horizon_days"`
	Lambda       float64       `json:"lambda"`
	Train        SetMetrics    `json:"train"`
	Test         SetMetrics    `json:"test"`
	Calibration  []Bin         `json:"calibration"` // test set, deciles of the predicted probability
	Baselines    []Baseline    `json:"baselines"`   // on the test set
	Intercept    float64       `json:"intercept"`
	Coefficients []Coefficient `json:"coefficients"`
	Fit          FitInfo       `json:"fit"`
}

// SetMetrics are the model's figures on one set of examples.
type SetMetrics struct {
	Profiles  int     `json:"profiles"`
	Buyers    int     `json:"buyers"`     // label 1: a revenue order within the horizon
	NonBuyers int     `json:"non_buyers"` // label 0
	AUC       float64 `json:"auc"`
	LogLoss   float64 `json:"log_loss"`
	Brier     float64 `json:"brier"`
	// The same for the constant prediction "the training base rate": the
	// figure a model must beat to be worth anything.
	ConstantLogLoss float64 `json:"constant_log_loss"`
	ConstantBrier   float64 `json:"constant_brier"`
}

// Baseline is the test AUC of a simple score.
type Baseline struct {
	Name  string  `json:"name"`
	Score string  `json:"score"` // what is ranked
	AUC   float64 `json:"auc"`
	Note  string  `json:"note,omitempty"`
}

// ResolveCutoff checks the options against the history and returns the
// training cut-off c1 and the horizon. Errors say which bound failed and the
// valid range.
func ResolveCutoff(span Span, o Options) (time.Time, int, error) {
	n := o.HorizonDays
	if n == 0 {
		n = DefaultHorizonDays
	}
	if n < 1 || n > MaxHorizonDays {
		return time.Time{}, 0, fmt.Errorf("horizon of %d days: want 1 to %d", o.HorizonDays, MaxHorizonDays)
	}
	if span.Orders == 0 {
		return time.Time{}, 0, errors.New("no revenue orders attributed to profiles: import orders first (atrium import orders FILE)")
	}
	first := startOfDay(span.First)
	end := startOfDay(span.Last).AddDate(0, 0, 1)
	h := 24 * time.Hour * time.Duration(n)
	latest := end.Add(-2 * h)
	c1 := o.Cutoff.UTC()
	if c1.IsZero() {
		c1 = latest
	}
	if !latest.After(first) {
		return time.Time{}, 0, fmt.Errorf("history from %s to %s is too short for two windows of %d days after a first order: use a shorter horizon",
			first.Format(time.DateOnly), span.Last.UTC().Format(time.DateOnly), n)
	}
	if !c1.After(first) || c1.After(latest) {
		return time.Time{}, 0, fmt.Errorf("cut-off %s outside the data: with %d-day windows it must be after %s (first order) and no later than %s (so that the test window ends by %s, the day after the last order)",
			c1.Format(time.DateOnly), n, first.Format(time.DateOnly), latest.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	return c1, n, nil
}

// Assess trains the model on features as of c1 with labels in [c1, c2) and
// evaluates it on features as of c2 with labels in [c2, c2+N), c2 = c1+N.
func Assess(ctx context.Context, st Store, o Options) (Report, *Model, error) {
	span, err := st.PropensitySpan(ctx)
	if err != nil {
		return Report{}, nil, err
	}
	c1, n, err := ResolveCutoff(span, o)
	if err != nil {
		return Report{}, nil, err
	}
	lambda := o.Lambda
	if lambda == 0 {
		lambda = DefaultLambda
	}
	h := 24 * time.Hour * time.Duration(n)
	c2, c3 := c1.Add(h), c1.Add(2*h)
	rep := Report{TrainCutoff: c1, TestCutoff: c2, TestEnd: c3, HorizonDays: n, Lambda: lambda}

	train, err := st.PropensityExamples(ctx, c1, c2)
	if err != nil {
		return Report{}, nil, err
	}
	m, err := Train(train, lambda)
	if err != nil {
		return Report{}, nil, fmt.Errorf("training set (profiles with orders before %s, purchases until %s): %w",
			c1.Format(time.DateOnly), c2.Format(time.DateOnly), err)
	}
	test, err := st.PropensityExamples(ctx, c2, c3)
	if err != nil {
		return Report{}, nil, err
	}
	trainRate := float64(countBuyers(train)) / float64(len(train))
	if rep.Train, _, err = measure(m, train, trainRate); err != nil {
		return Report{}, nil, fmt.Errorf("training set: %w", err)
	}
	var pTest []float64
	if rep.Test, pTest, err = measure(m, test, trainRate); err != nil {
		return Report{}, nil, fmt.Errorf("test set (profiles with orders before %s, purchases until %s): %w",
			c2.Format(time.DateOnly), c3.Format(time.DateOnly), err)
	}
	labels := make([]bool, len(test))
	for i, e := range test {
		labels[i] = e.Label
	}
	rep.Calibration = Calibration(pTest, labels, 10)
	rep.Intercept, rep.Coefficients, rep.Fit = m.Fit.Intercept, m.Coefficients(), m.Info

	feature := func(name, score string, j int, sign float64) Baseline {
		s := make([]float64, len(test))
		for i, e := range test {
			s[i] = sign * e.Features[j]
		}
		auc, _ := AUC(s, labels) // both classes are present: measure checked
		return Baseline{Name: name, Score: score, AUC: auc}
	}
	rep.Baselines = []Baseline{
		feature("recency", "−recency_days (the most recent buyer first)", RecencyDays, -1),
		feature("frequency", "frequency (most orders first)", Frequency, 1),
		bgnbdBaseline(ctx, st, test, labels, c2, n),
	}
	return rep, m, nil
}

// bgnbdBaseline ranks the test profiles by the BG/NBD expected number of
// purchases in the horizon, the model fitted on the orders before c2 (the
// same history the test features see). A failed fit is reported in the note,
// not as an error: the baseline is for comparison only.
func bgnbdBaseline(ctx context.Context, st Store, test []Example, labels []bool, c2 time.Time, n int) Baseline {
	b := Baseline{Name: "bg_nbd", Score: fmt.Sprintf("BG/NBD expected purchases in the next %d days", n)}
	txns, err := st.PropensityTransactions(ctx, c2)
	if err != nil {
		b.Note = err.Error()
		return b
	}
	// Orders are all before c2, so the calibration period ends on c2's day
	// with no order on it, and T runs to the cut-off.
	sums := clv.Summarize(txns, c2, clv.Week)
	bg, _, err := clv.FitBGNBD(sums)
	if err != nil {
		b.Note = "fit failed: " + err.Error()
		return b
	}
	byID := make(map[string]clv.Summary, len(sums))
	for _, s := range sums {
		byID[s.CustomerID] = s
	}
	scores := make([]float64, len(test))
	for i, e := range test {
		s, ok := byID[e.ProfileID]
		if !ok {
			b.Note = "profile " + e.ProfileID + " has no BG/NBD summary"
			return b
		}
		scores[i] = bg.ConditionalExpectedPurchases(s, float64(n)/7)
		if math.IsNaN(scores[i]) {
			b.Note = "expected purchases not finite for profile " + e.ProfileID
			return b
		}
	}
	b.AUC, _ = AUC(scores, labels)
	return b
}

// measure predicts every example and computes the set's figures; the
// constant baseline predicts rate for everybody.
func measure(m *Model, ex []Example, rate float64) (SetMetrics, []float64, error) {
	p := make([]float64, len(ex))
	labels := make([]bool, len(ex))
	constant := make([]float64, len(ex))
	for i, e := range ex {
		p[i], labels[i], constant[i] = m.Predict(e.Features), e.Label, rate
	}
	s := SetMetrics{Profiles: len(ex), Buyers: countBuyers(ex)}
	s.NonBuyers = s.Profiles - s.Buyers
	auc, err := AUC(p, labels)
	if err != nil {
		return s, nil, fmt.Errorf("%d buyers and %d non-buyers: %w", s.Buyers, s.NonBuyers, err)
	}
	s.AUC, s.LogLoss, s.Brier = auc, LogLoss(p, labels), Brier(p, labels)
	s.ConstantLogLoss, s.ConstantBrier = LogLoss(constant, labels), Brier(constant, labels)
	return s, p, nil
}

func countBuyers(ex []Example) int {
	n := 0
	for _, e := range ex {
		if e.Label {
			n++
		}
	}
	return n
}

// ProfileScore is one profile's stored propensity: Value is the JSON written
// to profile_scores under ScoreName.
type ProfileScore struct {
	ProfileID string
	Value     json.RawMessage
}

// ScoreName is the profile_scores name of the stored propensity.
const ScoreName = "purchase_propensity"

// scoreValue is the stored JSON: logit(p) = intercept + Σ contributions.
type scoreValue struct {
	P             float64            `json:"p"`
	HorizonDays   int                `json:"horizon_days"`
	Intercept     float64            `json:"intercept"`
	Contributions map[string]float64 `json:"contributions"`
}

// Score trains the model on the latest complete window — features as of
// asOf − N, labels in [asOf − N, asOf) — and scores every live profile with
// an order before asOf on its features as of asOf. Values are rounded to 4
// decimals. An error wrapping *ClassError means the history cannot support a
// model (the caller may skip the score).
func Score(ctx context.Context, st Store, asOf time.Time, horizonDays int, lambda float64) ([]ProfileScore, *Model, error) {
	if horizonDays < 1 || horizonDays > MaxHorizonDays {
		return nil, nil, fmt.Errorf("horizon of %d days: want 1 to %d", horizonDays, MaxHorizonDays)
	}
	if lambda == 0 {
		lambda = DefaultLambda
	}
	c1 := asOf.UTC().AddDate(0, 0, -horizonDays)
	train, err := st.PropensityExamples(ctx, c1, asOf)
	if err != nil {
		return nil, nil, err
	}
	m, err := Train(train, lambda)
	if err != nil {
		return nil, nil, fmt.Errorf("training on orders before %s and purchases until %s: %w",
			c1.Format(time.DateOnly), asOf.UTC().Format(time.DateOnly), err)
	}
	now, err := st.PropensityExamples(ctx, asOf, asOf)
	if err != nil {
		return nil, nil, err
	}
	out := make([]ProfileScore, len(now))
	for i, e := range now {
		p, c := m.Explain(e.Features)
		for k, v := range c {
			c[k] = round4(v)
		}
		v, err := json.Marshal(scoreValue{P: round4(p), HorizonDays: horizonDays, Intercept: round4(m.Fit.Intercept), Contributions: c})
		if err != nil {
			return nil, nil, fmt.Errorf("encode score: %w", err)
		}
		out[i] = ProfileScore{ProfileID: e.ProfileID, Value: v}
	}
	return out, m, nil
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func startOfDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
