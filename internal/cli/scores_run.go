package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/traits"
)

// errScoresNeedFile is the answer of scores commands that have no API yet
// while a server holds the workspace.
var errScoresNeedFile = errors.New("this scores command reads and writes the workspace file: stop the server first (scores run and show also work through the server)")

// ScoreSteps is every step "atrium scores run" runs, in order. The command,
// POST /api/v1/scores/run and the server's schedule all run this list
// (app.RunScoreSteps); --only and {"only": [...]} select steps by name.
// To add a score: append one step here.
func ScoreSteps() []app.ScoreStep {
	return []app.ScoreStep{
		{Name: "indicators", About: "commerce indicators and RFM (docs/scores.md)", Run: indicatorsStep},
		{Name: "computed_traits", About: "every computed trait definition (docs/computed-traits.md)", Run: computedTraitsStep},
		{Name: "clv", About: "P(alive), churn risk, expected purchases, expected order value and CLV (docs/scores-clv.md)",
			Run: func(ctx context.Context, env app.ScoreEnv) (any, error) { return env.DB.RunCLVScores(ctx, env.AsOf) }},
		{Name: "geo", About: "commune, département and région from French postal or INSEE codes (docs/geo.md)",
			Run: func(ctx context.Context, env app.ScoreEnv) (any, error) { return env.DB.RefreshGeo(ctx) }},
		{Name: "propensity", About: "purchase propensity: P(order in the next 90 days) and its explanation (docs/scores-propensity.md)", Run: propensityStep},
		{Name: "recommendations", About: "item-to-item recommendation model (docs/recommendations.md)", Run: recommendStep},
	}
}

// indicatorsStep recomputes the built-in indicators and RFM of every live
// profile.
func indicatorsStep(ctx context.Context, env app.ScoreEnv) (any, error) {
	n, err := env.DB.RefreshIndicators(ctx, env.AsOf)
	if err != nil {
		return nil, err
	}
	return map[string]any{"profiles": n, "indicators": traits.IndicatorNames}, nil
}

// computedTraitsStep recomputes every computed trait for every live profile.
func computedTraitsStep(ctx context.Context, env app.ScoreEnv) (any, error) {
	return env.Computed.Refresh(ctx, nil, env.AsOf)
}

// scoresRun runs the score steps:
// "atrium scores run [--only NAME[,NAME]] [--as-of YYYY-MM-DD] [--json]".
// Against a running server it asks POST /api/v1/scores/run (as of now).
func scoresRun(ctx context.Context, e *env, args []string) error {
	var c common
	fs := c.flags("scores run", e)
	asOfFlag := fs.String("as-of", "", "compute as of the start of this day, YYYY-MM-DD: later data is ignored (default: now; not with a running server)")
	onlyFlag := fs.String("only", "", "run only these steps, comma-separated ("+strings.Join(app.StepNames(ScoreSteps()), ", ")+")")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("usage: atrium scores run [--only NAME[,NAME]] [--as-of YYYY-MM-DD] [--json]")
	}
	var only []string
	if *onlyFlag != "" {
		for _, n := range strings.Split(*onlyFlag, ",") {
			only = append(only, strings.TrimSpace(n))
		}
	}
	steps := ScoreSteps()
	for _, n := range only {
		if !hasStep(app.StepNames(steps), n) {
			return usagef("--only: %s", (&app.UnknownStepError{Name: n, Valid: app.StepNames(steps)}).Error())
		}
	}
	asOf := time.Now().UTC()
	if *asOfFlag != "" {
		if asOf, err = time.Parse(time.DateOnly, *asOfFlag); err != nil {
			return usagef("--as-of %q: want a date such as 2011-12-10", *asOfFlag)
		}
	}
	t, err := open(ctx, e, c.data)
	if err != nil {
		return err
	}
	defer t.Close()
	var rep app.ScoresReport
	if t.server != nil {
		if *asOfFlag != "" {
			return errors.New("--as-of needs the workspace file: the server computes as of now (stop it, or leave --as-of out)")
		}
		if only == nil {
			only = []string{}
		}
		if err := t.server.do(ctx, "POST", "/api/v1/scores/run", nil, map[string]any{"only": only}, &rep); err != nil {
			return err
		}
	} else if rep, err = app.RunScoreSteps(ctx, steps, app.ScoreEnv{DB: t.db, AsOf: asOf}, only); err != nil {
		return err
	}
	if c.json {
		return printJSON(e.stdout, scoresRunJSON(rep))
	}
	fmt.Fprintf(e.stdout, "scores as of %s\n", rep.AsOf.Format(time.RFC3339))
	for _, s := range rep.Steps {
		fmt.Fprintf(e.stdout, "  %-16s %6.2fs  %s\n", s.Name, s.Seconds, summary(s.Result))
	}
	return nil
}

// scoresRunJSON is the report with the indicators' profile count also at the
// top level, where scripts written before the steps existed read it.
func scoresRunJSON(rep app.ScoresReport) map[string]any {
	out := map[string]any{"as_of": rep.AsOf, "steps": rep.Steps}
	for _, s := range rep.Steps {
		if m, ok := s.Result.(map[string]any); ok && s.Name == "indicators" {
			out["profiles"], out["indicators"] = m["profiles"], m["indicators"]
		}
	}
	return out
}

// summary is one line about a step's result (a JSON-ish map from a server,
// or the step's own value when run in process).
func summary(res any) string {
	switch r := res.(type) {
	case map[string]any:
		if n, ok := r["profiles"]; ok {
			if m, ok := n.(map[string]any); ok {
				return traitCounts(m)
			}
			return fmt.Sprintf("%v profiles", n)
		}
	case interface{ Counts() map[string]int64 }:
		m := map[string]any{}
		for k, v := range r.Counts() {
			m[k] = v
		}
		return traitCounts(m)
	}
	return fmt.Sprint(res)
}

func traitCounts(m map[string]any) string {
	if len(m) == 0 {
		return "no computed traits defined"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s: %v", n, m[n])
	}
	return strings.Join(parts, ", ") + " profiles"
}

// scoresShow prints a profile's computed traits and scores:
// "atrium scores show PROFILE_ID [--json]".
func scoresShow(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "scores show", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium scores show PROFILE_ID [--json]")
		}
		var surv string
		var scores map[string]store.ScoreValue
		if t.server != nil {
			// The profile JSON carries the scores of the survivor.
			var p struct {
				ID     string                      `json:"id"`
				Scores map[string]store.ScoreValue `json:"scores"`
			}
			if err := t.server.do(ctx, "GET", "/api/v1/profiles/"+url.PathEscape(pos[0]), nil, nil, &p); err != nil {
				return err
			}
			surv, scores = p.ID, p.Scores
		} else {
			var err error
			if surv, err = t.db.Survivor(ctx, pos[0]); err != nil {
				return err
			}
			if scores, err = t.db.ProfileScores(ctx, surv); err != nil {
				return err
			}
		}
		if c.json {
			return printJSON(e.stdout, map[string]any{"profile_id": surv, "scores": scores})
		}
		if len(scores) == 0 {
			fmt.Fprintf(e.stdout, "profile %s has no computed scores (run: atrium scores run)\n", surv)
			return nil
		}
		// Built-in indicators in their documented order, then any others by name.
		rank := map[string]int{}
		for i, n := range traits.IndicatorNames {
			rank[n] = i + 1
		}
		names := make([]string, 0, len(scores))
		for n := range scores {
			names = append(names, n)
		}
		sort.Slice(names, func(i, j int) bool {
			ri, rj := rank[names[i]], rank[names[j]]
			if (ri == 0) != (rj == 0) {
				return ri != 0
			}
			if ri != rj {
				return ri < rj
			}
			return names[i] < names[j]
		})
		fmt.Fprintf(e.stdout, "profile %s\n", surv)
		for _, n := range names {
			s := scores[n]
			fmt.Fprintf(e.stdout, "  %-26s %-30s computed %s\n", n, string(s.Value), s.ComputedAt.Format(time.RFC3339))
		}
		return nil
	})
}

func hasStep(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
