package cli

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/atrium-cdp/atrium/internal/identity/match"
)

// runDedupe dispatches "atrium dedupe [--dry-run]" (a run over the
// workspace's live profiles) and "atrium dedupe <sub>".
func runDedupe(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return dedupeRun(ctx, e, args)
	}
	return sub(ctx, e, "dedupe", args, map[string]func(context.Context, *env, []string) error{
		"run":          dedupeRun,
		"review":       dedupeReview,
		"golden":       dedupeGolden,
		"survivorship": dedupeSurvivorship,
		"evaluate":     dedupeEvaluate,
	})
}

// dedupeEvaluate runs the default matching configuration on a labelled CSV
// (the entity column is hidden from the matcher) and prints pairwise
// precision, recall and F1.
func dedupeEvaluate(ctx context.Context, e *env, args []string) error {
	var c common
	fs := c.flags("dedupe evaluate", e)
	var m match.Mapping
	var mappingFile string
	fs.StringVar(&m.Entity, "entity-column", "", "column holding the true entity (required)")
	fs.StringVar(&m.EntityRegex, "entity-regex", "", "derive the entity from that column with this regular expression's first group (FEBRL: "+match.FEBRLEntityRegex+")")
	fs.StringVar(&mappingFile, "mapping", "", "YAML file mapping columns to match fields (default: guessed from the header)")
	direct := fs.Bool("direct", false, "read the file straight into the matcher instead of importing it into a scratch workspace")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || m.Entity == "" {
		return usagef("usage: atrium dedupe evaluate FILE.csv --entity-column COL [--entity-regex RE] [--mapping FILE.yaml] [--direct] [--json]")
	}
	if mappingFile != "" {
		raw, err := os.ReadFile(mappingFile)
		if err != nil {
			return err
		}
		mm, err := match.ParseMapping(raw)
		if err != nil {
			return err
		}
		mm.Entity, mm.EntityRegex = m.Entity, m.EntityRegex
		m = mm
	}
	if !*direct {
		res, err := evaluateInWorkspace(ctx, pos[0], m)
		if err != nil {
			return err
		}
		if c.json {
			return printJSON(e.stdout, res)
		}
		fmt.Fprintf(e.stdout, "rows %d (imported %d, rejected by the importer %d), profiles before matching %d, entities %d, candidate pairs %d\nprecision %.4f  recall %.4f  F1 %.4f  (import %.1f s, match %.1f s, total %.1f s)\nimported rows only: precision %.4f  recall %.4f  F1 %.4f\n",
			res.Records, res.RowsImported, res.RowsRejected, res.ProfilesBeforeMatching, res.Entities, res.CandidatePairs,
			res.Precision, res.Recall, res.F1, res.ImportSeconds, res.MatchSeconds, res.Seconds,
			res.ImportedRowsOnly.Precision, res.ImportedRowsOnly.Recall, res.ImportedRowsOnly.F1)
		return nil
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := match.EvaluateCSV(ctx, match.DefaultConfig(), f, m)
	if err != nil {
		return err
	}
	if c.json {
		return printJSON(e.stdout, res)
	}
	fmt.Fprintf(e.stdout, "records %d, entities %d, candidate pairs %d (blocking recall %.4f)\nprecision %.4f  recall %.4f  F1 %.4f  (%.1f s)\n",
		res.Records, res.Entities, res.CandidatePairs, res.BlockingRecall, res.Precision, res.Recall, res.F1, res.Seconds)
	return nil
}

// benchDedupe generates person records with realistic duplicates and
// reports the matching engine's speed.
func benchDedupe(ctx context.Context, e *env, args []string) error {
	var c common
	fs := c.flags("bench dedupe", e)
	n := fs.Int("n", 1000000, "records to generate")
	dup := fs.Float64("dup-rate", 0.25, "share of records that are duplicates")
	seed := fs.Int64("seed", 42, "generator seed")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *n < 2 || *dup < 0 || *dup >= 1 {
		return usagef("--n must be at least 2 and --dup-rate in [0, 1)")
	}
	rep, err := match.Bench(ctx, match.DefaultConfig(), *n, *dup, *seed)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, rep)
}
