package segments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/atrium-cdp/atrium/internal/segments/rule"
	"github.com/atrium-cdp/atrium/internal/store"
)

// The clock's side of keeping segments current. Data changes reach the
// memberships in real time (Touched); what is left is time itself: a member
// of "did event X in last 7 days" leaves when its last qualifying event
// turns 7 days old, with no new data. Between two instants from and to,
// only the profiles with a row that crossed a window edge can change that
// way (rule.Aging), so the scheduler's pass re-evaluates those profiles
// alone, instead of recomputing the segment over every profile: on a large
// workspace a few profiles' rows instead of seconds of both cores every
// Interval, which real-time evaluations would share.

// maxClockCandidates: above it (a long pause of the scheduler, a clock
// jump) the pass computes the segments in full instead.
const maxClockCandidates = maxCandidates

// clockPass is the profiles one scheduler pass re-evaluates for the clock:
// every aging segment is current as of to once they are evaluated.
type clockPass struct {
	to         time.Time
	candidates []string
	err        error
}

// clockCandidates reads, without any lock, the live profiles with rows that
// crossed an edge of a moving window of the aging segments since the
// earliest of their asOf instants.
func (s *Service) clockCandidates(ctx context.Context, order []*def, aging map[string]bool) *clockPass {
	p := &clockPass{to: s.opt.Now()}
	var from time.Time
	var exprs []rule.Expr
	for _, d := range order {
		if !aging[d.row.ID] {
			continue
		}
		if t, _ := s.asOfTime(d.row.ID); from.IsZero() || t.Before(from) {
			from = t
		}
		if d.expr != nil {
			exprs = append(exprs, d.expr)
		}
	}
	if from.Equal(p.to) {
		return p
	}
	q, ok, err := rule.Aging(exprs, from, p.to)
	if err != nil || !ok {
		p.err = err
		return p
	}
	p.candidates, p.err = s.st.RuleIDs(ctx, q.SQL, q.Args)
	if p.err == nil && len(p.candidates) > maxClockCandidates {
		p.err = fmt.Errorf("%d profiles have rows that crossed a window edge since %s (more than %d)",
			len(p.candidates), from.Format(time.RFC3339), maxClockCandidates)
	}
	return p
}

// errBusy: the segment's status changed since the pass began (a real-time
// evaluation failed); the next pass computes it in full.
var errBusy = errors.New("the segment failed in real time since this pass began; the next pass computes it in full")

// noProfiles is a rule result with no rows, for a clock pass that found no
// profile to re-evaluate: applying it only records the segment as current.
const noProfiles = `SELECT CAST(NULL AS VARCHAR) AS profile_id WHERE false`

// computeAging brings d up to date with the clock by re-evaluating p's
// candidates. Called with s.refresh held.
func (s *Service) computeAging(ctx context.Context, d *def, ids map[string]string, p *clockPass) Computed {
	start := time.Now()
	c := Computed{ID: d.row.ID, Name: d.row.Name, Pass: "clock"}
	s.compute.Lock()
	applied, err := s.clockEval(ctx, d, ids, p.candidates, start)
	s.compute.Unlock()
	c.DurationMS = time.Since(start).Milliseconds()
	switch {
	case errors.Is(err, errRedefined), errors.Is(err, errBusy):
		c.Error = err.Error() // not a failure of this pass
		return c
	case err != nil && ctx.Err() != nil:
		c.Error = err.Error()
		return c
	case err != nil:
		s.failed(ctx, d, err, &c)
		return c
	}
	s.setAsOf(d.row.ID, p.to)
	c.Size, c.Entered, c.Exited = applied.Size, applied.Entered, applied.Exited
	return c
}

// clockEval applies d's rule to candidates (none: records the segment as
// current). Called with s.compute held.
func (s *Service) clockEval(ctx context.Context, d *def, ids map[string]string, candidates []string, started time.Time) (store.SegmentApplied, error) {
	if d.err != nil {
		return store.SegmentApplied{}, fmt.Errorf("stored rule unreadable: %w", d.err)
	}
	cur, err := s.stored(ctx, d)
	if err != nil {
		return store.SegmentApplied{}, err
	}
	if cur.Status != store.SegmentOK {
		return store.SegmentApplied{}, errBusy
	}
	now := s.opt.Now()
	e := store.SegmentEval{SegmentID: d.row.ID, SQL: noProfiles, Only: true, Candidates: []string{}, At: now,
		Full: true, Started: started}
	if len(candidates) > 0 {
		q, err := rule.Compile(d.expr, rule.Env{Now: now, Location: d.loc, SegmentID: resolver(ids), Only: true,
			Candidates: candidates})
		if err != nil {
			return store.SegmentApplied{}, fmt.Errorf("compile rule: %w", err)
		}
		e.SQL, e.Args, e.Candidates = q.SQL, append(append([]any{}, q.Args...), candidates), candidates
	}
	applied, err := s.st.ApplySegment(ctx, e)
	if err != nil {
		return applied, err
	}
	s.publish(ctx, applied)
	return applied, nil
}

func (s *Service) asOfTime(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.asOf[id]
	return t, ok
}

func (s *Service) setAsOf(id string, t time.Time) {
	s.mu.Lock()
	s.asOf[id] = t
	s.mu.Unlock()
}
