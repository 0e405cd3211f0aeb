package computed

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"
)

// Tracker collects the profiles that new data touched (ingest commits,
// merges, imported orders) until the incremental refresh takes them. Safe
// for concurrent use; Touch never blocks the ingest writer.
type Tracker struct {
	mu   sync.Mutex
	ids  map[string]struct{}
	wake chan struct{}
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker {
	return &Tracker{ids: map[string]struct{}{}, wake: make(chan struct{}, 1)}
}

// Touch records profiles whose data changed (live or merged away).
func (t *Tracker) Touch(ids ...string) {
	if len(ids) == 0 {
		return
	}
	t.mu.Lock()
	for _, id := range ids {
		if id != "" {
			t.ids[id] = struct{}{}
		}
	}
	t.mu.Unlock()
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Take returns the recorded profiles, sorted, and forgets them.
func (t *Tracker) Take() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.ids) == 0 {
		return nil
	}
	out := make([]string, 0, len(t.ids))
	for id := range t.ids {
		out = append(out, id)
	}
	t.ids = map[string]struct{}{}
	sort.Strings(out)
	return out
}

// RunIncremental refreshes the touched profiles until ctx is done: after a
// change, it waits for delay so that a burst of commits makes one refresh,
// then recomputes every definition for the profiles touched meanwhile. A
// failed refresh puts its profiles back to be retried with the next change.
// It starts with one batch refresh of every profile (catch-up after a stop).
func (s *Service) RunIncremental(ctx context.Context, t *Tracker, delay time.Duration, log *slog.Logger) {
	// Catch up first: the tracker lives in memory, so profiles touched just
	// before the last stop or crash were never recomputed. One batch pass
	// over every profile covers them (and is a no-op without definitions).
	if rep, err := s.Refresh(ctx, nil, time.Time{}); err != nil {
		if ctx.Err() != nil {
			return
		}
		log.Error("computed traits: catch-up refresh at start failed (the next scheduled run retries)", "err", err)
	} else {
		log.Info("computed traits: catch-up refresh at start", "definitions", len(rep.Profiles), "seconds", rep.Seconds)
		if s.OnRefreshed != nil && len(rep.Profiles) > 0 {
			s.OnRefreshed(nil)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		ids := t.Take()
		if len(ids) == 0 {
			continue
		}
		rep, err := s.RefreshProfiles(ctx, ids, time.Time{})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Error("computed traits: incremental refresh failed", "profiles", len(ids), "err", err)
			t.Touch(ids...)
			continue
		}
		log.Debug("computed traits: incremental refresh", "profiles", len(ids), "seconds", rep.Seconds)
		if s.OnRefreshed != nil {
			s.OnRefreshed(ids)
		}
	}
}
