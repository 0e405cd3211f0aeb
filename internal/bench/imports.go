package bench

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/imports"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// ImportOptions size the import benchmark.
type ImportOptions struct {
	Contacts int    // rows of the generated contacts CSV
	Lines    int    // lines of the generated orders CSV (4 lines per order)
	Dir      string // scratch folder ("" = temporary, removed after)
	DBMemory string // DuckDB memory limit of the workspace
	Progress io.Writer
}

// ImportPhase is one file imported and its baseline.
type ImportPhase struct {
	File         string  `json:"file"`
	Rows         int     `json:"rows"`
	Bytes        int64   `json:"bytes"`
	Seconds      float64 `json:"seconds"`
	RowsPerSec   float64 `json:"rows_per_sec"`
	Created      int     `json:"created"`
	Rejected     int     `json:"rejected"`
	DuckDBSecs   float64 `json:"duckdb_read_csv_seconds"`
	DuckDBPerSec float64 `json:"duckdb_read_csv_rows_per_sec"`
	Ratio        float64 `json:"ratio_to_duckdb"`
}

// ImportResult is what `atrium bench import` reports.
type ImportResult struct {
	Machine   Machine     `json:"machine"`
	Contacts  ImportPhase `json:"contacts"`
	Orders    ImportPhase `json:"order_lines"`
	PeakRSSMB float64     `json:"peak_rss_mb"`
}

// Import generates the two files, imports them into a fresh workspace and
// reads each with DuckDB's read_csv into a plain table for the baseline.
func Import(ctx context.Context, o ImportOptions) (ImportResult, error) {
	r := ImportResult{Machine: ThisMachine()}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "atrium-bench-import-")
		if err != nil {
			return r, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	say := func(f string, a ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, f+"\n", a...)
		}
	}
	contacts, orders := filepath.Join(dir, "contacts.csv"), filepath.Join(dir, "orders.csv")
	say("generating %d contacts and %d order lines in %s", o.Contacts, o.Lines, dir)
	if err := genContacts(contacts, o.Contacts); err != nil {
		return r, err
	}
	if err := genOrders(orders, o.Lines, o.Contacts); err != nil {
		return r, err
	}
	wsDir := filepath.Join(dir, "ws")
	st, err := duckdb.OpenWith(ctx, wsDir, duckdb.Options{MemoryLimit: o.DBMemory})
	if err != nil {
		return r, err
	}
	defer st.Close()
	ws := app.NewWorkspace(st)
	if _, err := app.Initialize(ctx, st, ws); err != nil {
		return r, err
	}
	cfg, err := app.LoadIdentityConfig(ctx, st)
	if err != nil {
		return r, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The same writer options as the server: keys and normalised fields are
	// part of what an import costs.
	w := ingest.New(st, cfg, app.WriterOptions(cfg, quiet))
	if err := w.Load(ctx); err != nil {
		return r, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	defer func() { w.Stop(); cancel(); <-done }()
	jobs := app.NewImportJobs(st, ws, w, quiet)
	run := func(kind, file string, ph *ImportPhase) error {
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		say("importing %s (%d MB)", filepath.Base(file), len(data)>>20)
		start := time.Now()
		rep, err := jobs.Run(ctx, imports.Request{Kind: kind, SourceName: "bench", FileName: filepath.Base(file)}, data, nil)
		if err != nil {
			return err
		}
		ph.File, ph.Bytes, ph.Seconds = filepath.Base(file), int64(len(data)), time.Since(start).Seconds()
		ph.Rows, ph.Created, ph.Rejected = rep.RowsRead, rep.Created, rep.Rejected
		ph.RowsPerSec = float64(ph.Rows) / ph.Seconds
		return nil
	}
	if err := run(imports.KindContacts, contacts, &r.Contacts); err != nil {
		return r, err
	}
	if err := run(imports.KindOrders, orders, &r.Orders); err != nil {
		return r, err
	}
	r.PeakRSSMB = PeakRSSMB()
	for _, ph := range []*ImportPhase{&r.Contacts, &r.Orders} {
		secs, err := readCSVBaseline(ctx, filepath.Join(dir, "baseline"), filepath.Join(dir, ph.File))
		if err != nil {
			return r, err
		}
		ph.DuckDBSecs, ph.DuckDBPerSec = secs, float64(ph.Rows)/secs
		ph.Ratio = ph.RowsPerSec / ph.DuckDBPerSec
	}
	return r, nil
}

// readCSVBaseline times DuckDB's own read_csv of a file into a plain table.
func readCSVBaseline(ctx context.Context, dir, file string) (float64, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, err
	}
	db, err := sql.Open("duckdb", filepath.Join(dir, "baseline.duckdb"))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	_, _ = db.ExecContext(ctx, `DROP TABLE IF EXISTS t`)
	start := time.Now()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t AS SELECT * FROM read_csv(?)`, file); err != nil {
		return 0, fmt.Errorf("baseline read_csv: %w", err)
	}
	if _, err := db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		return 0, err
	}
	return time.Since(start).Seconds(), nil
}

var firstNames = []string{"Jean", "Marie", "Hélène", "Léa", "Chloé", "Noé", "François", "Zoé", "Inès", "Loïc", "Anaïs", "Gaëlle"}
var lastNames = []string{"Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Lefèvre", "Garçon"}
var cities = []string{"Lyon", "Paris", "Marseille", "Toulouse", "Nantes", "Lille", "Rennes", "Saint-Étienne"}

// genContacts writes a French CRM export: semicolons, day-first dates, phones
// typed with spaces, e-mails with stray spaces and capitals.
func genContacts(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "id_client;civilite;prenom;nom;email;telephone;adresse;code_postal;ville;date_naissance")
	for i := 0; i < n; i++ {
		fn, ln := firstNames[i%len(firstNames)], lastNames[(i/7)%len(lastNames)]
		civ := "M."
		if i%2 == 1 {
			civ = "Mme"
		}
		fmt.Fprintf(w, "C%07d;%s;%s;%s; %s.%s%d@Example.fr ;06 %02d %02d %02d %02d;%d rue de la Paix;%05d;%s;%02d/%02d/%d\n",
			i, civ, fn, ln, fn, ln, i, i/1000000%100, i/10000%100, i/100%100, i%100, i%200+1, 1000+i%95000, cities[i%len(cities)],
			i%28+1, i%12+1, 1940+i%60)
	}
	return w.Flush()
}

// genOrders writes an e-shop orders export: 4 lines per order, decimal commas.
func genOrders(path string, lines, customers int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "commande;date_commande;id_client;statut;sku;libelle;quantite;prix_unitaire")
	for i := 0; i < lines; i++ {
		o := i / 4
		st := "payée"
		if o%50 == 0 {
			st = "annulée"
		}
		cust := "C" + fmt.Sprintf("%07d", o%max(customers, 1))
		if o%20 == 0 {
			cust = "" // guest
		}
		fmt.Fprintf(w, "%d;%02d/%02d/2024 %02d:%02d;%s;%s;SKU%d;Article %d;%d;%s\n", 100000+o, o%28+1, o%12+1, o%24, o%60, cust, st,
			i%997, i%997, i%5+1, strconv.Itoa(i%50+1)+","+fmt.Sprintf("%02d", i%100))
	}
	return w.Flush()
}

// PrintImport writes the figures as a small table.
func PrintImport(w io.Writer, r ImportResult) {
	fmt.Fprintf(w, "machine: %d CPUs, %d MB, %s/%s, %s\n", r.Machine.CPUs, r.Machine.MemoryMB, r.Machine.GoOS, r.Machine.GoArch, r.Machine.Go)
	fmt.Fprintf(w, "%-12s %10s %10s %12s %14s %8s\n", "file", "rows", "seconds", "rows/s", "duckdb rows/s", "ratio")
	for _, ph := range []ImportPhase{r.Contacts, r.Orders} {
		fmt.Fprintf(w, "%-12s %10d %10.2f %12.0f %14.0f %8.3f\n", ph.File, ph.Rows, ph.Seconds, ph.RowsPerSec, ph.DuckDBPerSec, ph.Ratio)
	}
	fmt.Fprintf(w, "peak RSS: %.0f MB\n", r.PeakRSSMB)
}

// MarshalImport renders the result as JSON.
func MarshalImport(r ImportResult) ([]byte, error) { return json.MarshalIndent(r, "", "  ") }
