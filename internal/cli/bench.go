package cli

import (
	"context"
	"fmt"

	"github.com/atrium-cdp/atrium/internal/bench"
)

func runBench(ctx context.Context, e *env, args []string) error {
	return sub(ctx, e, "bench", args, map[string]func(context.Context, *env, []string) error{
		"ingest":   benchIngest,
		"import":   benchImport,
		"quality":  benchQuality,
		"dedupe":   benchDedupe,
		"segments": benchSegments,
		"scores":   benchScores,
	})
}

func benchIngest(ctx context.Context, e *env, args []string) error {
	var c common
	fs := c.flags("bench ingest", e)
	o := bench.IngestOptions{}
	fs.IntVar(&o.Single, "single", 100000, "single /v1/track requests")
	fs.IntVar(&o.BatchEvents, "batch-events", 2000000, "events sent through /v1/batch (10000000 for the RSS check)")
	fs.IntVar(&o.BatchSize, "batch-size", 100, "messages per /v1/batch request")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "concurrent HTTP clients")
	fs.IntVar(&o.Users, "users", 20000, "distinct anonymous ids (visitors)")
	fs.IntVar(&o.AppenderRows, "appender-rows", 2000000, "rows for the raw DuckDB appender baseline")
	fs.StringVar(&o.DBMemory, "db-memory", DefaultDBMemory, "DuckDB memory limit for the server and the baseline")
	fs.StringVar(&o.Dir, "dir", "", "scratch folder (default: a temporary folder, removed after)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if o.Single < 0 || o.BatchEvents < 0 || o.BatchSize < 1 || o.BatchSize > 1000 || o.Concurrency < 1 || o.Concurrency > 4096 || o.Users < 1 || o.AppenderRows < 1 {
		return usagef("sizes must be positive (batch-size at most 1000, concurrency at most 4096)")
	}
	if !c.json {
		o.Progress = e.stderr
	}
	r, err := bench.Ingest(ctx, o)
	if err != nil {
		return err
	}
	if c.json {
		b, err := bench.MarshalIngest(r)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(b))
		return nil
	}
	bench.PrintIngest(e.stdout, r)
	return nil
}
