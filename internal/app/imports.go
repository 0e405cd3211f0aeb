package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/atrium-cdp/atrium/internal/imports"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/workspace"
)

// NewImportJobs builds the file-import job runner over the store and the
// writer; sources named by an import are created (kind "file") on first use.
func NewImportJobs(st *duckdb.DB, ws *workspace.Service, w *ingest.Writer, log *slog.Logger) *imports.Jobs {
	imp := &imports.Importer{W: w, St: st, Now: time.Now}
	return imports.NewJobs(imp, st, ImportSource(ws), uuid.NewString, log)
}

// ImportSource returns the id of the source with a name, creating a "file"
// source when there is none.
func ImportSource(ws *workspace.Service) imports.SourceFunc {
	return func(ctx context.Context, name string) (string, error) {
		srcs, err := ws.Sources(ctx)
		if err != nil {
			return "", err
		}
		for _, s := range srcs {
			if s.Name == name || s.ID == name {
				return s.ID, nil
			}
		}
		s, err := ws.CreateSource(ctx, name, "file")
		if err != nil {
			return "", err
		}
		return s.ID, nil
	}
}
