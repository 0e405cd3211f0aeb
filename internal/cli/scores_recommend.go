package cli

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/traits/recommend"
	"github.com/atrium-cdp/atrium/internal/web"
)

// scoresRecommend prints a profile's product recommendations:
// "atrium scores recommend PROFILE_ID [--limit N] [--json]". Through the
// running server when there is one, from the file otherwise.
func scoresRecommend(ctx context.Context, e *env, args []string) error {
	var limit *int
	extra := func(_ *common, fs *flagSetT) {
		limit = fs.Int("limit", recommend.DefaultLimit, fmt.Sprintf("how many products, 1 to %d", recommend.MaxLimit))
	}
	return withTarget(ctx, e, "scores recommend", args, extra, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium scores recommend PROFILE_ID [--limit N] [--json]")
		}
		if *limit < 1 || *limit > recommend.MaxLimit {
			return usagef("--limit %d: want 1 to %d", *limit, recommend.MaxLimit)
		}
		var out web.RecommendationsJSON
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "GET", "/api/v1/profiles/"+url.PathEscape(pos[0])+"/recommendations",
				url.Values{"limit": {strconv.Itoa(*limit)}}, nil, &out)
		} else {
			out, err = web.LoadRecommendations(ctx, t.db, t.db, pos[0], *limit)
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, out)
		}
		if out.Model == nil {
			fmt.Fprintf(e.stdout, "no recommendation model yet: run atrium scores run (or atrium scores model recommend)\n")
			return nil
		}
		fmt.Fprintf(e.stdout, "profile %s: %d recommendations (model built %s from orders and views before %s)\n",
			out.ProfileID, len(out.Recommendations), out.Model.BuiltAt.Format(time.RFC3339), out.Model.TrainedUntil.Format(time.RFC3339))
		for _, r := range out.Recommendations {
			fmt.Fprintf(e.stdout, "%3d. %-14s %-36.36s score %.4f  %s\n", r.Rank, r.ProductID, r.Name, r.Score, r.Reason)
		}
		return nil
	})
}

// scoresModelRecommend builds the recommendation model now, or evaluates it
// offline on a temporal split:
//
//	atrium scores model recommend [--until YYYY-MM-DD] [model flags] [--json]
//	atrium scores model recommend --split YYYY-MM-DD [--k 10] [model flags] [--json]
func scoresModelRecommend(ctx context.Context, e *env, args []string) error {
	var c common
	fs := c.flags("scores model recommend", e)
	split := fs.String("split", "", "evaluate instead of building: train before this day (00:00 UTC), test on the purchases from it on")
	until := fs.String("until", "", "build from the orders and views before this day, YYYY-MM-DD (default: now)")
	k := fs.Int("k", recommend.DefaultLimit, "evaluation: products recommended per customer")
	var o recommend.Options
	fs.IntVar(&o.Neighbours, "neighbours", recommend.DefaultNeighbours, "neighbours kept per product")
	fs.IntVar(&o.WindowDays, "window-days", recommend.DefaultWindowDays, "popularity window, days up to the latest order")
	fs.IntVar(&o.MinTogether, "min-together", recommend.DefaultMinTogether, "customers a pair of products needs in common")
	fs.IntVar(&o.MaxItems, "max-items", recommend.DefaultMaxItems, "customers with more distinct products are left out of similarities")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("usage: atrium scores model recommend [--until YYYY-MM-DD | --split YYYY-MM-DD [--k N]] [--json]")
	}
	if _, err := o.WithDefaults(); err != nil {
		return usagef("%v", err)
	}
	if *split != "" && *until != "" {
		return usagef("give --split (evaluate) or --until (build), not both")
	}
	day := func(flag, s string) (time.Time, error) {
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return d, usagef("--%s %q: want a date such as 2011-09-01", flag, s)
		}
		return d, nil
	}
	t, err := open(ctx, e, c.data)
	if err != nil {
		return err
	}
	defer t.Close()
	if t.server != nil {
		return errScoresNeedFile
	}
	if *split == "" {
		end := time.Now().UTC()
		if *until != "" {
			if end, err = day("until", *until); err != nil {
				return err
			}
		}
		m, err := t.db.BuildRecommendModel(ctx, end, o)
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, m)
		}
		fmt.Fprintf(e.stdout, "recommendation model: %s (%.1f s)\n", recoSummary{m}, m.Seconds)
		return nil
	}
	at, err := day("split", *split)
	if err != nil {
		return err
	}
	if *k < 1 || *k > recommend.MaxLimit {
		return usagef("--k %d: want 1 to %d", *k, recommend.MaxLimit)
	}
	ev, err := t.db.EvaluateRecommendations(ctx, at, *k, o)
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(e.stdout, ev)
	}
	printEval(e, ev)
	return nil
}

func printEval(e *env, ev duckdb.RecommendEval) {
	fmt.Fprintf(e.stdout, "split %s: trained on %d customers, %d products, %d neighbour pairs\n",
		ev.Split.Format(time.DateOnly), ev.TrainProfiles, ev.TrainProducts, ev.TrainPairs)
	fmt.Fprintf(e.stdout, "customers who bought before and after the split: %d; evaluated (bought something new after): %d\n",
		ev.BoughtBeforeAndAfter, ev.Evaluated)
	for _, m := range []struct {
		name string
		m    recommend.Metrics
	}{{"item-to-item", ev.Model}, {"popularity", ev.Popularity}} {
		fmt.Fprintf(e.stdout, "%-13s hit rate@%d %.4f (%d/%d)  precision@%d %.4f  recall@%d %.4f\n",
			m.name, ev.K, m.m.HitRate, m.m.Hits, m.m.Customers, ev.K, m.m.Precision, ev.K, m.m.Recall)
	}
	fmt.Fprintf(e.stdout, "item-to-item lists filled from popularity: %.1f%% of slots (%.1f s)\n", 100*ev.FallbackShare, ev.Seconds)
}

// recoSummary is what scores run and scores model recommend say about a
// model build.
type recoSummary struct {
	recommend.Model
}

func (s recoSummary) String() string {
	return fmt.Sprintf("%d products, %d neighbour pairs from %d customers before %s",
		s.Products, s.Pairs, s.Profiles, s.TrainedUntil.Format(time.RFC3339))
}

// recommendStep rebuilds the recommendation model from the orders and
// views before the as-of instant, with the default options: the
// "recommendations" step of scores run (ScoreSteps).
func recommendStep(ctx context.Context, env app.ScoreEnv) (any, error) {
	asOf := env.AsOf
	if asOf.IsZero() {
		asOf = time.Now().UTC()
	}
	m, err := env.DB.BuildRecommendModel(ctx, asOf, recommend.Options{})
	if err != nil {
		return nil, err
	}
	return recoSummary{m}, nil
}
