package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/traits/propensity"
)

// scoresModelPropensity trains and evaluates the purchase-propensity model out
// of time and prints the report: "atrium scores model propensity [--cutoff
// DATE] [--horizon-days N] [--json]".
func scoresModelPropensity(ctx context.Context, e *env, args []string) error {
	var c common
	fs := c.flags("scores model propensity", e)
	cutoff := fs.String("cutoff", "", "training cut-off c1, YYYY-MM-DD (start of the day, UTC); the test starts at c1 + horizon (default: the latest whose test window ends with the data)")
	horizon := fs.Int("horizon-days", propensity.DefaultHorizonDays, "label horizon N in days: bought within N days after the cut-off")
	lambda := fs.Float64("lambda", propensity.DefaultLambda, "L2 regularisation strength on the standardised coefficients (> 0)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("usage: atrium scores model propensity [--cutoff YYYY-MM-DD] [--horizon-days N] [--lambda L] [--json]")
	}
	if !(*lambda > 0 && *lambda <= 1e6) {
		return usagef("--lambda %g: want a number above 0 (and at most 1e6)", *lambda)
	}
	if *horizon < 1 || *horizon > propensity.MaxHorizonDays {
		return usagef("--horizon-days %d: want 1 to %d", *horizon, propensity.MaxHorizonDays)
	}
	var o propensity.Options
	o.HorizonDays, o.Lambda = *horizon, *lambda
	if *cutoff != "" {
		if o.Cutoff, err = time.Parse(time.DateOnly, *cutoff); err != nil {
			return usagef("--cutoff %q: want a date such as 2011-06-01", *cutoff)
		}
	}
	t, err := open(ctx, e, c.data)
	if err != nil {
		return err
	}
	defer t.Close()
	if t.server != nil {
		return errScoresNeedFile
	}
	rep, _, err := propensity.Assess(ctx, t.db, o)
	if err != nil {
		return fmt.Errorf("propensity model: %w", err)
	}
	if c.json {
		return printJSON(e.stdout, rep)
	}
	printPropensityReport(e.stdout, rep)
	return nil
}

func printPropensityReport(w io.Writer, r propensity.Report) {
	d := func(t time.Time) string { return t.Format(time.DateOnly) }
	fmt.Fprintf(w, "purchase propensity, horizon %d days, L2 λ = %g\n", r.HorizonDays, r.Lambda)
	fmt.Fprintf(w, "train: features as of %s, labels in [%s, %s)\n", d(r.TrainCutoff), d(r.TrainCutoff), d(r.TestCutoff))
	fmt.Fprintf(w, "test:  features as of %s, labels in [%s, %s)\n\n", d(r.TestCutoff), d(r.TestCutoff), d(r.TestEnd))
	fmt.Fprintf(w, "%-6s %9s %7s %10s %6s %9s %7s %15s %13s\n", "set", "profiles", "buyers", "non-buyers", "AUC", "log-loss", "Brier", "const log-loss", "const Brier")
	for _, s := range []struct {
		name string
		m    propensity.SetMetrics
	}{{"train", r.Train}, {"test", r.Test}} {
		fmt.Fprintf(w, "%-6s %9d %7d %10d %6.3f %9.4f %7.4f %15.4f %13.4f\n", s.name, s.m.Profiles, s.m.Buyers, s.m.NonBuyers,
			s.m.AUC, s.m.LogLoss, s.m.Brier, s.m.ConstantLogLoss, s.m.ConstantBrier)
	}
	fmt.Fprintf(w, "\nbaselines (test AUC):\n")
	fmt.Fprintf(w, "  %-10s %.3f  model\n", "logistic", r.Test.AUC)
	for _, b := range r.Baselines {
		if b.Note != "" {
			fmt.Fprintf(w, "  %-10s   —    %s (%s)\n", b.Name, b.Score, b.Note)
			continue
		}
		fmt.Fprintf(w, "  %-10s %.3f  %s\n", b.Name, b.AUC, b.Score)
	}
	fmt.Fprintf(w, "\ncalibration (test, deciles of the predicted probability):\n  %3s %9s %14s %13s\n", "bin", "profiles", "mean predicted", "observed rate")
	for _, b := range r.Calibration {
		fmt.Fprintf(w, "  %3d %9d %14.3f %13.3f\n", b.Bin, b.Profiles, b.MeanPredicted, b.ObservedRate)
	}
	fmt.Fprintf(w, "\ncoefficients (logit change per standard deviation), intercept %.4f:\n", r.Intercept)
	for _, c := range r.Coefficients {
		fmt.Fprintf(w, "  %-26s %+8.4f  (%s, mean %.3f, sd %.3f)\n", c.Feature, c.Weight, c.Transform, c.Mean, c.Std)
	}
	fmt.Fprintf(w, "\nfit: %d iterations, converged %v, gradient %.1e\n", r.Fit.Iterations, r.Fit.Converged, r.Fit.GradNorm)
}

// propensityRun is what "atrium scores run" reports about the propensity.
type propensityRun struct {
	Profiles    int    `json:"profiles"`
	HorizonDays int    `json:"horizon_days"`
	Skipped     string `json:"skipped,omitempty"` // why no model could be trained
}

// String is the line "scores run" prints.
func (p propensityRun) String() string {
	if p.Skipped != "" {
		return "purchase propensity: skipped (" + p.Skipped + ")"
	}
	return fmt.Sprintf("purchase propensity (%d days) for %d profiles", p.HorizonDays, p.Profiles)
}

// propensityStep is the "propensity" step of scores run (ScoreSteps).
func propensityStep(ctx context.Context, env app.ScoreEnv) (any, error) {
	return refreshPropensity(ctx, env.DB, env.AsOf)
}

// refreshPropensity trains the model on the window before asOf and stores
// every live profile's purchase_propensity. A history that cannot support a
// model (too few buyers or non-buyers in the last horizon) clears the stored
// scores and is reported as skipped, not as an error, so that the indicators
// of a small workspace still refresh.
func refreshPropensity(ctx context.Context, db *duckdb.DB, asOf time.Time) (propensityRun, error) {
	run := propensityRun{HorizonDays: propensity.DefaultHorizonDays}
	scores, _, err := propensity.Score(ctx, db, asOf, run.HorizonDays, 0)
	var ce *propensity.ClassError
	if errors.As(err, &ce) {
		run.Skipped = err.Error()
		scores, err = nil, nil
	}
	if err != nil {
		return run, fmt.Errorf("purchase propensity: %w", err)
	}
	if err := db.ReplacePropensityScores(ctx, scores, time.Now().UTC()); err != nil {
		return run, err
	}
	run.Profiles = len(scores)
	return run, nil
}
