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

	"github.com/atrium-cdp/atrium/internal/activate"
	"github.com/atrium-cdp/atrium/internal/collect"
	"github.com/atrium-cdp/atrium/internal/dedupe"
	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/segments"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/traits/computed"
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
	// SegmentsInterval is how often time-window segments are recomputed and
	// failed computations retried (default 30 s).
	SegmentsInterval time.Duration
	// Now is the clock of the segment rules (default time.Now; tests).
	Now func() time.Time
	// ScoreSteps are the steps of "atrium scores run" (package cli keeps
	// the list); ScoresEvery runs them all on that period (0: never).
	ScoreSteps  []ScoreStep
	ScoresEvery time.Duration
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
	if c.ScoresEvery < 0 {
		return fmt.Errorf("config: scores period %s must be 0 (off) or positive", c.ScoresEvery)
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
	// Activation delivers segment enters and exits to destinations; it also
	// reads the segments' change feed from its own cursor (nothing lost if
	// the process stops between a membership commit and the listener).
	dispatcher := activate.New(st, activate.Options{Logger: log, Metrics: activate.NewMetrics(reg)})
	segs := segments.New(st, segments.Options{Now: cfg.Now, Interval: cfg.SegmentsInterval, Logger: log,
		Listener: activationListener{dispatcher}})
	// Every commit is handed to each subscriber in turn, on the writer
	// goroutine: a subscriber must return at once (segments only queue the
	// touched profiles for their own worker).
	observers := []func(ingest.Commit){
		func(c ingest.Commit) {
			if c.Err == nil {
				segs.Touched(c.Touched, c.Merged)
			}
		},
	}
	observers = append(observers, func(c ingest.Commit) {
		if c.Messages+c.Duplicates == 0 && c.Err == nil {
			return // an administrative merge or unmerge, not an ingest transaction
		}
		commitSeconds.Observe(c.Duration.Seconds())
		commitMessages.Observe(float64(c.Messages + c.Duplicates))
		if c.Err != nil {
			commitErrors.Inc()
		}
	})
	// Computed traits recompute the profiles commits and order imports
	// touched (scores.go).
	tracker := computed.NewTracker()
	traitsEngine := computed.NewService(st, time.Now)
	observers = append(observers, func(c ingest.Commit) {
		if c.Err == nil {
			tracker.Touch(c.Touched...)
			tracker.Touch(c.Merged...)
		}
	})
	// More subscribers (computed traits, ...) append to observers here.
	wopt.Observe = func(c ingest.Commit) {
		for _, o := range observers {
			o(c)
		}
	}
	writer := ingest.New(st, idCfg, wopt)
	if err := writer.Load(ctx); err != nil {
		return fmt.Errorf("load ingest state: %w", err)
	}

	scores := &scoresRunner{steps: cfg.ScoreSteps, env: ScoreEnv{DB: st, Computed: traitsEngine}}
	localToken := web.NewToken()
	var ready atomic.Bool
	router := web.NewRouter(web.Deps{
		Store: st, Merger: writer, Admin: ws, Auth: web.NewAuth(st, localToken),
		Collect: collect.NewHandler(&collect.Decoder{}, ws, writer, log, reg),
		Keyer:   Keyer(), Region: idCfg.DefaultRegion, Gather: reg, Logger: log,
		Ready: ready.Load, Settings: st, Rules: writer, Quality: st,
		PutSetting:     func(ctx context.Context, k, v string) error { return st.PutSetting(ctx, k, v, time.Now()) },
		Imports:        newImportJobsTouching(st, ws, writer, log, tracker),
		Segments:       segs,
		Recommend:      st,
		Dedupe:         dedupe.New(st, writer, uuid.NewString, time.Now),
		ComputedTraits: traitsEngine,
		Scores:         scores,
		Destinations:   dispatcher,
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
	// Segments on score.NAME follow the scores: profiles whose computed
	// traits were refreshed are re-evaluated, and a batch of scores
	// (scheduled, API, the computed traits' catch-up at start) recomputes
	// every segment in the background.
	refreshSegments := func() {
		go func() {
			if _, err := segs.Refresh(writerCtx, segments.RefreshOptions{All: true}); err != nil && writerCtx.Err() == nil {
				log.Error("segment refresh after scores", "err", err)
			}
		}()
	}
	traitsEngine.OnRefreshed = func(ids []string) {
		if ids == nil {
			refreshSegments()
			return
		}
		segs.Touched(ids, nil)
	}
	scores.after = refreshSegments
	g := new(errgroup.Group)
	g.Go(func() error { return writer.Run(writerCtx) })
	g.Go(func() error { return segs.Run(writerCtx) })
	// Stops with the writer: workers finish their attempts in flight (up to
	// the dispatcher's grace), and pending rows wait in the store.
	g.Go(func() error { return dispatcher.Run(writerCtx) })
	g.Go(func() error { traitsEngine.RunIncremental(writerCtx, tracker, incrementalDelay, log); return nil })
	if cfg.ScoresEvery > 0 && len(cfg.ScoreSteps) > 0 {
		g.Go(func() error { scores.schedule(writerCtx, cfg.ScoresEvery, log); return nil })
	}
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

// activationListener hands segment changes to activation: the one adapter
// between package segments and package activate.
type activationListener struct{ d *activate.Dispatcher }

func (l activationListener) SegmentChanged(ctx context.Context, cs []segments.Change) error {
	out := make([]activate.Change, len(cs))
	for i, c := range cs {
		out[i] = activate.Change{Seq: c.Seq, SegmentID: c.SegmentID, ProfileID: c.ProfileID, Kind: c.Kind, At: c.At}
	}
	return l.d.SegmentChanged(ctx, out)
}

// WriterOptions are the ingest writer's options every entry point shares
// (server, CLI, imports, benchmarks): ids, keys and normalisers.
func WriterOptions(idCfg identity.Config, log *slog.Logger) ingest.Options {
	return ingest.Options{NewID: uuid.NewString, Logger: log, Keyer: Keyer(), Normalize: Normalizer(idCfg.DefaultRegion, time.Now)}
}

// Keyer returns the contact-value keyer identity resolution and lookups share.
func Keyer() identity.Keyer { return qualityKeyer{} }
