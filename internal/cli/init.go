package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// runInit creates a workspace. On an existing one it changes nothing and
// says so (exit 1; with --json an object with an "error" field).
func runInit(ctx context.Context, e *env, args []string) error {
	var c common
	fs := c.flags("init", e)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	fail := func(err error) error {
		if c.json {
			_ = printJSON(e.stdout, map[string]string{"error": err.Error()})
		}
		return err
	}
	db, err := duckdb.Open(ctx, c.data)
	if errors.Is(err, store.ErrLocked) {
		return fail(fmt.Errorf("the workspace in %s is in use by a running server; it is already initialised and nothing was changed", c.data))
	}
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	creds, err := app.Initialize(ctx, db, app.NewWorkspace(db))
	if errors.Is(err, app.ErrInitialized) {
		return fail(fmt.Errorf("a workspace already exists in %s; nothing was changed (create more sources or tokens with 'atrium sources create' and 'atrium tokens create')", c.data))
	}
	if err != nil {
		return fail(err)
	}
	out := map[string]string{"data": c.data, "source_id": creds.SourceID, "write_key": creds.WriteKey,
		"api_token": creds.APIToken, "token_id": creds.TokenID}
	if c.json {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "Workspace created in %s\n\n  write key (public, for SDKs and the tracker): %s\n  API token (secret, shown once):               %s\n\nNext: atrium serve --data %s\n",
		c.data, creds.WriteKey, creds.APIToken, c.data)
	return nil
}
