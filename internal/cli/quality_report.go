package cli

import (
	"context"
	"fmt"

	"github.com/atrium-cdp/atrium/internal/web"
)

// qualityReport prints the share of valid, corrected, suspect and invalid
// values per normalised field, with the most frequent problems.
func qualityReport(ctx context.Context, e *env, args []string) error {
	return withTarget(ctx, e, "quality report", args, nil, func(t *target, c *common, _ []string) error {
		var rep web.QualityJSON
		var err error
		if t.server != nil {
			err = t.server.do(ctx, "GET", "/api/v1/quality", nil, nil, &rep)
		} else {
			rep, err = web.BuildQualityReport(ctx, t.db)
		}
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, rep)
		}
		for _, f := range rep.Fields {
			if f.Total == 0 {
				continue
			}
			fmt.Fprintf(e.stdout, "%-9s %7d profiles  valid %5.1f%%  corrected %5.1f%%  suspect %5.1f%%  invalid %5.1f%%\n", f.Field, f.Total,
				100*f.Shares["valid"], 100*f.Shares["corrected"], 100*f.Shares["suspect"], 100*f.Shares["invalid"])
			for _, p := range f.Problems {
				fmt.Fprintf(e.stdout, "          %-28s %7d  e.g. %s\n", p.Reason, p.Count, p.Example)
			}
		}
		return nil
	})
}
