// Package demo builds a demonstration workspace from real public data
// bundled in the binary (data/README.md cites each file): the French
// contacts and consents of an e-shop whose orders are the UCI Online Retail
// sample, the CDNOW purchase log, and FEBRL person records with their
// duplicates. It runs the whole pipeline on them — import, quality, identity
// and deduplication, scores, starter segments — through the same services
// the server and the CLI use, so what the demo shows is what Atrium does.
//
// Invariant: Build only ever writes into a new, empty workspace folder; it
// never touches an existing workspace.
package demo

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/dedupe"
	"github.com/atrium-cdp/atrium/internal/imports"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/segments"
	"github.com/atrium-cdp/atrium/internal/segments/rule"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

//go:embed data/*.csv data/*.yaml
var files embed.FS

// AsOf is the instant the demo's scores are computed at: the day after the
// last invoice of the Online Retail sample (2011-12-09), so recency, RFM and
// churn read as they would have on that day rather than fifteen years on.
var AsOf = time.Date(2011, 12, 10, 0, 0, 0, 0, time.UTC)

// An input is one bundled file and how it is imported.
type input struct {
	kind, file, source, mapping string
}

// inputs are imported in this order: contacts before the orders and
// consents that attach to them.
var inputs = []input{
	{"contacts", "contacts_fr.csv", "eshop", ""},
	{"consents", "consents_fr.csv", "eshop", ""},
	{"orders", "online_retail_sample_20k.csv", "eshop", ""},
	{"orders", "cdnow_sample.csv", "cdnow", "cdnow.mapping.yaml"},
	{"contacts", "febrl3.csv", "crm", "febrl.mapping.yaml"},
}

// Step is what one stage of the pipeline did.
type Step struct {
	Name    string  `json:"name"`
	Detail  string  `json:"detail"`
	Seconds float64 `json:"seconds"`
}

// Summary is what Build did and what a user needs to look at the result.
type Summary struct {
	Dir         string           `json:"dir"`
	Credentials app.Credentials  `json:"credentials"`
	AsOf        time.Time        `json:"as_of"`
	Steps       []Step           `json:"steps"`
	Imports     []imports.Report `json:"imports"`
	Dedupe      *dedupe.Report   `json:"dedupe"`
	Segments    []SegmentSize    `json:"segments"`
}

// CredentialsFile holds the demo workspace's write key and API token in
// clear, so that a later `atrium demo` can print them again. Only the demo
// does this; a real workspace shows its token once.
const CredentialsFile = "demo-credentials.json"

// ErrNotEmpty is returned when the target folder already holds a workspace.
var ErrNotEmpty = errors.New("the folder already holds a workspace")

// Options are the services Build runs that live outside this package.
type Options struct {
	// ScoreSteps are the steps of "atrium scores run" (package cli owns the
	// list); nil runs the built-in indicators only.
	ScoreSteps []app.ScoreStep
}

// StarterSegment is one segment the demo creates.
type StarterSegment struct {
	Name, Description, Rule string
}

// StarterSegments are the segments the demo creates: the RFM cells, lapsed
// buyers, high churn risk with e-mail consent and recent big spenders. They
// use scores computed as of AsOf and dated windows rather than "in last N
// days", so their members do not change as the real clock moves on.
func StarterSegments() []StarterSegment {
	var out []StarterSegment
	for _, cell := range rule.RFMCells {
		out = append(out, StarterSegment{"RFM - " + cell, "customers in the " + cell + " cell of the RFM grid (docs/scores.md)",
			fmt.Sprintf("rfm = %q", cell)})
	}
	return append(out,
		StarterSegment{"Lapsed buyers", "bought at least twice, nothing in the 90 days before 2011-12-10",
			"score.order_count >= 2 and score.recency_days > 90"},
		StarterSegment{"High churn risk with e-mail consent", "repeat buyers the BG/NBD model thinks are probably gone, who can be e-mailed",
			"score.churn_risk >= 0.7 and consent email_marketing"},
		StarterSegment{"Recent big spenders", "£300 or more of orders from 2011-09-10 to the end of the data (cancellations excluded)",
			"order revenue >= 300 since 2011-09-10"},
	)
}

// Build creates the demo workspace in dir (which must not hold a workspace
// yet) and runs the pipeline. progress, when not nil, receives one line per
// finished step. On failure the half-built workspace is removed.
func Build(ctx context.Context, dir string, progress io.Writer, opt Options) (sum Summary, err error) {
	if duckdb.Exists(dir) {
		return Summary{}, fmt.Errorf("%s: %w", dir, ErrNotEmpty)
	}
	if progress == nil {
		progress = io.Discard
	}
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, os.ErrNotExist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Summary{}, fmt.Errorf("demo folder: %w", err)
	}
	db, err := duckdb.Open(ctx, dir)
	if err != nil {
		return Summary{}, err
	}
	defer func() {
		db.Close()
		if err != nil { // leave nothing half-built behind
			if created {
				_ = os.RemoveAll(dir)
			} else {
				for _, f := range []string{CredentialsFile, duckdb.FileName, duckdb.FileName + ".wal"} {
					_ = os.Remove(filepath.Join(dir, f))
				}
			}
		}
	}()
	sum = Summary{Dir: dir, AsOf: AsOf}
	run := func(name string, fn func() (string, error)) error {
		start := time.Now()
		detail, err := fn()
		if err != nil {
			return fmt.Errorf("demo step %s: %w", name, err)
		}
		s := Step{Name: name, Detail: detail, Seconds: time.Since(start).Seconds()}
		sum.Steps = append(sum.Steps, s)
		fmt.Fprintf(progress, "  %-10s %s (%.1f s)\n", s.Name, s.Detail, s.Seconds)
		return nil
	}
	if err = run("workspace", func() (string, error) {
		ws := app.NewWorkspace(db)
		c, err := app.Initialize(ctx, db, ws)
		if err != nil {
			return "", err
		}
		sum.Credentials = c
		return "created, with a write key and an admin API token", writeCredentials(dir, c)
	}); err != nil {
		return sum, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	err = app.RunWriter(ctx, db, log, func(w *ingest.Writer) error {
		jobs := app.NewImportJobs(db, app.NewWorkspace(db), w, log)
		for _, in := range inputs {
			if err := run("import", func() (string, error) {
				rep, err := importFile(ctx, jobs, in)
				if err != nil {
					return "", err
				}
				sum.Imports = append(sum.Imports, rep)
				return describeImport(in, rep), nil
			}); err != nil {
				return err
			}
		}
		if err := run("quality", func() (string, error) { return qualitySummary(ctx, db) }); err != nil {
			return err
		}
		return run("dedupe", func() (string, error) {
			rep, err := dedupe.New(db, w, uuid.NewString, time.Now).Run(ctx, dedupe.RunOptions{Actor: "demo"})
			if err != nil {
				return "", err
			}
			sum.Dedupe = &rep
			return fmt.Sprintf("%d profiles, %d candidate pairs: %d merges made (each explained and undoable), %d pairs to review",
				rep.Profiles, rep.CandidatePairs, len(rep.Merges), len(rep.Reviews)), nil
		})
	})
	if err != nil {
		return sum, err
	}
	if err = run("scores", func() (string, error) {
		steps := opt.ScoreSteps
		if steps == nil {
			steps = []app.ScoreStep{{Name: "indicators", Run: func(ctx context.Context, env app.ScoreEnv) (any, error) {
				return env.DB.RefreshIndicators(ctx, env.AsOf)
			}}}
		}
		if _, err := app.RunScoreSteps(ctx, steps, app.ScoreEnv{DB: db, AsOf: AsOf}, nil); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s as of %s", strings.Join(app.StepNames(steps), ", "), AsOf.Format(time.DateOnly)), nil
	}); err != nil {
		return sum, err
	}
	if err = run("segments", func() (string, error) {
		svc := segments.New(db, segments.Options{Logger: log})
		for _, st := range StarterSegments() {
			if _, err := svc.Create(ctx, segments.Input{Name: st.Name, Description: &st.Description, Rule: st.Rule}); err != nil {
				return "", fmt.Errorf("segment %q: %w", st.Name, err)
			}
		}
		res, err := svc.Refresh(ctx, segments.RefreshOptions{All: true})
		if err != nil {
			return "", err
		}
		var parts []string
		for _, c := range res.Segments {
			if c.Error != "" {
				return "", fmt.Errorf("segment %q: %s", c.Name, c.Error)
			}
			sum.Segments = append(sum.Segments, SegmentSize{Name: c.Name, Size: c.Size})
			parts = append(parts, fmt.Sprintf("%s %d", c.Name, c.Size))
		}
		return fmt.Sprintf("%d starter segments: %s", len(res.Segments), strings.Join(parts, ", ")), nil
	}); err != nil {
		return sum, err
	}
	return sum, nil
}

// SegmentSize is a starter segment's member count after the build.
type SegmentSize struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
}

func importFile(ctx context.Context, jobs *imports.Jobs, in input) (imports.Report, error) {
	data, err := files.ReadFile("data/" + in.file)
	if err != nil {
		return imports.Report{}, err
	}
	req := imports.Request{Kind: in.kind, SourceName: in.source, FileName: in.file}
	if in.mapping != "" {
		text, err := files.ReadFile("data/" + in.mapping)
		if err != nil {
			return imports.Report{}, err
		}
		if req.Mapping, err = imports.ParseMapping(text); err != nil {
			return imports.Report{}, fmt.Errorf("%s: %w", in.mapping, err)
		}
	}
	rep, err := jobs.Run(ctx, req, data, nil)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", in.file, err)
	}
	if rep.Status == "failed" {
		return rep, fmt.Errorf("%s: %s", in.file, rep.Error)
	}
	return rep, nil
}

func describeImport(in input, rep imports.Report) string {
	s := fmt.Sprintf("%-28s %-8s → source %-6s %6d rows, %d records", in.file, in.kind, in.source, rep.RowsRead, rep.Records)
	if in.kind == "orders" {
		s += fmt.Sprintf(", %d customers, revenue %.2f", rep.Customers, rep.Revenue)
	}
	if rep.Rejected > 0 {
		s += fmt.Sprintf(", %d rejected (see the import report)", rep.Rejected)
	}
	return s
}

func writeCredentials(dir string, c app.Credentials) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, CredentialsFile), append(b, '\n'), 0o600)
}

// ReadCredentials returns the credentials Build saved in dir.
func ReadCredentials(dir string) (app.Credentials, error) {
	var c app.Credentials
	b, err := os.ReadFile(filepath.Join(dir, CredentialsFile))
	if err != nil {
		return c, fmt.Errorf("demo credentials: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("demo credentials %s: %w", filepath.Join(dir, CredentialsFile), err)
	}
	return c, nil
}

// qualitySummary counts, per contact field, the values normalisation found
// valid or could correct, out of the profiles that have the field.
func qualitySummary(ctx context.Context, db *duckdb.DB) (string, error) {
	rep, err := db.QualityReport(ctx, 3)
	if err != nil {
		return "", err
	}
	var parts []string
	for _, f := range rep {
		if f.Total == 0 {
			continue
		}
		ok := f.Statuses["valid"] + f.Statuses["corrected"]
		parts = append(parts, fmt.Sprintf("%s %d/%d", f.Field, ok, f.Total))
	}
	return "valid or corrected: " + strings.Join(parts, ", "), nil
}
