package dedupe_test

import (
	"github.com/atrium-cdp/atrium/internal/dedupe"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// The workspace's engine and writer are what the service runs on.
var (
	_ dedupe.Store  = (*duckdb.DB)(nil)
	_ dedupe.Merger = (*ingest.Writer)(nil)
)
