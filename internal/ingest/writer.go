// Package ingest is the embedded ingestion log: one writer goroutine takes
// decoded messages from every request, drops duplicates, resolves identities,
// updates profiles and appends events, committing many requests in one
// transaction (group commit). A request is acknowledged only after the
// transaction holding its messages committed.
//
// Invariants: every profile-changing write (ingest, merge, unmerge) goes
// through the writer, so its in-memory identity graph and the store never
// disagree; a failed commit rolls back both and fails every request in it.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atrium-cdp/atrium/internal/identity"
	"github.com/atrium-cdp/atrium/internal/model"
	"github.com/atrium-cdp/atrium/internal/store"
)

// Store is what the writer needs from the storage engine.
type Store interface {
	ApplyBatch(ctx context.Context, b *store.Batch) error
	EachProfileNode(ctx context.Context, fn func(store.ProfileNode)) error
	EachIdentity(ctx context.Context, fn func(store.IdentityRow)) error
	EachDedupHash(ctx context.Context, fn func(int64)) error
	StoredMessageIDs(ctx context.Context, hashes []int64) (map[string]bool, error)
	MaxSeq(ctx context.Context) (int64, error)
	ProfileRows(ctx context.Context, ids []string) (map[string]store.ProfileRow, error)
	LatestConsents(ctx context.Context, profileIDs []string) (map[string]map[string]store.ConsentState, error)
	Merge(ctx context.Context, id string) (model.Merge, error)
}

// ErrClosed is returned by Submit once the writer stops accepting work.
var ErrClosed = errors.New("ingest writer is shutting down")

// Options tune the writer. Zero values take defaults.
type Options struct {
	MaxBatch int              // messages per transaction (default 10,000)
	Now      func() time.Time // clock (default time.Now)
	NewID    func() string    // ids for profiles, merges, ledger rows
	Keyer    identity.Keyer   // contact-value keys (default identity.SimpleKeyer); safe for concurrent use
	Logger   *slog.Logger
	Observe  func(Commit) // called after every commit attempt (metrics)
	// Normalize computes a profile's normalised contact fields from its
	// traits whenever they change (nil: none are kept). It must be safe for
	// concurrent use: SubmitDetails runs it on the caller's goroutine.
	Normalize func(traits map[string]any) json.RawMessage
}

// Commit describes one transaction, for metrics and for the services that
// react to changed profiles (segments).
type Commit struct {
	Messages, Duplicates, Requests int
	Duration                       time.Duration
	Err                            error
	// Touched lists, after a successful commit, the live profiles whose data
	// (events, traits, consents, identities, merges, imported contacts)
	// changed; Merged lists the profiles merged away by it (no longer live).
	// Both are nil when the commit failed.
	Touched, Merged []string
}

// Result tells a request what happened to its messages.
type Result struct {
	Accepted   int
	Duplicates []int // positions (in the submitted slice) of messages already stored
	// Refused maps positions of stored messages to the identifier types
	// the identity limits kept from linking (audited as
	// identity_link_refused).
	Refused map[int][]string
}

type job struct {
	msgs []model.Message
	pre  []*prepared // per message, nil when not precomputed
	ids  []extracted // per message, extracted on the writer goroutine already (nil: extract in build)
	cmd  func(ctx context.Context) (any, error)
	done chan jobResult
}

type jobResult struct {
	res Result
	out any
	err error
}

// Writer is the single writer of a workspace. Submit, Merge and Unmerge are
// safe for concurrent use; Run must be called once.
type Writer struct {
	st    Store
	graph *identity.Graph
	opt   Options
	log   *slog.Logger
	seen  *bloom
	seq   int64
	in    chan *job

	botCache map[string]bool

	// touched and merged are the profiles the last successful apply changed,
	// reported by the next Commit (writer goroutine only).
	touched, merged []string

	// rules is the identity configuration in force, published for
	// submitters that extract identifiers on their own goroutine; the
	// writer replaces it (SetConfig) and compares pointers to know whether
	// an extraction was made under the rules it still applies.
	rules atomic.Pointer[identity.Config]

	mu      sync.RWMutex
	stopped bool
}

// New builds a writer over st with the workspace's identity rules. Call Load
// before Run.
func New(st Store, cfg identity.Config, opt Options) *Writer {
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 10000
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Keyer == nil {
		opt.Keyer = identity.SimpleKeyer{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Observe == nil {
		opt.Observe = func(Commit) {}
	}
	w := &Writer{st: st, graph: identity.NewGraph(cfg, opt.NewID), opt: opt, log: opt.Logger, in: make(chan *job, 4096), botCache: map[string]bool{}}
	w.publishRules()
	return w
}

// publishRules makes the graph's rules the ones submitters extract under.
func (w *Writer) publishRules() {
	cfg := w.graph.Config()
	w.rules.Store(&cfg)
}

// Load rebuilds the in-memory state (identity graph, dedup filter, sequence)
// from the store.
func (w *Writer) Load(ctx context.Context) error {
	if err := w.st.EachProfileNode(ctx, func(n store.ProfileNode) {
		w.graph.LoadNode(n.ID, n.Identified, n.CreatedAt)
	}); err != nil {
		return err
	}
	if err := w.st.EachIdentity(ctx, func(r store.IdentityRow) {
		w.graph.LoadIdentity(model.Identifier{Type: r.Type, Value: r.Value, Display: r.Display}, r.ProfileID)
	}); err != nil {
		return err
	}
	var hashes []int64
	if err := w.st.EachDedupHash(ctx, func(h int64) { hashes = append(hashes, h) }); err != nil {
		return err
	}
	w.seen = newBloom(len(hashes))
	for _, h := range hashes {
		w.seen.add(h)
	}
	seq, err := w.st.MaxSeq(ctx)
	if err != nil {
		return err
	}
	w.seq = seq
	p, i := w.graph.Size()
	w.log.Info("ingest state loaded", "profiles", p, "identifiers", i, "events", len(hashes))
	return nil
}

// Submit hands messages to the writer and waits until they are committed (or
// the commit failed). Messages must carry their SourceID.
func (w *Writer) Submit(ctx context.Context, msgs []model.Message) (Result, error) {
	r, err := w.do(ctx, &job{msgs: msgs})
	return r.res, err
}

func (w *Writer) do(ctx context.Context, j *job) (jobResult, error) {
	j.done = make(chan jobResult, 1)
	w.mu.RLock()
	if w.stopped {
		w.mu.RUnlock()
		return jobResult{}, ErrClosed
	}
	select {
	case w.in <- j:
	case <-ctx.Done():
		w.mu.RUnlock()
		return jobResult{}, ctx.Err()
	}
	w.mu.RUnlock()
	// Once queued, the job is committed or failed whatever the caller does:
	// waiting for the answer keeps "acknowledged" and "stored" in step.
	r := <-j.done
	return r, r.err
}

// Stop refuses new work; jobs already queued are still processed by Run.
func (w *Writer) Stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

// Run processes jobs until ctx is done, then drains what was queued and
// returns. Call Stop before cancelling ctx so nothing is queued after the drain.
func (w *Writer) Run(ctx context.Context) error {
	for {
		select {
		case j := <-w.in:
			w.step(ctx, j)
		case <-ctx.Done():
			for {
				select {
				case j := <-w.in:
					w.step(context.WithoutCancel(ctx), j)
				default:
					return nil
				}
			}
		}
	}
}

// step runs one job, or, for messages, gathers every message job already
// waiting (up to MaxBatch messages) into one transaction.
func (w *Writer) step(ctx context.Context, first *job) {
	ctx = context.WithoutCancel(ctx) // a started commit finishes even during shutdown
	if first.cmd != nil {
		start := time.Now()
		out, err := first.cmd(ctx)
		// A command that committed profile changes of its own (merge,
		// unmerge) reports them like a message commit would.
		if t, m := w.takeTouched(); len(t)+len(m) > 0 {
			w.opt.Observe(Commit{Requests: 1, Duration: time.Since(start), Touched: t, Merged: m})
		}
		first.done <- jobResult{out: out, err: err}
		return
	}
	jobs := []*job{first}
	n := len(first.msgs)
	var held *job
gather:
	for n < w.opt.MaxBatch {
		select {
		case j := <-w.in:
			if j.cmd != nil {
				held = j
				break gather
			}
			jobs = append(jobs, j)
			n += len(j.msgs)
		default:
			break gather
		}
	}
	w.commitMessages(ctx, jobs)
	if held != nil {
		w.step(ctx, held)
	}
}

// apply commits a batch built by fn inside a graph transaction, rolling the
// graph back when building or committing fails.
func (w *Writer) apply(ctx context.Context, fn func(b *store.Batch) error) error {
	w.graph.Begin()
	seq := w.seq
	b := &store.Batch{}
	err := fn(b)
	if err == nil {
		err = w.st.ApplyBatch(ctx, b)
	}
	if err != nil {
		w.graph.Rollback()
		w.seq = seq
		return err
	}
	w.graph.Commit()
	for _, e := range b.Events {
		w.seen.add(e.DedupHash)
	}
	w.noteTouched(b)
	return nil
}

// noteTouched records the live profiles b changed and the ones it merged away.
func (w *Writer) noteTouched(b *store.Batch) {
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] && w.graph.Node(id) != nil {
			seen[id] = true
			w.touched = append(w.touched, id)
		}
	}
	for i := range b.NewProfiles {
		add(b.NewProfiles[i].ID)
	}
	for i := range b.ProfileUpdates {
		add(b.ProfileUpdates[i].ID)
	}
	for i := range b.Moves {
		add(b.Moves[i].ProfileID)
	}
	for i := range b.Merges {
		add(b.Merges[i].SurvivorID)
		w.merged = append(w.merged, b.Merges[i].MergedID)
	}
	for i := range b.UndoneMerges {
		// The survivor gives back the restored profile's events, orders
		// and consents: its aggregates and memberships change too.
		add(b.UndoneMerges[i].SurvivorID)
	}
	for i := range b.Consents {
		add(b.Consents[i].ProfileID)
	}
	for i := range b.Groups {
		add(b.Groups[i].ProfileID)
	}
	for i := range b.Events {
		add(b.Events[i].ProfileID)
	}
}

// takeTouched returns and clears what noteTouched recorded.
func (w *Writer) takeTouched() (touched, merged []string) {
	touched, merged = w.touched, w.merged
	w.touched, w.merged = nil, nil
	return touched, merged
}

func (w *Writer) newID() string { return w.opt.NewID() }
