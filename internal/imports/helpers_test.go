package imports_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/imports"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// ws is a fresh workspace with a running writer and an import job runner.
type ws struct {
	t    *testing.T
	db   *duckdb.DB
	w    *ingest.Writer
	jobs *imports.Jobs
}

func newWS(t *testing.T) *ws {
	t.Helper()
	ctx := context.Background()
	db, err := duckdb.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := ingest.New(db, identity.DefaultConfig(), ingest.Options{NewID: uuid.NewString, Logger: quiet})
	if err := w.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = w.Run(runCtx); close(done) }()
	t.Cleanup(func() {
		w.Stop()
		cancel()
		<-done
		db.Close()
	})
	jobs := app.NewImportJobs(db, app.NewWorkspace(db), w, quiet)
	return &ws{t: t, db: db, w: w, jobs: jobs}
}

// run imports a file (a path under testdata, or bytes) and returns the report.
func (s *ws) run(kind, name string, data []byte, req imports.Request) imports.Report {
	s.t.Helper()
	if data == nil {
		var err error
		if data, err = os.ReadFile(filepath.Join("testdata", name)); err != nil {
			s.t.Fatal(err)
		}
	}
	req.Kind, req.FileName = kind, name
	if req.SourceName == "" {
		req.SourceName = "test"
	}
	rep, err := s.jobs.Run(context.Background(), req, data, nil)
	if err != nil {
		s.t.Fatalf("import %s %s: %v", kind, name, err)
	}
	return rep
}

func (s *ws) q(query string, args ...any) *sql.Row {
	return s.db.SQL().QueryRow(query, args...)
}

func (s *ws) int(query string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.q(query, args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (s *ws) float(query string, args ...any) float64 {
	s.t.Helper()
	var f sql.NullFloat64
	if err := s.q(query, args...).Scan(&f); err != nil {
		s.t.Fatalf("%s: %v", query, err)
	}
	return f.Float64
}

// oracle answers SQL straight on a CSV with a separate in-memory DuckDB, so
// expected figures never come from Atrium's own code.
func oracle(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func scalar[T any](t *testing.T, db *sql.DB, q string) T {
	t.Helper()
	var v T
	if err := db.QueryRow(q).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}
