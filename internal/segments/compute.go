package segments

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/atrium-cdp/atrium/internal/segments/rule"
	"github.com/atrium-cdp/atrium/internal/store"
)

// RefreshOptions choose the segments a Refresh computes.
type RefreshOptions struct {
	// All computes every segment. Otherwise Refresh computes the segments
	// in IDs and, unless IDs is given, the due ones: never computed, failed
	// and due for a retry, or with a moving time window.
	All bool
	IDs []string
	// Dependents adds the segments that refer (transitively) to the chosen
	// ones, so that they follow a changed definition.
	Dependents bool
}

// RefreshResult is what one Refresh did, per segment in computation order.
type RefreshResult struct {
	Segments []Computed `json:"segments"`
}

// Computed is the outcome of one segment's computation.
type Computed struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Size       int64  `json:"size"`
	Entered    int64  `json:"entered"`
	Exited     int64  `json:"exited"`
	DurationMS int64  `json:"duration_ms"`
	// Pass is "full" (the rule over every live profile) or "clock" (only
	// the profiles with rows that crossed a window edge since the last
	// pass: a scheduled pass over a current segment).
	Pass  string `json:"pass"`
	Error string `json:"error,omitempty"`
}

// Backoff after the n-th consecutive failure (n ≥ 1): 30 s doubling up to an
// hour.
func Backoff(n int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// Refresh computes segments in dependency order, each in its own
// transaction: fully (the rule over every live profile), or, for a current
// segment with a moving window that the zero options choose, by a clock
// pass over the profiles with rows that crossed a window edge (clock.go).
// The scheduler calls it with the zero options every Interval; `atrium
// segments refresh` calls it once (always in full).
// A failed computation is recorded on its segment (error, retries, next
// retry) and does not stop the others; the returned error is for failures to
// read the definitions only.
func (s *Service) Refresh(ctx context.Context, o RefreshOptions) (RefreshResult, error) {
	s.refresh.Lock()
	defer s.refresh.Unlock()
	res := RefreshResult{Segments: []Computed{}}
	defs, err := s.load(ctx)
	if err != nil {
		return res, err
	}
	order := topo(defs)
	// full: computed over every live profile. aging: brought up to date
	// with the clock by re-evaluating only the profiles with rows that
	// crossed a window edge since the segment's last pass (see clockPass).
	full, aging := map[string]bool{}, map[string]bool{}
	now := s.opt.Now()
	byName := map[string]*def{}
	for _, d := range defs {
		byName[d.row.Name] = d
	}
	for _, d := range order {
		id := d.row.ID
		switch {
		case o.All:
			full[id] = true
		case len(o.IDs) > 0:
			for _, x := range o.IDs {
				if x == id {
					full[id] = true
				}
			}
		default:
			due := d.row.Status == store.SegmentPending ||
				(d.row.Status == store.SegmentError && (d.row.NextRetryAt == nil || !now.Before(*d.row.NextRetryAt)))
			if due {
				full[id] = true
			} else if s.windowed(d, byName) {
				if _, known := s.asOfTime(id); known && d.row.Status == store.SegmentOK {
					aging[id] = true
				} else {
					full[id] = true
				}
			}
		}
		// Order guarantees references come first: a segment follows any
		// segment it refers to that is computed in full.
		if o.Dependents || len(o.IDs) == 0 {
			for _, r := range d.refs {
				if rd := byName[r]; rd != nil && full[rd.row.ID] {
					full[id] = true
					delete(aging, id)
				}
			}
		}
	}
	ids := s.idsByName(defs)
	var clock *clockPass
	if len(aging) > 0 {
		clock = s.clockCandidates(ctx, order, aging)
		if clock.err != nil {
			// Whatever went wrong, a full computation is always correct.
			s.log.Warn("segment clock pass: computing in full instead", "err", clock.err)
			for id := range aging {
				full[id] = true
			}
			aging = nil
		}
	}
	for _, d := range order {
		switch {
		case full[d.row.ID]:
			res.Segments = append(res.Segments, s.computeFull(ctx, d, ids))
		case aging[d.row.ID]:
			res.Segments = append(res.Segments, s.computeAging(ctx, d, ids, clock))
		}
	}
	return res, nil
}

// windowed reports whether d or a segment it refers to has a moving window.
func (s *Service) windowed(d *def, byName map[string]*def) bool {
	seen := map[string]bool{}
	var walk func(d *def) bool
	walk = func(d *def) bool {
		if d.windowed {
			return true
		}
		seen[d.row.Name] = true
		for _, r := range d.refs {
			if rd := byName[r]; rd != nil && !seen[r] && walk(rd) {
				return true
			}
		}
		return false
	}
	return walk(d)
}

func (s *Service) idsByName(defs []*def) map[string]string {
	ids := make(map[string]string, len(defs))
	for _, d := range defs {
		ids[d.row.Name] = d.row.ID
	}
	return ids
}

// topo orders defs so that every segment comes after the ones it refers to
// (by name, then stable). References that do not resolve are ignored here;
// compiling such a rule fails and is reported on the segment.
func topo(defs []*def) []*def {
	sort.Slice(defs, func(i, j int) bool { return defs[i].row.Name < defs[j].row.Name })
	byName := map[string]*def{}
	for _, d := range defs {
		byName[d.row.Name] = d
	}
	state := map[string]int{} // 1 visiting, 2 done
	out := make([]*def, 0, len(defs))
	var visit func(d *def)
	visit = func(d *def) {
		if state[d.row.Name] != 0 {
			return // done, or a cycle (refused on save; never loops)
		}
		state[d.row.Name] = 1
		for _, r := range d.refs {
			if rd := byName[r]; rd != nil {
				visit(rd)
			}
		}
		state[d.row.Name] = 2
		out = append(out, d)
	}
	for _, d := range defs {
		visit(d)
	}
	return out
}

// computeFull evaluates d over every live profile and applies the result.
// Called with s.refresh held.
func (s *Service) computeFull(ctx context.Context, d *def, ids map[string]string) Computed {
	start := time.Now()
	c := Computed{ID: d.row.ID, Name: d.row.Name, Pass: "full"}
	applied, err := s.full(ctx, d, ids, start)
	c.DurationMS = time.Since(start).Milliseconds()
	if errors.Is(err, errRedefined) {
		c.Error = err.Error() // not a failure: the new definition is computed on its own
		return c
	}
	if err != nil && ctx.Err() != nil {
		c.Error = err.Error() // stopped, not failed: the next start computes it again
		return c
	}
	if err != nil {
		s.failed(ctx, d, err, &c)
		return c
	}
	c.Size, c.Entered, c.Exited = applied.Size, applied.Entered, applied.Exited
	return c
}

// failed records a failed computation of d on the segment (error, retries,
// next retry) and in c. Called without s.compute held.
func (s *Service) failed(ctx context.Context, d *def, err error, c *Computed) {
	c.Error = err.Error()
	retries := d.row.Retries + 1
	next := s.opt.Now().Add(Backoff(retries))
	s.compute.Lock()
	ferr := s.st.SegmentFailed(ctx, d.row.ID, truncate(err.Error(), 1000), retries, next)
	s.compute.Unlock()
	if ferr != nil {
		s.log.Error("recording a segment failure", "segment", d.row.ID, "err", ferr)
	}
	s.log.Warn("segment computation failed", "segment", d.row.Name, "retries", retries, "next", next, "err", err)
}

// errRedefined: the segment was updated or deleted while a full computation
// read its result, which is then dropped.
var errRedefined = errors.New("the segment changed during its computation; its result was dropped")

// stored reads d's row again, errRedefined when it was deleted or its
// definition changed since d was loaded.
func (s *Service) stored(ctx context.Context, d *def) (store.SegmentRow, error) {
	cur, err := s.st.SegmentByID(ctx, d.row.ID)
	if errors.Is(err, store.ErrNotFound) {
		return cur, errRedefined
	} else if err != nil {
		return cur, err
	}
	if !cur.UpdatedAt.Equal(d.row.UpdatedAt) || string(cur.RuleJSON) != string(d.row.RuleJSON) || cur.TimeZone != d.row.TimeZone {
		return cur, errRedefined
	}
	return cur, nil
}

// fullApply is what a full computation applies: the result it read ($1),
// except for the profiles queued for real time since the read began ($2),
// which keep their current membership (a real-time evaluation may already
// have applied newer data; they are evaluated again in real time). $3: the
// segment.
const fullApply = `SELECT unnest(CAST($1 AS VARCHAR[])) AS profile_id
EXCEPT SELECT unnest(CAST($2 AS VARCHAR[]))
UNION SELECT profile_id FROM segment_memberships WHERE segment_id = $3 AND exited_at IS NULL
	AND profile_id IN (SELECT unnest(CAST($2 AS VARCHAR[])))`

// full evaluates d over every live profile and applies the result. The
// rule's result is read without s.compute, so real-time evaluations go on
// meanwhile (a full computation of a large segment takes seconds); s.compute
// is taken to apply it. The read is a snapshot: a profile queued by Touched
// after it began may have changed since, and a real-time evaluation may
// already have applied the change, so the apply leaves such profiles as they
// are and queues them again for real time, which reads their newest data.
// Called with s.refresh held.
func (s *Service) full(ctx context.Context, d *def, ids map[string]string, started time.Time) (store.SegmentApplied, error) {
	if d.err != nil {
		return store.SegmentApplied{}, fmt.Errorf("stored rule unreadable: %w", d.err)
	}
	now := s.opt.Now()
	q, err := rule.Compile(d.expr, rule.Env{Now: now, Location: d.loc, SegmentID: resolver(ids)})
	if err != nil {
		return store.SegmentApplied{}, fmt.Errorf("compile rule: %w", err)
	}
	s.mu.Lock()
	s.watch = map[string]bool{}
	s.mu.Unlock()
	result, err := s.st.RuleIDs(ctx, q.SQL, q.Args)

	s.compute.Lock()
	defer s.compute.Unlock()
	s.mu.Lock()
	watched := s.watch
	s.watch = nil
	s.mu.Unlock()
	keep := make([]string, 0, len(watched))
	var touched, gone []string
	for id, g := range watched {
		keep = append(keep, id)
		if g {
			gone = append(gone, id)
		} else {
			touched = append(touched, id)
		}
	}
	// Touched only queues: the worker evaluates them once compute is free.
	defer s.Touched(touched, gone)
	if err != nil {
		return store.SegmentApplied{}, err
	}
	if _, err := s.stored(ctx, d); err != nil {
		return store.SegmentApplied{}, err
	}
	if result == nil {
		result = []string{}
	}
	applied, err := s.st.ApplySegment(ctx, store.SegmentEval{SegmentID: d.row.ID, SQL: fullApply,
		Args: []any{result, keep, d.row.ID}, At: now, Full: true, Started: started})
	if err != nil {
		return applied, err
	}
	s.setAsOf(d.row.ID, now)
	s.publish(ctx, applied)
	return applied, nil
}

// evaluateOnly compiles d for candidates and applies it to them and to gone.
// Called with s.compute held.
func (s *Service) evaluateOnly(ctx context.Context, d *def, ids map[string]string, candidates, gone []string) (store.SegmentApplied, error) {
	if d.err != nil {
		return store.SegmentApplied{}, fmt.Errorf("stored rule unreadable: %w", d.err)
	}
	now := s.opt.Now()
	q, err := rule.Compile(d.expr, rule.Env{Now: now, Location: d.loc, SegmentID: resolver(ids), Only: true,
		Candidates: candidates})
	if err != nil {
		return store.SegmentApplied{}, fmt.Errorf("compile rule: %w", err)
	}
	args := append(append([]any{}, q.Args...), candidates)
	applied, err := s.st.ApplySegment(ctx, store.SegmentEval{SegmentID: d.row.ID, SQL: q.SQL, Args: args, Only: true,
		Candidates: candidates, Gone: gone, At: now, Started: time.Now()})
	if err != nil {
		return applied, err
	}
	s.publish(ctx, applied)
	return applied, nil
}

// publish hands the change-feed rows an evaluation wrote to the Listener.
func (s *Service) publish(ctx context.Context, a store.SegmentApplied) {
	if s.opt.Listener == nil || a.LastSeq == 0 {
		return
	}
	const page = 10000
	for after := a.FirstSeq - 1; after < a.LastSeq; {
		rows, err := s.st.SegmentChanges(ctx, after, min(page, int(a.LastSeq-after)))
		if err != nil || len(rows) == 0 {
			if err != nil {
				s.log.Error("reading segment changes for the listener", "err", err)
			}
			return
		}
		changes := make([]Change, len(rows))
		for i, r := range rows {
			changes[i] = Change(r)
		}
		if err := s.opt.Listener.SegmentChanged(ctx, changes); err != nil {
			s.log.Error("segment listener failed (the change feed keeps the changes)", "err", err)
		}
		after = rows[len(rows)-1].Seq
	}
}

// Changes returns up to limit change-feed rows after seq, oldest first: the
// durable record of every enter and exit, for consumers that keep a cursor.
func (s *Service) Changes(ctx context.Context, after int64, limit int) ([]Change, error) {
	rows, err := s.st.SegmentChanges(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Change, len(rows))
	for i, r := range rows {
		out[i] = Change(r)
	}
	return out, nil
}

// Touched queues profiles for real-time re-evaluation: touched are live
// profiles whose data changed, gone are profiles merged away. It never
// blocks (the ingest writer calls it after each commit); the worker in Run
// evaluates everything queued since its last pass in one pass.
func (s *Service) Touched(touched, gone []string) {
	if len(touched)+len(gone) == 0 {
		return
	}
	s.mu.Lock()
	for _, id := range touched {
		s.pending[id] = true
		if s.watch != nil {
			s.watch[id] = false
		}
	}
	for _, id := range gone {
		s.gone[id] = true
		delete(s.pending, id)
		if s.watch != nil {
			s.watch[id] = true
		}
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// maxCandidates bounds the profiles one real-time evaluation binds as a
// parameter; larger sets (an import) are evaluated in several.
const maxCandidates = 50000

// EvaluateTouched re-evaluates, in every computed segment and in dependency
// order, the profiles queued by Touched. It returns how many profiles it
// evaluated. Run calls it whenever something is queued.
func (s *Service) EvaluateTouched(ctx context.Context) (int, error) {
	s.mu.Lock()
	touched := make([]string, 0, len(s.pending))
	for id := range s.pending {
		touched = append(touched, id)
	}
	gone := make([]string, 0, len(s.gone))
	for id := range s.gone {
		gone = append(gone, id)
	}
	s.pending, s.gone = map[string]bool{}, map[string]bool{}
	s.mu.Unlock()
	if len(touched)+len(gone) == 0 {
		return 0, nil
	}
	sort.Strings(touched)
	s.compute.Lock()
	defer s.compute.Unlock()
	defs, err := s.load(ctx)
	if err != nil {
		return 0, err
	}
	ids := s.idsByName(defs)
	for _, d := range topo(defs) {
		if d.row.Status == store.SegmentPending {
			continue // its first full computation will count these profiles
		}
		for i := 0; i == 0 || i < len(touched); i += maxCandidates {
			chunk := touched[i:min(i+maxCandidates, len(touched))]
			g := gone
			if i > 0 {
				g = nil
			}
			if _, err := s.evaluateOnly(ctx, d, ids, chunk, g); err != nil {
				if ctx.Err() != nil {
					break // stopped: the next start computes every segment
				}
				// The next full computation corrects whatever this one
				// missed: mark the segment failed so the scheduler retries.
				s.log.Warn("real-time segment evaluation failed", "segment", d.row.Name, "err", err)
				if ferr := s.st.SegmentFailed(ctx, d.row.ID, truncate("real-time evaluation: "+err.Error(), 1000),
					d.row.Retries+1, s.opt.Now()); ferr != nil {
					s.log.Error("recording a segment failure", "segment", d.row.ID, "err", ferr)
				}
				break
			}
		}
	}
	return len(touched) + len(gone), nil
}

// Run keeps segments current until ctx is done: it evaluates profiles
// queued by Touched as soon as they arrive, refreshes every segment once at
// start, and then every Interval the due segments (never computed, retries:
// in full; moving windows: a clock pass).
// The scheduled refreshes run in a goroutine of their own, so real-time
// evaluations go on while a full computation reads its result.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(s.opt.Interval)
		defer tick.Stop()
		// The first pass computes every segment: the touched profiles are
		// queued in memory, so changes committed just before the last stop
		// or crash would otherwise never reach the memberships.
		first := true
		for {
			if _, err := s.Refresh(ctx, RefreshOptions{All: first}); err != nil && ctx.Err() == nil {
				s.log.Error("segment refresh", "err", err)
			}
			first = false
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
			if _, err := s.EvaluateTouched(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("real-time segment evaluation", "err", err)
			}
		}
	}
}
