package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/dedupe"
	"github.com/atrium-cdp/atrium/internal/identity/match"
	"github.com/atrium-cdp/atrium/internal/imports"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// Evaluation through a workspace: the labelled file is imported as contacts
// into a scratch workspace (a temporary folder, removed afterwards), the
// same dedupe run as `atrium dedupe` merges its profiles, and each row's
// final profile is its predicted cluster. So the figures cover the whole
// path: the importer (which rejects rows it cannot take), the normalisers,
// identity resolution at ingest (rows sharing an e-mail or phone are one
// profile before matching starts) and the matcher.

// evalRowTrait carries the row number through the import: every row's
// identify event holds it, and events keep the profile they resolved to.
const evalRowTrait = "atrium_eval_row"

// importColumn is the contact column each matcher field is written to, so
// that the importer infers the mapping without guessing.
var importColumn = map[match.Field]string{
	match.FieldGivenName: "first_name", match.FieldSurname: "last_name", match.FieldFullName: "full_name",
	match.FieldBirthDate: "birthdate", match.FieldStreetNumber: "street_number", match.FieldLocality: "city",
	match.FieldPostalCode: "postal_code", match.FieldRegion: "region", match.FieldPhone: "phone", match.FieldEmail: "email",
	// A trait, not the importer's customer id: an identity would hide the
	// typos the external-id comparison weighs.
	match.FieldExternalID: "loyalty_number",
}

// workspaceEval is what `atrium dedupe evaluate` prints.
type workspaceEval struct {
	Path string `json:"path"` // "workspace"
	dedupe.PairMetrics
	// ImportedRowsOnly scores the rows the importer took, leaving out
	// the rows it rejected (and their true pairs).
	ImportedRowsOnly        dedupe.PairMetrics `json:"imported_rows_only"`
	RowsImported            int                `json:"rows_imported"`
	RowsRejected            int                `json:"rows_rejected"`
	ProfilesBeforeMatching  int                `json:"profiles_before_matching"`
	CandidatePairs          int64              `json:"candidate_pairs"`
	EstimatedBlockingRecall float64            `json:"estimated_blocking_recall"`
	Merges                  int                `json:"merges"`
	Reviews                 int                `json:"reviews"`
	ImportSeconds           float64            `json:"import_seconds"`
	MatchSeconds            float64            `json:"match_seconds"`
	Seconds                 float64            `json:"seconds"`
}

// evaluateInWorkspace runs the evaluation through a scratch workspace.
func evaluateInWorkspace(ctx context.Context, file string, m match.Mapping) (workspaceEval, error) {
	start := time.Now()
	out := workspaceEval{Path: "workspace"}
	raw, err := os.ReadFile(file)
	if err != nil {
		return out, err
	}
	contacts, truth, err := contactsFile(raw, m)
	if err != nil {
		return out, err
	}
	// An explicit mapping, one field per column as named: the importer's
	// inference would split a single name column into a guessed first and
	// last name (right for persons, wrong for an organisation's site name),
	// and the matcher compares a single name field by its words.
	header, _, _ := bytes.Cut(contacts, []byte("\n"))
	mapping := &imports.Mapping{Kind: imports.KindContacts}
	for _, col := range strings.Split(string(header), ",") {
		field := col
		if col == "customer_id" {
			field = "external_id"
		}
		mapping.Fields = append(mapping.Fields, imports.Field{Field: field, Column: col})
	}
	dir, err := os.MkdirTemp("", "atrium-evaluate-")
	if err != nil {
		return out, err
	}
	defer os.RemoveAll(dir)
	db, err := duckdb.Open(ctx, dir)
	if err != nil {
		return out, err
	}
	defer db.Close()
	ws := app.NewWorkspace(db)
	if _, err := app.Initialize(ctx, db, ws); err != nil {
		return out, err
	}
	idCfg, err := app.LoadIdentityConfig(ctx, db)
	if err != nil {
		return out, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := ingest.New(db, idCfg, app.WriterOptions(idCfg, log))
	if err := w.Load(ctx); err != nil {
		return out, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	defer func() {
		w.Stop()
		cancel()
		<-done
	}()

	t := time.Now()
	rep, err := app.NewImportJobs(db, ws, w, log).Run(ctx, imports.Request{Kind: imports.KindContacts, SourceName: "evaluate",
		FileName: "evaluate.csv", Mapping: mapping}, contacts, nil)
	if err != nil {
		return out, fmt.Errorf("import: %w", err)
	}
	out.RowsImported, out.RowsRejected = rep.RowsRead-rep.Rejected, rep.Rejected
	out.ImportSeconds = time.Since(t).Seconds()

	t = time.Now()
	run, err := dedupe.New(db, w, uuid.NewString, time.Now).Run(ctx, dedupe.RunOptions{Actor: "evaluate"})
	if err != nil {
		return out, err
	}
	out.MatchSeconds = time.Since(t).Seconds()
	out.ProfilesBeforeMatching, out.CandidatePairs, out.EstimatedBlockingRecall = run.Profiles, run.CandidatePairs, run.EstimatedBlockingRecall
	out.Merges, out.Reviews = len(run.Merges), len(run.Reviews)

	byRow, err := db.EventTraitProfiles(ctx, evalRowTrait)
	if err != nil {
		return out, err
	}
	links, err := db.MergeLinks(ctx)
	if err != nil {
		return out, err
	}
	predicted := make([]string, len(truth))
	for i := range truth {
		p, ok := byRow[strconv.Itoa(i+1)]
		if !ok {
			continue // rejected by the importer: a record the workspace does not have
		}
		for hops := 0; hops < 64; hops++ {
			next, merged := links[p]
			if !merged {
				break
			}
			p = next
		}
		predicted[i] = p
	}
	out.PairMetrics = dedupe.ScorePairs(predicted, truth)
	// The same over the rows the importer took: what the matching did with
	// the records the workspace has.
	var kp, kt []string
	for i := range truth {
		if predicted[i] != "" {
			kp, kt = append(kp, predicted[i]), append(kt, truth[i])
		}
	}
	out.ImportedRowsOnly = dedupe.ScorePairs(kp, kt)
	out.Seconds = time.Since(start).Seconds()
	return out, nil
}

// contactsFile rewrites a labelled CSV as a contacts file the importer
// reads without a mapping: the columns the matcher would use, renamed to
// contact fields; the entity column and record ids left out (the truth
// never reaches the workspace); a row number as customer id and as a trait.
// It returns the file and each row's true entity.
func contactsFile(raw []byte, m match.Mapping) ([]byte, []string, error) {
	var entityOf func(string) string
	if m.EntityRegex != "" {
		re, err := regexp.Compile(m.EntityRegex)
		if err != nil {
			return nil, nil, fmt.Errorf("entity regex: %w", err)
		}
		entityOf = func(v string) string {
			g := re.FindStringSubmatch(v)
			switch {
			case g == nil:
				return "" // its own entity
			case len(g) > 1:
				return g[1]
			}
			return g[0]
		}
	}
	br := bufio.NewReader(bytes.NewReader(raw))
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.TrimLeadingSpace, cr.LazyQuotes, cr.FieldsPerRecord = true, true, -1
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, errors.New("csv: no header")
		}
		return nil, nil, fmt.Errorf("csv header: %w", err)
	}
	header = append([]string(nil), header...)
	cols := m.Columns
	if len(cols) == 0 {
		cols = match.GuessMapping(header).Columns
	}
	norm := func(h string) string { return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) }
	byHeader := map[string]match.Field{}
	for c, f := range cols {
		byHeader[norm(c)] = f
	}
	entityCol := -1
	// Output columns: customer_id, row trait, then one per contact field in
	// first-seen order; several source columns of one field are joined.
	outCols := []string{"customer_id", evalRowTrait}
	fieldOf := make([]string, len(header))
	for i, h := range header {
		if m.Entity != "" && norm(h) == norm(m.Entity) {
			entityCol = i
			continue
		}
		f, ok := byHeader[norm(h)]
		if !ok {
			continue
		}
		name := importColumn[f]
		if f == match.FieldAddress {
			name = "address"
			for _, prev := range fieldOf {
				if prev == "address" {
					name = "address2"
				}
			}
		}
		fieldOf[i] = name
		if name != "" && !contains(outCols, name) {
			outCols = append(outCols, name)
		}
	}
	if m.Entity == "" || entityCol < 0 {
		return nil, nil, fmt.Errorf("csv: entity column %q not in header", m.Entity)
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write(outCols)
	var truth []string
	for row := 1; ; row++ {
		vals, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("csv row %d: %w", row, err)
		}
		rec := map[string]string{"customer_id": "row-" + strconv.Itoa(row), evalRowTrait: strconv.Itoa(row)}
		entity := ""
		for i, v := range vals {
			if i >= len(header) {
				break
			}
			v = strings.TrimSpace(v)
			if i == entityCol {
				entity = v
				if entityOf != nil {
					entity = entityOf(v)
				}
				continue
			}
			if name := fieldOf[i]; name != "" && v != "" {
				rec[name] = strings.TrimSpace(rec[name] + " " + v)
			}
		}
		line := make([]string, len(outCols))
		for j, c := range outCols {
			line[j] = rec[c]
		}
		_ = cw.Write(line)
		truth = append(truth, entity)
	}
	cw.Flush()
	return buf.Bytes(), truth, cw.Error()
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
