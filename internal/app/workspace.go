package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/web"
	"github.com/atrium-cdp/atrium/internal/workspace"
)

// Credentials are what a new workspace's owner needs to start.
type Credentials struct {
	SourceID string `json:"source_id"`
	WriteKey string `json:"write_key"`
	APIToken string `json:"api_token"`
	TokenID  string `json:"token_id"`
}

// ErrInitialized means the workspace already has sources or tokens.
var ErrInitialized = errors.New("the workspace is already initialised")

// NewWorkspace builds the workspace service over a store.
func NewWorkspace(st *duckdb.DB) *workspace.Service {
	return workspace.New(st, time.Now, web.NewToken, web.HashToken)
}

// Initialize creates a workspace's first source and admin token. It refuses
// (ErrInitialized) when either already exists, destroying nothing.
func Initialize(ctx context.Context, st *duckdb.DB, ws *workspace.Service) (Credentials, error) {
	srcs, err := ws.Sources(ctx)
	if err != nil {
		return Credentials{}, err
	}
	toks, err := ws.Tokens(ctx)
	if err != nil {
		return Credentials{}, err
	}
	if len(srcs) > 0 || len(toks) > 0 {
		return Credentials{}, ErrInitialized
	}
	src, err := ws.CreateSource(ctx, "default", "website")
	if err != nil {
		return Credentials{}, fmt.Errorf("create first source: %w", err)
	}
	tok, secret, err := ws.CreateToken(ctx, "admin")
	if err != nil {
		return Credentials{}, fmt.Errorf("create admin token: %w", err)
	}
	return Credentials{SourceID: src.ID, WriteKey: src.WriteKey, APIToken: secret, TokenID: tok.ID}, nil
}

// EnsureInitialized initialises an empty workspace and reports whether it did.
func EnsureInitialized(ctx context.Context, st *duckdb.DB, ws *workspace.Service) (Credentials, bool, error) {
	c, err := Initialize(ctx, st, ws)
	if errors.Is(err, ErrInitialized) {
		return Credentials{}, false, nil
	}
	return c, err == nil, err
}

// IdentitySettingKey is the settings key holding the identity rules (JSON).
const IdentitySettingKey = "identity"

// LoadIdentityConfig reads the workspace's identity rules over the defaults.
func LoadIdentityConfig(ctx context.Context, st *duckdb.DB) (identity.Config, error) {
	raw, err := st.Setting(ctx, IdentitySettingKey)
	if errors.Is(err, store.ErrNotFound) {
		return identity.DefaultConfig(), nil
	}
	if err != nil {
		return identity.Config{}, err
	}
	return identity.ParseConfig([]byte(raw))
}

// RunWriter runs fn with an ingest writer over a directly opened store (no
// server), for commands and the demo that change profiles: it loads the
// identity rules and graph, runs the writer while fn works, then drains and
// stops it. The writer's error is returned when fn succeeded.
func RunWriter(ctx context.Context, st *duckdb.DB, log *slog.Logger, fn func(w *ingest.Writer) error) error {
	cfg, err := LoadIdentityConfig(ctx, st)
	if err != nil {
		return err
	}
	w := ingest.New(st, cfg, WriterOptions(cfg, log))
	if err := w.Load(ctx); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	ferr := fn(w)
	w.Stop()
	cancel()
	if err := <-done; err != nil && ferr == nil {
		ferr = err
	}
	return ferr
}
