// Package app is the composition root: it opens the store, builds every
// service with its dependencies, runs the ingest writer and the HTTP server,
// and shuts them down in order (stop accepting, drain requests and their
// commits, stop the writer, close the store).
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/atrium-cdp/atrium/internal/collect"
	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/web"
)

// Config is how Atrium runs. Fields come from flags and the environment (see
// package cli); Validate checks them.
type Config struct {
	DataDir  string // workspace folder holding the DuckDB file
	Addr     string // HTTP listen address
	MaxBatch int    // messages per ingest transaction
	DBMemory string // DuckDB memory limit ("1GB"); empty keeps DuckDB's default
	Logger   *slog.Logger
	// Ready, when set, receives the bound address once the server accepts
	// connections (tests and the bench use it).
	Ready func(addr string)
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("config: data folder must be set (--data or ATRIUM_DATA)")
	}
	_, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("config: listen address %q must be HOST:PORT: %w", c.Addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("config: listen address %q: the port must be a number from 0 to 65535", c.Addr)
	}
	if c.MaxBatch < 0 || c.MaxBatch > 100000 {
		return fmt.Errorf("config: max batch %d must be between 1 and 100000", c.MaxBatch)
	}
	return nil
}

// ServerFile is written in the data folder while a server runs, so CLI
// commands can reach it instead of opening the locked database. It holds a
// token valid for that process only; the file is readable by its owner only.
const ServerFile = "server.json"

// ServerInfo is the content of ServerFile.
type ServerInfo struct {
	Addr  string `json:"addr"`
	PID   int    `json:"pid"`
	Token string `json:"token"`
}

// Serve runs Atrium until ctx is cancelled, then shuts down in order.
// bootstrap is called with the credentials when the workspace was empty and
// had to be initialised.
func Serve(ctx context.Context, cfg Config, bootstrap func(Credentials)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	// Listen first: a taken port must fail before anything is created.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	st, err := duckdb.OpenWith(ctx, cfg.DataDir, duckdb.Options{MemoryLimit: cfg.DBMemory})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("the workspace in %s is in use by another atrium process (a server, or a command such as an import)", cfg.DataDir)
		}
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing the store", "err", err)
		}
	}()
	ws := NewWorkspace(st)
	if creds, created, err := EnsureInitialized(ctx, st, ws); err != nil {
		return err
	} else if created && bootstrap != nil {
		bootstrap(creds)
	}
	idCfg, err := LoadIdentityConfig(ctx, st)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	commitSeconds := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "atrium_ingest_commit_seconds",
		Help: "Duration of ingest transactions (group commits).", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)})
	commitMessages := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "atrium_ingest_commit_messages",
		Help: "Messages per ingest transaction.", Buckets: prometheus.ExponentialBuckets(1, 4, 9)})
	commitErrors := prometheus.NewCounter(prometheus.CounterOpts{Name: "atrium_ingest_commit_errors_total", Help: "Failed ingest transactions."})
	reg.MustRegister(commitSeconds, commitMessages, commitErrors)

	wopt := WriterOptions(idCfg, log)
	wopt.MaxBatch = cfg.MaxBatch
	wopt.Observe = func(c ingest.Commit) {
		commitSeconds.Observe(c.Duration.Seconds())
		commitMessages.Observe(float64(c.Messages + c.Duplicates))
		if c.Err != nil {
			commitErrors.Inc()
		}
	}
	writer := ingest.New(st, idCfg, wopt)
	if err := writer.Load(ctx); err != nil {
		return fmt.Errorf("load ingest state: %w", err)
	}

	localToken := web.NewToken()
	var ready atomic.Bool
	router := web.NewRouter(web.Deps{
		Store: st, Merger: writer, Admin: ws, Auth: web.NewAuth(st, localToken),
		Collect: collect.NewHandler(&collect.Decoder{}, ws, writer, log, reg),
		Keyer:   Keyer(), Region: idCfg.DefaultRegion, Gather: reg, Logger: log,
		Ready: ready.Load, Settings: st, Rules: writer, Quality: st,
		PutSetting: func(ctx context.Context, k, v string) error { return st.PutSetting(ctx, k, v, time.Now()) },
		Imports:    NewImportJobs(st, ws, writer, log),
	})
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	addr := ln.Addr().String()
	infoPath := filepath.Join(cfg.DataDir, ServerFile)
	if err := writeServerInfo(infoPath, ServerInfo{Addr: addr, PID: os.Getpid(), Token: localToken}); err != nil {
		ln.Close()
		return err
	}
	defer os.Remove(infoPath)

	writerCtx, stopWriter := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWriter()
	g := new(errgroup.Group)
	g.Go(func() error { return writer.Run(writerCtx) })
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	ready.Store(true)
	log.Info("atrium serving", "addr", addr, "data", cfg.DataDir)
	if cfg.Ready != nil {
		cfg.Ready(addr)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = err
		}
	}
	// Shutdown order: refuse new connections and wait for in-flight requests
	// (each waits for its commit), then stop the writer after it drained.
	ready.Store(false)
	log.Info("shutting down: draining requests")
	shCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shCtx); err != nil {
		log.Error("http shutdown", "err", err)
	}
	writer.Stop()
	stopWriter()
	if err := g.Wait(); err != nil && runErr == nil {
		runErr = err
	}
	log.Info("atrium stopped")
	return runErr
}

func writeServerInfo(path string, info ServerInfo) error {
	b, _ := json.Marshal(info)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// ReadServerInfo reads the running server's file from a data folder.
func ReadServerInfo(dataDir string) (ServerInfo, error) {
	var info ServerInfo
	b, err := os.ReadFile(filepath.Join(dataDir, ServerFile))
	if err != nil {
		return info, err
	}
	err = json.Unmarshal(b, &info)
	return info, err
}

// WriterOptions are the ingest writer's options every entry point shares
// (server, CLI, imports, benchmarks): ids, keys and normalisers.
func WriterOptions(idCfg identity.Config, log *slog.Logger) ingest.Options {
	return ingest.Options{NewID: uuid.NewString, Logger: log, Keyer: Keyer(), Normalize: Normalizer(idCfg.DefaultRegion, time.Now)}
}

// Keyer returns the contact-value keyer identity resolution and lookups share.
func Keyer() identity.Keyer { return qualityKeyer{} }
