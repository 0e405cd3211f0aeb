package imports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
)

// JobStore keeps import jobs and their reports.
type JobStore interface {
	SaveImport(ctx context.Context, r store.ImportRow) error
	Import(ctx context.Context, id string) (store.ImportRow, error)
}

// SourceFunc returns the id of the source named name, creating it when needed.
type SourceFunc func(ctx context.Context, name string) (string, error)

// Jobs runs imports as jobs with an id and a stored report. Safe for
// concurrent use; jobs run one at a time (they share the single writer).
type Jobs struct {
	imp     *Importer
	st      JobStore
	sources SourceFunc
	newID   func() string
	log     *slog.Logger

	run  sync.Mutex // one import at a time
	mu   sync.Mutex
	live map[string]Report
}

// NewJobs builds the job runner.
func NewJobs(imp *Importer, st JobStore, sources SourceFunc, newID func() string, log *slog.Logger) *Jobs {
	if log == nil {
		log = slog.Default()
	}
	return &Jobs{imp: imp, st: st, sources: sources, newID: newID, log: log, live: map[string]Report{}}
}

// Run imports data now and returns the finished report. The job and its
// report are stored (unless dry-run). progress may be nil.
func (j *Jobs) Run(ctx context.Context, req Request, data []byte, progress func(Report)) (Report, error) {
	rep, err := j.begin(ctx, &req)
	if err != nil {
		return rep, err
	}
	return j.execute(ctx, req, data, rep, progress)
}

// Start queues an import and returns its id at once; Get follows it.
func (j *Jobs) Start(ctx context.Context, req Request, data []byte) (string, error) {
	rep, err := j.begin(ctx, &req)
	if err != nil {
		return "", err
	}
	go func() {
		_, _ = j.execute(context.WithoutCancel(ctx), req, data, rep, nil)
	}()
	return rep.ID, nil
}

// Get returns a job's report: live progress while it runs, the stored
// report after. store.ErrNotFound when there is no such job.
func (j *Jobs) Get(ctx context.Context, id string) (Report, error) {
	j.mu.Lock()
	r, ok := j.live[id]
	j.mu.Unlock()
	if ok {
		return r, nil
	}
	row, err := j.st.Import(ctx, id)
	if err != nil {
		return Report{}, err
	}
	if err := json.Unmarshal(row.Report, &r); err != nil {
		return Report{}, fmt.Errorf("import %s: unreadable report: %w", id, err)
	}
	return r, nil
}

// DefaultSource is the source of imports that name none.
const DefaultSource = "import"

func (j *Jobs) begin(ctx context.Context, req *Request) (Report, error) {
	if !ValidKind(req.Kind) {
		return Report{}, &InputError{fmt.Sprintf("unknown kind %q (want one of contacts, orders, order_items, products, consents, events)", req.Kind)}
	}
	if err := req.Read.Check(); err != nil {
		return Report{}, err
	}
	if req.Mapping != nil {
		if err := req.Mapping.CheckFor(req.Kind); err != nil {
			return Report{}, err
		}
	}
	if req.SourceName == "" {
		// One default for every kind: contacts, their consents and their
		// orders share customer ids, and order lines complete the orders.
		req.SourceName = DefaultSource
	}
	if req.SourceID == "" && !req.DryRun {
		id, err := j.sources(ctx, req.SourceName)
		if err != nil {
			return Report{}, err
		}
		req.SourceID = id
	}
	rep := Report{ID: j.newID(), Kind: req.Kind, Source: req.SourceName, File: req.FileName, Status: "running",
		StartedAt: time.Now().UTC(), DryRun: req.DryRun, Rejects: []Reject{}}
	j.setLive(rep)
	if !req.DryRun {
		if err := j.save(ctx, *req, rep); err != nil {
			j.dropLive(rep.ID)
			return rep, err
		}
	}
	return rep, nil
}

func (j *Jobs) execute(ctx context.Context, req Request, data []byte, rep Report, progress func(Report)) (Report, error) {
	j.run.Lock()
	defer j.run.Unlock()
	imp := *j.imp
	imp.Progress = func(r Report) {
		j.setLive(r)
		if progress != nil {
			progress(r)
		}
	}
	err := imp.Run(ctx, req, data, &rep)
	fin := time.Now().UTC()
	rep.FinishedAt = &fin
	rep.Status = "done"
	if err != nil {
		rep.Status = "failed"
		var ie *InputError
		if errors.As(err, &ie) || !errors.Is(err, context.Canceled) {
			rep.Error = err.Error()
		}
		j.log.Warn("import failed", "id", rep.ID, "kind", req.Kind, "err", err)
	}
	if !req.DryRun {
		if serr := j.save(context.WithoutCancel(ctx), req, rep); serr != nil && err == nil {
			err = serr
		}
	}
	j.dropLive(rep.ID)
	if req.DryRun {
		j.setLive(rep) // dry runs are not stored; keep the last ones in memory
	}
	return rep, err
}

func (j *Jobs) save(ctx context.Context, req Request, rep Report) error {
	b, _ := json.Marshal(rep)
	return j.st.SaveImport(ctx, store.ImportRow{ID: rep.ID, Kind: req.Kind, SourceID: req.SourceID, FileName: req.FileName,
		Status: rep.Status, StartedAt: rep.StartedAt, FinishedAt: rep.FinishedAt, Report: b})
}

func (j *Jobs) setLive(r Report) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r.Rejects = append([]Reject(nil), r.Rejects...)
	j.live[r.ID] = r
}

func (j *Jobs) dropLive(id string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.live, id)
}

// InputError is a mistake in the request (unknown kind, bad mapping, unreadable file).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }
