package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/atrium-cdp/atrium/internal/imports"
	"github.com/atrium-cdp/atrium/internal/ingest"
	"github.com/atrium-cdp/atrium/internal/store"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
	"github.com/atrium-cdp/atrium/internal/traits/computed"
	"github.com/atrium-cdp/atrium/internal/workspace"
)

// ScoreEnv is what a scores step computes against.
type ScoreEnv struct {
	DB       *duckdb.DB
	Computed *computed.Service
	AsOf     time.Time // zero: now
}

// ScoreStep is one named step of "atrium scores run". The list lives in
// package cli (scores_run.go); the command, the API and the scheduler run
// it through RunScoreSteps.
type ScoreStep struct {
	Name  string
	About string
	Run   func(ctx context.Context, env ScoreEnv) (any, error)
}

// StepResult is what one step did.
type StepResult struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Result  any     `json:"result"`
}

// ScoresReport is what a scores run did, step by step.
type ScoresReport struct {
	AsOf  time.Time    `json:"as_of"`
	Steps []StepResult `json:"steps"`
}

// UnknownStepError names a step that is not in the list.
type UnknownStepError struct {
	Name  string
	Valid []string
}

func (e *UnknownStepError) Error() string {
	return fmt.Sprintf("unknown scores step %q (valid: %s)", e.Name, strings.Join(e.Valid, ", "))
}

// StepNames lists the steps' names in run order.
func StepNames(steps []ScoreStep) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Name
	}
	return out
}

// RunScoreSteps runs the steps named in only (every step when only is
// empty) in list order and stops at the first failure. An unknown name is
// an *UnknownStepError before anything runs.
func RunScoreSteps(ctx context.Context, steps []ScoreStep, env ScoreEnv, only []string) (ScoresReport, error) {
	want := map[string]bool{}
	for _, n := range only {
		found := false
		for _, s := range steps {
			found = found || s.Name == n
		}
		if !found {
			return ScoresReport{}, &UnknownStepError{Name: n, Valid: StepNames(steps)}
		}
		want[n] = true
	}
	if env.AsOf.IsZero() {
		env.AsOf = time.Now().UTC()
	}
	if env.Computed == nil {
		env.Computed = computed.NewService(env.DB, time.Now)
	}
	rep := ScoresReport{AsOf: env.AsOf, Steps: []StepResult{}}
	for _, s := range steps {
		if len(want) > 0 && !want[s.Name] {
			continue
		}
		start := time.Now()
		res, err := s.Run(ctx, env)
		if err != nil {
			return rep, fmt.Errorf("scores step %s: %w", s.Name, err)
		}
		rep.Steps = append(rep.Steps, StepResult{Name: s.Name, Seconds: time.Since(start).Seconds(), Result: res})
	}
	return rep, nil
}

// scoresRunner runs the steps inside the server, one run at a time (the API
// and the scheduler share it, and two runs would replace the same rows).
type scoresRunner struct {
	steps []ScoreStep
	env   ScoreEnv
	mu    sync.Mutex
	// after, when set, runs after every successful run (segments on
	// score.NAME are recomputed then).
	after func()
}

// Steps lists the step names (the web API validates requests with it).
func (r *scoresRunner) Steps() []string { return StepNames(r.steps) }

// Run runs the named steps (all when only is empty) as of now.
func (r *scoresRunner) Run(ctx context.Context, only []string) (any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out, err := RunScoreSteps(ctx, r.steps, r.env, only)
	if err == nil && r.after != nil {
		r.after()
	}
	return out, err
}

// schedule runs every step every interval until ctx is done: the same
// function as "atrium scores run" and POST /api/v1/scores/run.
func (r *scoresRunner) schedule(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		if _, err := r.Run(ctx, nil); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("scheduled scores run failed", "err", err)
			continue
		}
		log.Info("scheduled scores run", "seconds", time.Since(start).Seconds())
	}
}

// touchingOrders is the import store seen through the computed traits
// tracker: the profiles of written orders, and those that replaced orders
// had before, are touched (order writes are writer jobs of their own, not
// message commits, so the commit observer does not see them).
type touchingOrders struct {
	*duckdb.DB
	tracker *computed.Tracker
}

var _ imports.Store = touchingOrders{}

func (s touchingOrders) ApplyOrders(ctx context.Context, sourceID string, orders []store.OrderRow, replace []string, now time.Time) error {
	prev, err := s.DB.OrderProfiles(ctx, sourceID, replace)
	if err != nil {
		return err
	}
	if err := s.DB.ApplyOrders(ctx, sourceID, orders, replace, now); err != nil {
		return err
	}
	for i := range orders {
		prev = append(prev, orders[i].ProfileID)
	}
	s.tracker.Touch(prev...)
	return nil
}

// incrementalDelay lets a burst of commits settle into one incremental
// refresh of the computed traits.
const incrementalDelay = 2 * time.Second

// newImportJobsTouching is NewImportJobs whose order writes touch tracker.
func newImportJobsTouching(st *duckdb.DB, ws *workspace.Service, w *ingest.Writer, log *slog.Logger, t *computed.Tracker) *imports.Jobs {
	imp := &imports.Importer{W: w, St: touchingOrders{DB: st, tracker: t}, Now: time.Now}
	return imports.NewJobs(imp, st, ImportSource(ws), uuid.NewString, log)
}
