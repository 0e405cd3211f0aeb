package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/imports"
	"github.com/atrium-cdp/atrium/internal/ingest"
)

const importUsage = "usage: atrium import <contacts|orders|order_items|products|consents|events> FILE [--source NAME] [--mapping FILE.yaml] " +
	"[--format csv|xlsx|jsonl] [--sheet NAME] [--encoding ENC] [--delimiter D] [--date-format DD/MM/YYYY] [--dry-run] [--print-mapping] [--json]"

// runImport imports a file: through the running server's API when one holds
// the workspace, else by opening the workspace itself. It exits non-zero when
// the import failed or rejected rows (the other rows are imported).
func runImport(ctx context.Context, e *env, args []string) error {
	var c common
	fs := c.flags("import", e)
	var req imports.Request
	var mappingFile string
	var printMapping bool
	fs.StringVar(&req.SourceName, "source", "", "source the rows come from (created if new; default import, shared by every kind)")
	fs.StringVar(&mappingFile, "mapping", "", "YAML mapping of columns to fields (default: inferred from the header)")
	fs.StringVar(&req.Read.Format, "format", "", "csv, xlsx or jsonl (default: from the file)")
	fs.StringVar(&req.Read.Sheet, "sheet", "", "XLSX sheet (default: the first)")
	fs.StringVar(&req.Read.Encoding, "encoding", "", "utf-8, utf-16le, utf-16be, windows-1252 or iso-8859-15 (default: detected)")
	fs.StringVar(&req.Read.Delimiter, "delimiter", "", "CSV delimiter (default: sniffed among , ; tab |)")
	fs.BoolVar(&req.Read.NoHeader, "no-header", false, "the first row is data")
	fs.StringVar(&req.DateFormat, "date-format", "", "order of day/month dates: DD/MM/YYYY or MM/DD/YYYY (default: inferred per column)")
	fs.BoolVar(&req.DryRun, "dry-run", false, "read, map and check every row; write nothing")
	fs.BoolVar(&printMapping, "print-mapping", false, "print the mapping (inferred or given) as YAML and stop")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("%s", importUsage)
	}
	req.Kind = pos[0]
	if err := checkImportFlags(req); err != nil {
		return err
	}
	data, err := os.ReadFile(pos[1])
	if err != nil {
		return err
	}
	req.FileName = filepath.Base(pos[1])
	var mappingText []byte
	if mappingFile != "" {
		if mappingText, err = os.ReadFile(mappingFile); err != nil {
			return err
		}
		if req.Mapping, err = imports.ParseMapping(mappingText); err != nil {
			return usagef("%s", err)
		}
	}
	if printMapping {
		t, m, err := imports.Prepare(data, req)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "# %s, %s, %d rows, columns: %s\n", t.Format, t.Encoding, len(t.Rows), strings.Join(t.Header, ", "))
		fmt.Fprint(e.stdout, m.YAML())
		return nil
	}
	t, err := open(ctx, e, c.data)
	if err != nil {
		return err
	}
	defer t.Close()
	bar := newProgress(e.stderr)
	var rep imports.Report
	if t.server != nil {
		rep, err = uploadImport(ctx, t.server, req, data, mappingText, bar.show)
	} else {
		err = t.withWriter(ctx, func(w *ingest.Writer) error {
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			jobs := app.NewImportJobs(t.db, app.NewWorkspace(t.db), w, log)
			var rerr error
			rep, rerr = jobs.Run(ctx, req, data, bar.show)
			return rerr
		})
	}
	bar.done()
	if rep.ID != "" || rep.Kind != "" {
		if c.json {
			if perr := printJSON(e.stdout, rep); perr != nil {
				return perr
			}
		} else {
			printImportReport(e.stdout, rep)
		}
	}
	if err != nil {
		return err
	}
	if rep.Status == "failed" {
		return fmt.Errorf("import failed: %s", rep.Error)
	}
	if rep.Rejected > 0 {
		if rep.DryRun {
			return fmt.Errorf("%d rows would be rejected (listed in the report); nothing was written (dry run)", rep.Rejected)
		}
		return fmt.Errorf("%d rows rejected (listed in the report); the other rows were imported", rep.Rejected)
	}
	return nil
}

// uploadImport sends the file to the running server and follows the job.
func uploadImport(ctx context.Context, c *apiClient, req imports.Request, data, mapping []byte, progress func(imports.Report)) (imports.Report, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"kind": req.Kind, "source": req.SourceName, "format": req.Read.Format, "sheet": req.Read.Sheet,
		"encoding": req.Read.Encoding, "delimiter": req.Read.Delimiter, "date_format": req.DateFormat,
		"dry_run": strconv.FormatBool(req.DryRun), "no_header": strconv.FormatBool(req.Read.NoHeader)} {
		if v != "" {
			_ = mw.WriteField(k, v)
		}
	}
	if mapping != nil {
		_ = mw.WriteField("mapping", string(mapping))
	}
	fw, _ := mw.CreateFormFile("file", req.FileName)
	_, _ = fw.Write(data)
	_ = mw.Close()
	hreq, err := http.NewRequestWithContext(ctx, "POST", c.base+"/api/v1/imports", &body)
	if err != nil {
		return imports.Report{}, err
	}
	hreq.Header.Set("Authorization", "Bearer "+c.token)
	hreq.Header.Set("Content-Type", mw.FormDataContentType())
	hc := *c.hc
	hc.Timeout = 0 // large uploads
	resp, err := hc.Do(hreq)
	if err != nil {
		return imports.Report{}, fmt.Errorf("server unreachable: %w", err)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return imports.Report{}, fmt.Errorf("%s (%s)", e.Error.Message, e.Error.Code)
		}
		return imports.Report{}, fmt.Errorf("server answered %s", resp.Status)
	}
	var started struct{ ID string }
	if err := json.Unmarshal(b, &started); err != nil {
		return imports.Report{}, err
	}
	for {
		var rep imports.Report
		if err := c.do(ctx, "GET", "/api/v1/imports/"+started.ID, nil, nil, &rep); err != nil {
			return rep, err
		}
		if rep.Status != "running" {
			return rep, nil
		}
		progress(rep)
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// progress draws a one-line progress bar on a terminal stream.
type progress struct {
	w     io.Writer
	drawn bool
	last  time.Time
}

func newProgress(w io.Writer) *progress { return &progress{w: w} }

func (p *progress) show(r imports.Report) {
	if time.Since(p.last) < 200*time.Millisecond || r.RowsRead == 0 {
		return
	}
	p.last = time.Now()
	frac := float64(r.Processed) / float64(r.RowsRead)
	frac = min(max(frac, 0), 1)
	n := int(frac * 30)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%%  %d/%d rows  %.0f rows/s ", strings.Repeat("#", n), strings.Repeat(".", 30-n), frac*100,
		r.Processed, r.RowsRead, r.RowsPerSec)
	p.drawn = true
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// checkImportFlags refuses a mistaken command line before any file is read
// (exit code 2).
func checkImportFlags(req imports.Request) error {
	if !slices.Contains(imports.Kinds, req.Kind) {
		return usagef("unknown kind %q (want one of %s)", req.Kind, strings.Join(imports.Kinds, ", "))
	}
	switch strings.ToLower(req.Read.Format) {
	case "", "csv", "tsv", "txt", "xlsx", "jsonl", "ndjson", "json":
	default:
		return usagef("--format %q: want csv, xlsx or jsonl", req.Read.Format)
	}
	if _, _, err := imports.Decode(nil, req.Read.Encoding); err != nil {
		return usagef("--encoding: %s", err)
	}
	if _, err := imports.ParseDateOrder(req.DateFormat); err != nil {
		return usagef("--date-format: %s", err)
	}
	if d := req.Read.Delimiter; d != "" && d != `\t` && !strings.EqualFold(d, "tab") && utf8.RuneCountInString(d) != 1 {
		return usagef("--delimiter %q: give one character (or tab)", d)
	}
	return nil
}

func printImportReport(w io.Writer, r imports.Report) {
	fmt.Fprintf(w, "import %s  %s from %s into source %q: %s\n", r.ID, r.Kind, r.File, r.Source, r.Status)
	enc := r.Format + ", " + r.Encoding
	if r.Delimiter != "" {
		enc += ", delimiter " + strconv.Quote(r.Delimiter)
	}
	if r.Sheet != "" {
		enc += ", sheet " + r.Sheet
	}
	if r.Format != "" {
		fmt.Fprintf(w, "  read as      %s\n", enc)
	}
	for col, o := range r.DateOrders {
		fmt.Fprintf(w, "  dates        %s: %s\n", col, o)
	}
	if r.DryRun {
		fmt.Fprintln(w, "  dry run      nothing was written")
	}
	fmt.Fprintf(w, "  rows read    %d\n  records      %d\n  created      %d\n  updated      %d\n  unchanged    %d\n  rejected     %d\n",
		r.RowsRead, r.Records, r.Created, r.Updated, r.Unchanged, r.Rejected)
	if r.Kind == imports.KindOrders || r.Kind == imports.KindOrderItems {
		fmt.Fprintf(w, "  lines        %d\n  customers    %d\n  guest orders %d\n  revenue      %.2f (cancelled and refunded orders excluded)\n",
			r.Lines, r.Customers, r.GuestOrders, r.Revenue)
	}
	if r.RowsPerSec > 0 {
		fmt.Fprintf(w, "  speed        %.0f rows/s\n", r.RowsPerSec)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error        %s\n", r.Error)
	}
	if len(r.Rejects) > 0 {
		fmt.Fprintf(w, "\n  %-6s %-20s %-20s %s\n", "ROW", "COLUMN", "VALUE", "REASON")
		for _, x := range r.Rejects {
			fmt.Fprintf(w, "  %-6d %-20s %-20s %s\n", x.Row, x.Column, x.Value, x.Reason)
		}
		if r.Truncated > 0 {
			fmt.Fprintf(w, "  ... and %d more (see --json)\n", r.Truncated)
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(w, "\n  warnings (rows imported):\n")
		for _, x := range r.Warnings {
			fmt.Fprintf(w, "  row %d %s: %s\n", x.Row, x.Column, x.Reason)
		}
	}
}
