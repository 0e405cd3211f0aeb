package cli

import (
	"context"
	"fmt"

	"github.com/atrium-cdp/atrium/internal/bench"
)

func benchImport(ctx context.Context, e *env, args []string) error {
	var c common
	fs := c.flags("bench import", e)
	o := bench.ImportOptions{}
	fs.IntVar(&o.Contacts, "contacts", 1000000, "rows of the generated contacts CSV")
	fs.IntVar(&o.Lines, "lines", 1000000, "lines of the generated orders CSV")
	fs.StringVar(&o.DBMemory, "db-memory", "512MB", "DuckDB memory limit of the workspace")
	fs.StringVar(&o.Dir, "dir", "", "scratch folder (default: a temporary folder, removed after)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if o.Contacts < 1 || o.Lines < 1 {
		return usagef("sizes must be positive")
	}
	if !c.json {
		o.Progress = e.stderr
	}
	r, err := bench.Import(ctx, o)
	if err != nil {
		return err
	}
	if c.json {
		b, err := bench.MarshalImport(r)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(b))
		return nil
	}
	bench.PrintImport(e.stdout, r)
	return nil
}
