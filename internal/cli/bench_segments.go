package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/atrium-cdp/atrium/internal/bench"
)

func benchSegments(ctx context.Context, e *env, args []string) error {
	var c common
	fs := c.flags("bench segments", e)
	o := bench.SegmentsOptions{}
	fs.IntVar(&o.Profiles, "profiles", 1000000, "generated profiles")
	fs.IntVar(&o.Events, "events", 20000000, "generated events")
	fs.IntVar(&o.Orders, "orders", 0, "generated orders (default: 2 per profile)")
	fs.IntVar(&o.Latency, "latency", 200, "membership changes measured through the server")
	fs.IntVar(&o.Repeats, "repeats", 5, "timed runs of each query (the median is kept)")
	fs.DurationVar(&o.Interval, "interval", 30*time.Second, "the server's segment scheduler interval")
	fs.StringVar(&o.DBMemory, "db-memory", DefaultDBMemory, "DuckDB memory limit")
	fs.StringVar(&o.Dir, "dir", "", "scratch folder (default: a temporary folder, removed after)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if o.Profiles < 100 || o.Profiles > 100000000 || o.Events < 0 || o.Events > 2000000000 || o.Orders < 0 ||
		o.Latency < 1 || o.Latency > 100000 || o.Repeats < 1 || o.Repeats > 100 || o.Interval < time.Second {
		return usagef("--profiles 100..1e8, --events 0..2e9, --latency 1..100000, --repeats 1..100, --interval at least 1s")
	}
	if !c.json {
		o.Progress = e.stderr
	}
	r, err := bench.Segments(ctx, o)
	if err != nil {
		return err
	}
	if c.json {
		b, err := bench.MarshalSegments(r)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(b))
		return nil
	}
	bench.PrintSegments(e.stdout, r)
	return nil
}
