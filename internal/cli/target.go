package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/atrium-cdp/atrium/internal/app"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// target is where a command's work happens: the workspace file opened
// directly when no server holds it, or the running server's API.
type target struct {
	db     *duckdb.DB
	server *apiClient
}

// open opens the workspace in dir, or connects to the server that holds it,
// and says which on stderr.
func open(ctx context.Context, e *env, dir string) (*target, error) {
	if !duckdb.Exists(dir) {
		return nil, fmt.Errorf("no workspace in %s (create one with: atrium init --data %s)", dir, dir)
	}
	db, err := duckdb.Open(ctx, dir)
	if err == nil {
		fmt.Fprintf(e.stderr, "atrium: opened %s directly (no server is running)\n", dir)
		return &target{db: db}, nil
	}
	if !errors.Is(err, store.ErrLocked) {
		return nil, err
	}
	info, ierr := app.ReadServerInfo(dir)
	if ierr != nil {
		return nil, fmt.Errorf("the workspace in %s is held by another process that is not a reachable atrium server (%v)", dir, ierr)
	}
	fmt.Fprintf(e.stderr, "atrium: using the running server at %s (pid %d)\n", info.Addr, info.PID)
	return &target{server: &apiClient{base: "http://" + info.Addr, token: info.Token, hc: &http.Client{Timeout: 60 * time.Second}}}, nil
}

func (t *target) Close() {
	if t.db != nil {
		t.db.Close()
	}
}

// withWriter runs fn with an ingest writer over the directly opened store,
// for commands that change profiles.
func (t *target) withWriter(ctx context.Context, fn func(w *ingest.Writer) error) error {
	return app.RunWriter(ctx, t.db, slog.New(slog.NewTextHandler(io.Discard, nil)), fn)
}

// apiClient calls the running server's REST API.
type apiClient struct {
	base, token string
	hc          *http.Client
}

// do sends a request and decodes a 2xx JSON answer into out; an error answer
// becomes an error carrying the server's message.
func (c *apiClient) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	// A name of "." or ".." would reach another route once the URL is
	// cleaned; no segment, destination or trait can have such a name.
	for _, part := range strings.Split(path, "/") {
		if part == "." || part == ".." {
			return &notFoundError{msg: fmt.Sprintf("nothing is named %q", part)}
		}
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("server unreachable: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			if resp.StatusCode == http.StatusNotFound {
				return &notFoundError{msg: e.Error.Message}
			}
			e.Error.Status = resp.StatusCode
			return &e.Error
		}
		return fmt.Errorf("server answered %s", resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// apiError is an error answer of the server: its status, code and message,
// and the position in the request's rule when the server gave one.
type apiError struct {
	Status   int                         `json:"-"`
	Code     string                      `json:"code"`
	Message  string                      `json:"message"`
	Position *struct{ Line, Column int } `json:"position"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (%s)", e.Message, e.Code) }

// notFoundError is the server's "not found", shown as the server said it
// and matching store.ErrNotFound.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }
func (e *notFoundError) Unwrap() error { return store.ErrNotFound }
