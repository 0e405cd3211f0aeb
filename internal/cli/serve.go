package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

func runServe(ctx context.Context, e *env, args []string) error {
	var c common
	fs := c.flags("serve", e)
	addr := envOr("ATRIUM_ADDR", "127.0.0.1:8080")
	fs.StringVar(&addr, "addr", addr, "listen address HOST:PORT (env ATRIUM_ADDR)")
	maxBatch, _ := strconv.Atoi(envOr("ATRIUM_MAX_BATCH", "10000"))
	fs.IntVar(&maxBatch, "max-batch", maxBatch, "messages per ingest transaction (env ATRIUM_MAX_BATCH)")
	dbMemory := envOr("ATRIUM_DB_MEMORY", DefaultDBMemory)
	fs.StringVar(&dbMemory, "db-memory", dbMemory, "DuckDB memory limit, e.g. 512MB or 2GB (env ATRIUM_DB_MEMORY)")
	logLevel := envOr("ATRIUM_LOG_LEVEL", "info")
	fs.StringVar(&logLevel, "log-level", logLevel, "debug, info, warn or error (env ATRIUM_LOG_LEVEL)")
	scoresEvery := envOr("ATRIUM_SCORES_EVERY", "1h")
	fs.StringVar(&scoresEvery, "scores-every", scoresEvery, "run every scores step (as 'atrium scores run') this often, e.g. 30m or 24h; 0 disables (env ATRIUM_SCORES_EVERY)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	every, err := time.ParseDuration(scoresEvery)
	if err != nil || every < 0 || (every > 0 && every < time.Minute) {
		return usagef("--scores-every %q: give 0 (off) or a period of at least 1m, such as 30m, 1h or 24h", scoresEvery)
	}
	if !duckdb.ValidSize(dbMemory) {
		return usagef("--db-memory %q: give a size such as 512MB or 2GB", dbMemory)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
		return usagef("--log-level: %q is not one of debug, info, warn, error", logLevel)
	}
	logger := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: lvl}))
	cfg := app.Config{DataDir: c.data, Addr: addr, MaxBatch: maxBatch, DBMemory: dbMemory, Logger: logger}
	cfg.ScoreSteps, cfg.ScoresEvery = ScoreSteps(), every // scores_run.go
	return app.Serve(ctx, cfg, func(cr app.Credentials) {
		// The first start of an empty workspace shows its credentials once.
		fmt.Fprintf(e.stdout, "New workspace in %s\n  write key: %s\n  API token: %s (secret, shown once)\n", c.data, cr.WriteKey, cr.APIToken)
	})
}

// DefaultDBMemory bounds DuckDB's buffer pool so that Atrium shares a small
// server politely (DuckDB alone would take 80% of the machine's memory).
const DefaultDBMemory = "1GB"

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
