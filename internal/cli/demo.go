package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/demo"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

const demoUsage = "usage: atrium demo [--data DIR] [--addr HOST:PORT] [--no-serve] [--rebuild] [--json]"

// runDemo builds the demo workspace from the bundled public data and serves
// it: "atrium demo". A folder that already holds the demo is served as it
// is (--rebuild builds it again); a folder holding any other workspace is
// refused, so the demo never touches real data.
func runDemo(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("atrium demo", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := fs.String("data", "./atrium-demo", "folder of the demo workspace (created)")
	addr := fs.String("addr", envOr("ATRIUM_ADDR", "127.0.0.1:8080"), "listen address HOST:PORT (env ATRIUM_ADDR)")
	noServe := fs.Bool("no-serve", false, "stop after building the workspace")
	rebuild := fs.Bool("rebuild", false, "delete the demo workspace in --data and build it again")
	asJSON := fs.Bool("json", false, "print the build summary as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("%s", demoUsage)
	}
	_, credErr := os.Stat(filepath.Join(*dir, demo.CredentialsFile))
	isDemo := credErr == nil
	if duckdb.Exists(*dir) && !isDemo {
		return fmt.Errorf("%s holds a workspace the demo did not build; give the demo its own folder with --data", *dir)
	}
	if *rebuild && isDemo {
		// A running demo server holds the file: deleting it under the server
		// would lose what the server accepts afterwards.
		db, err := duckdb.Open(ctx, *dir)
		if err != nil {
			if errors.Is(err, store.ErrLocked) {
				return fmt.Errorf("%s is in use by another atrium process (a demo server?): stop it before --rebuild", *dir)
			}
			return fmt.Errorf("rebuild: %w", err)
		}
		if err := db.Close(); err != nil {
			return fmt.Errorf("rebuild: %w", err)
		}
		for _, f := range []string{demo.CredentialsFile, duckdb.FileName, duckdb.FileName + ".wal"} {
			if err := os.Remove(filepath.Join(*dir, f)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("rebuild: %w", err)
			}
		}
		isDemo = false
	}
	if !isDemo {
		out := e.stdout
		if *asJSON {
			out = e.stderr
		}
		fmt.Fprintf(out, "Building the demo workspace in %s from the bundled public data:\n", *dir)
		sum, err := demo.Build(ctx, *dir, out, demo.Options{ScoreSteps: ScoreSteps()})
		if err != nil {
			return err
		}
		if *asJSON {
			if err := printJSON(e.stdout, sum); err != nil {
				return err
			}
		}
	}
	cred, err := demo.ReadCredentials(*dir)
	if err != nil {
		return err
	}
	if isDemo {
		fmt.Fprintf(e.stderr, "atrium: %s already holds the demo workspace (use --rebuild to build it again)\n", *dir)
		if *asJSON { // what a build would have said of where to look
			if err := printJSON(e.stdout, map[string]any{"dir": *dir, "credentials": cred}); err != nil {
				return err
			}
		}
	}
	// With --json, stdout carries only the JSON; the access details go to
	// stderr.
	access := e.stdout
	if *asJSON {
		access = e.stderr
	}
	if *noServe {
		printDemoAccess(access, *dir, "", cred)
		return nil
	}
	// Warnings and errors only, so the access details stay readable. The
	// score steps are there for "atrium scores run" and the API, but not on
	// a schedule: the demo's scores are as of AsOf, not as of today.
	logger := slog.New(slog.NewJSONHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := app.Config{DataDir: *dir, Addr: *addr, DBMemory: DefaultDBMemory, Logger: logger,
		ScoreSteps: ScoreSteps(), ScoresEvery: 0,
		Ready: func(a string) { printDemoAccess(access, *dir, a, cred) }}
	return app.Serve(ctx, cfg, nil)
}

// printDemoAccess tells where to look: the URL, the credentials and a few
// calls that work on the demo data as it is.
func printDemoAccess(w io.Writer, dir, addr string, c app.Credentials) {
	fmt.Fprintf(w, "\nDemo workspace: %s\n  write key: %s\n  API token: %s\n", dir, c.WriteKey, c.APIToken)
	if addr == "" {
		fmt.Fprintf(w, "\nServe it with: atrium demo --data %s\n", dir)
		return
	}
	base := "http://" + addr
	auth := fmt.Sprintf("curl -H 'Authorization: Bearer %s' ", c.APIToken)
	calls := []string{
		auth + "'" + base + "/api/v1/profiles/lookup?eshop_customer_id=12347'",
		auth + "'" + base + "/api/v1/segments'",
		auth + "'" + base + "/api/v1/segments/Lapsed%20buyers/members?limit=5'",
		auth + "'" + base + "/api/v1/segments/Recent%20big%20spenders/export?format=csv&purpose=email_marketing'",
		auth + "'" + base + "/api/v1/quality'",
		fmt.Sprintf("curl -u '%s:' -H 'Content-Type: application/json' -d '{\"type\":\"track\",\"event\":\"Product Viewed\",\"userId\":\"u-1\",\"properties\":{\"product_id\":\"85123A\"}}' %s/v1/track", c.WriteKey, base),
	}
	fmt.Fprintf(w, "\nServing on %s (Ctrl-C stops). Try:\n  %s\n", base, strings.Join(calls, "\n  "))
}
