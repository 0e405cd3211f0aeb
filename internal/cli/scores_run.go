package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/atrium-cdp/atrium/internal/traits"
)

// errScoresNeedFile is the answer while a server holds the workspace: the
// scores API is not built yet.
var errScoresNeedFile = errors.New("scores read and write the workspace file: stop the server first (the API for scores is not built yet)")

// scoresRun recomputes the built-in indicators and RFM of every live profile:
// "atrium scores run [--as-of YYYY-MM-DD] [--json]". The scheduler calls the
// same store method.
func scoresRun(ctx context.Context, e *env, args []string) error {
	var c common
	fs := c.flags("scores run", e)
	asOfFlag := fs.String("as-of", "", "compute as of the start of this day, YYYY-MM-DD: later orders are ignored (default: now)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("usage: atrium scores run [--as-of YYYY-MM-DD] [--json]")
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
	if t.server != nil {
		return errScoresNeedFile
	}
	n, err := t.db.RefreshIndicators(ctx, asOf)
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(e.stdout, map[string]any{"as_of": asOf, "profiles": n, "indicators": traits.IndicatorNames})
	}
	fmt.Fprintf(e.stdout, "computed %d indicators for %d profiles as of %s\n", len(traits.IndicatorNames), n, asOf.Format(time.RFC3339))
	return nil
}

// scoresShow prints a profile's computed traits and scores:
// "atrium scores show PROFILE_ID [--json]".
func scoresShow(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "scores show", args, nil, func(t *target, c *common, pos []string) error {
		if len(pos) != 1 {
			return usagef("usage: atrium scores show PROFILE_ID [--json]")
		}
		if t.server != nil {
			return errScoresNeedFile
		}
		surv, err := t.db.Survivor(ctx, pos[0])
		if err != nil {
			return err
		}
		scores, err := t.db.ProfileScores(ctx, surv)
		if err != nil {
			return err
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
