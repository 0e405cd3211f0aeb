package cli

import (
	"context"
	"fmt"

	"github.com/atrium-cdp/atrium/internal/bench"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// benchScores generates a workspace and times the scores on it:
// "atrium bench scores [--profiles N] [--orders N] [--json]".
func benchScores(ctx context.Context, e *env, args []string) error {
	var c common
	fs := c.flags("bench scores", e)
	o := bench.ScoresOptions{}
	fs.IntVar(&o.Profiles, "profiles", 1000000, "profiles to generate")
	fs.IntVar(&o.Orders, "orders", 10000000, "orders to generate (about; at least one per profile)")
	fs.IntVar(&o.Incremental, "incremental", 50, "single-profile refreshes to time")
	fs.StringVar(&o.DBMemory, "db-memory", "", "DuckDB memory limit of the workspace (default: DuckDB's, 80% of RAM)")
	fs.StringVar(&o.Dir, "dir", "", "scratch folder (default: a temporary folder, removed after)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("usage: atrium bench scores [--profiles N] [--orders N] [--incremental N] [--db-memory SIZE] [--dir DIR] [--json]")
	}
	if o.Profiles < 1 || o.Profiles > 100000000 || o.Orders < o.Profiles || o.Orders > 1000000000 || o.Incremental < 1 || o.Incremental > 10000 {
		return usagef("--profiles must be 1…100000000, --orders at least --profiles (at most 1000000000), --incremental 1…10000")
	}
	if o.DBMemory != "" && !duckdb.ValidSize(o.DBMemory) {
		return usagef("--db-memory %q: want a size such as 4GB", o.DBMemory)
	}
	if !c.json {
		o.Progress = e.stderr
	}
	r, err := bench.Scores(ctx, o)
	if err != nil {
		return err
	}
	if c.json {
		b, err := bench.MarshalScores(r)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(b))
		return nil
	}
	bench.PrintScores(e.stdout, r)
	return nil
}
