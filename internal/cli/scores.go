package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/atrium-cdp/atrium/internal/traits/clv"
)

// runScores dispatches "atrium scores <sub>": the CLV model fit, and the
// built-in indicators (run, show).
func runScores(ctx context.Context, e *env, args []string) error {
	return sub(ctx, e, "scores", args, map[string]func(context.Context, *env, []string) error{
		"model":     scoresModel,
		"recommend": scoresRecommend, // scores_recommend.go
		"run":       scoresRun,
		"show":      scoresShow,
		"traits":    scoresTraits, // scores_traits.go: computed trait definitions
	})
}

// scoresModel fits the CLV models on the workspace's orders:
// "atrium scores model clv [--until DATE] [--pareto] [--json]".
func scoresModel(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "propensity" {
		return scoresModelPropensity(ctx, e, args[1:])
	}
	if len(args) > 0 && args[0] == "recommend" {
		return scoresModelRecommend(ctx, e, args[1:]) // scores_recommend.go
	}
	var c common
	fs := c.flags("scores model", e)
	until := fs.String("until", "", "end of the calibration period, YYYY-MM-DD (default: the last order's day)")
	pareto := fs.Bool("pareto", false, "also fit Pareto/NBD")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "clv" {
		return usagef("usage: atrium scores model clv [--until YYYY-MM-DD] [--pareto] [--json]\n       atrium scores model propensity [--cutoff YYYY-MM-DD] [--horizon-days N] [--lambda L] [--json]")
	}
	var end time.Time
	if *until != "" {
		if end, err = time.Parse(time.DateOnly, *until); err != nil {
			return usagef("--until %q: want a date such as 1997-09-30", *until)
		}
	}
	t, err := open(ctx, e, c.data)
	if err != nil {
		return err
	}
	defer t.Close()
	if t.server != nil {
		return errors.New("scores model reads the workspace file: stop the server first (the API for scores is not built yet)")
	}
	ps, err := t.db.Purchases(ctx)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return errors.New("no orders attributed to profiles: import orders first (atrium import orders FILE)")
	}
	txns := make([]clv.Transaction, len(ps))
	for i, p := range ps {
		txns[i] = clv.Transaction{CustomerID: p.ProfileID, Time: p.At, Amount: p.Amount}
		if *until == "" && p.At.After(end) {
			end = p.At
		}
	}
	sums := clv.Summarize(txns, end, clv.Week)
	m, err := clv.FitModels(sums, end, clv.FitOptions{ParetoNBD: *pareto})
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(e.stdout, m.Report)
	}
	fmt.Fprintf(e.stdout, "calibration ends %s, %d customers (time unit: %s)\n", m.Report.CalibrationEnd, m.Report.Customers, m.Report.TimeUnit)
	for _, r := range m.Report.Models {
		fmt.Fprintf(e.stdout, "%-12s log-likelihood %.2f  converged %v  parameters %v\n", r.Model, r.LogLikelihood, r.Converged, r.Parameters)
	}
	return nil
}
