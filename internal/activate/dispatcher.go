package activate

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Options tune a Dispatcher. Zero values take the defaults.
type Options struct {
	Clock Clock
	// Backoff is the retry policy of destinations that set none
	// (default: 5s doubling up to 10m, with jitter).
	Backoff Backoff
	Logger  *slog.Logger
	NewID   func() string
	// Poll is how often an idle worker looks at the queue without being
	// woken (clock time; default 1m): the safety net behind wake-ups.
	Poll time.Duration
	// SyncCheck is how often the change feed is read and full-sync
	// schedules are checked (clock time; default 1m).
	SyncCheck time.Duration
	// ShutdownGrace is how long (real time) attempts in flight at shutdown
	// may finish before they are cancelled and left pending (default 5s).
	ShutdownGrace time.Duration
	// Metrics, when set, counts attempts and queued rows.
	Metrics *Metrics
}

func (o *Options) defaults() {
	if o.Clock == nil {
		o.Clock = RealClock{}
	}
	if o.Backoff.Base <= 0 {
		o.Backoff.Base = 5 * time.Second
	}
	if o.Backoff.Cap < o.Backoff.Base {
		o.Backoff.Cap = max(10*time.Minute, o.Backoff.Base)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.NewID == nil {
		o.NewID = uuid.NewString
	}
	if o.Poll <= 0 {
		o.Poll = time.Minute
	}
	if o.SyncCheck <= 0 {
		o.SyncCheck = time.Minute
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 5 * time.Second
	}
}

// Dispatcher owns the destinations: it validates and stores their settings,
// turns segment changes into queued deliveries and, while Run runs, drives
// one worker per destination. Safe for concurrent use. Without Run (a CLI
// command on a stopped workspace) everything but delivery works; queued rows
// wait for the next server.
type Dispatcher struct {
	st Store
	o  Options

	mu      sync.Mutex
	loaded  bool
	targets map[string]configured // by destination id
	runCtx  context.Context       // nil unless Run is running
	workers map[string]*worker
	wg      sync.WaitGroup

	// feedMu serialises the feed paths (CatchUp, SegmentChanged) and
	// guards the cursor.
	feedMu    sync.Mutex
	cursorSeq int64
	cursorOK  bool
}

type configured struct {
	row DestinationRow
	t   Target
}

// New returns a dispatcher over st.
func New(st Store, o Options) *Dispatcher {
	o.defaults()
	return &Dispatcher{st: st, o: o, targets: map[string]configured{}, workers: map[string]*worker{}}
}

// Run starts a worker per destination and the full-sync schedule, and
// blocks until ctx is cancelled; then it stops taking work, lets attempts in
// flight finish (up to ShutdownGrace) and returns once every worker stopped.
// Pending rows stay in the store for the next Run.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.runCtx != nil {
		d.mu.Unlock()
		return fmt.Errorf("dispatcher already running")
	}
	d.runCtx = ctx
	d.mu.Unlock()
	if err := d.reload(ctx); err != nil {
		d.mu.Lock()
		d.runCtx = nil
		d.mu.Unlock()
		return err
	}
	d.background(ctx)
	d.mu.Lock()
	d.runCtx = nil
	for id, w := range d.workers {
		w.stop()
		delete(d.workers, id)
	}
	d.mu.Unlock()
	d.wg.Wait()
	for _, c := range d.targets {
		c.t.Close()
	}
	return nil
}

// reload reads the destinations and, when running, starts, restarts or
// stops workers to match them.
func (d *Dispatcher) reload(ctx context.Context) error {
	rows, err := d.st.Destinations(ctx)
	if err != nil {
		return fmt.Errorf("load destinations: %w", err)
	}
	next := map[string]configured{}
	for _, r := range rows {
		p, err := pluginFor(r.Kind)
		if err != nil {
			d.o.Logger.Error("destination skipped", "destination", r.ID, "err", err)
			continue
		}
		t, _, err := p.Configure(r.Settings, r.Settings)
		if err != nil {
			// Settings were validated when saved; a rule tightened since
			// then must not stop the others.
			d.o.Logger.Error("destination skipped: stored settings no longer valid", "destination", r.ID, "err", err)
			continue
		}
		next[r.ID] = configured{row: r, t: t}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.targets
	d.targets, d.loaded = next, true
	for id, c := range next {
		prev, had := old[id]
		running := d.runCtx != nil && d.workers[id] != nil
		if had && prev.row.UpdatedAt.Equal(c.row.UpdatedAt) && string(prev.row.Settings) == string(c.row.Settings) && (d.runCtx == nil || running) {
			// Unchanged: keep the worker and its connections, take the
			// fresh row (its last full sync time).
			next[id] = configured{row: c.row, t: prev.t}
			c.t.Close()
			continue
		}
		if w := d.workers[id]; w != nil {
			w.stop()
			delete(d.workers, id)
		}
		if d.runCtx != nil {
			d.startWorker(c)
		}
	}
	for id, c := range old {
		if _, ok := next[id]; !ok {
			if w := d.workers[id]; w != nil {
				w.stop()
				delete(d.workers, id)
			}
			c.t.Close()
		}
	}
	return nil
}

// startWorker runs c's worker under the Run context. Call with d.mu held.
func (d *Dispatcher) startWorker(c configured) {
	wctx, cancel := context.WithCancel(d.runCtx)
	r := c.t.Routing()
	b := d.o.Backoff
	if r.BackoffBase > 0 {
		b.Base = time.Duration(r.BackoffBase)
	}
	if r.BackoffCap > 0 {
		b.Cap = time.Duration(r.BackoffCap)
	}
	if b.Cap < b.Base {
		b.Cap = b.Base
	}
	w := &worker{d: d, id: c.row.ID, t: c.t, r: r, backoff: b, cancel: cancel,
		wake: make(chan struct{}, 1), freed: make(chan struct{}, 1), done: make(chan struct{}),
		results:  make(chan Result, 2*r.MaxInFlight),
		inflight: map[string]bool{}}
	d.workers[c.row.ID] = w
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(w.done)
		w.run(wctx)
	}()
}

// ensureLoaded reads the destinations once when Run has not.
func (d *Dispatcher) ensureLoaded(ctx context.Context) error {
	d.mu.Lock()
	loaded := d.loaded
	d.mu.Unlock()
	if loaded {
		return nil
	}
	return d.reload(ctx)
}

func (d *Dispatcher) snapshot() []configured {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]configured, 0, len(d.targets))
	for _, c := range d.targets {
		out = append(out, c)
	}
	return out
}

func (d *Dispatcher) wake(destID string) {
	d.mu.Lock()
	w := d.workers[destID]
	d.mu.Unlock()
	if w != nil {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// background reads the change feed and runs due full syncs every
// SyncCheck until ctx ends.
func (d *Dispatcher) background(ctx context.Context) {
	for {
		if _, err := d.CatchUp(ctx); err != nil && ctx.Err() == nil {
			d.o.Logger.Error("reading the segment change feed", "err", err)
		}
		for _, c := range d.snapshot() {
			every := time.Duration(c.t.Routing().FullSyncEvery)
			if every <= 0 || d.o.Clock.Now().Sub(c.row.LastFullSyncAt) < every {
				continue
			}
			if _, err := d.FullSync(ctx, c.row.ID); err != nil && ctx.Err() == nil {
				d.o.Logger.Error("full sync failed", "destination", c.row.ID, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-d.o.Clock.After(d.o.SyncCheck):
		}
	}
}

// payloadProfile is the profile part of a payload.
type payloadProfile struct {
	ID     string                     `json:"id"`
	Traits map[string]json.RawMessage `json:"traits"`
}
