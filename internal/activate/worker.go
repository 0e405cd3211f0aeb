package activate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/atrium-cdp/atrium/internal/store"
)

// worker delivers one destination's queue. It alone attempts that
// destination's rows, at most MaxInFlight at a time; while the receiver
// fails it opens a circuit and sends one probe per backoff instead of the
// whole queue, so an outage costs a few requests, not attempts × rows.
type worker struct {
	d       *Dispatcher
	id      string
	t       Target
	r       Routing
	backoff Backoff
	cancel  context.CancelFunc
	wake    chan struct{} // new rows (buffered 1)
	freed   chan struct{} // an attempt finished (buffered 1)
	done    chan struct{}

	results chan Result // outcomes waiting to be recorded, in batches

	mu        sync.Mutex
	sending   int             // attempts waiting on the receiver
	inflight  map[string]bool // rows taken and not yet recorded
	failures  int             // consecutive transient failures (circuit)
	openUntil time.Time       // no attempt before this while failures > 0
}

// stop cancels the worker and waits for it to finish.
func (w *worker) stop() {
	w.cancel()
	<-w.done
}

func (w *worker) run(ctx context.Context) {
	clock := w.d.o.Clock
	// Attempts get their own context: at shutdown they have ShutdownGrace
	// to finish before being cancelled (and then left pending, unchanged).
	attemptCtx, cancelAttempts := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		w.recorder(ctx)
	}()
	defer func() {
		t := time.AfterFunc(w.d.o.ShutdownGrace, cancelAttempts)
		wg.Wait()
		t.Stop()
		cancelAttempts()
		close(w.results)
		<-recorded
	}()
	for ctx.Err() == nil {
		now := clock.Now()
		w.mu.Lock()
		open, until, busy := w.failures > 0, w.openUntil, w.sending
		w.mu.Unlock()
		if open && now.Before(until) {
			w.wait(ctx, until.Sub(now), false)
			continue
		}
		free := w.r.MaxInFlight - busy
		if open {
			free = 1 - busy // half-open: one probe at a time
		}
		if free <= 0 {
			w.wait(ctx, w.d.o.Poll, true)
			continue
		}
		rows, err := w.d.st.DueDeliveries(ctx, w.id, now, free, w.inflightIDs())
		if err != nil {
			if ctx.Err() == nil {
				w.d.o.Logger.Error("read the delivery queue", "destination", w.id, "err", err)
				w.wait(ctx, time.Second, false)
			}
			continue
		}
		if len(rows) == 0 {
			w.wait(ctx, w.idleWait(ctx, now), true)
			continue
		}
		rows = w.gate(ctx, rows)
		for _, row := range rows {
			w.mu.Lock()
			w.inflight[row.ID] = true
			w.sending++
			w.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.attempt(attemptCtx, row)
			}()
		}
	}
}

// idleWait is how long to sleep with nothing due: until the next row not
// in flight is due, at most Poll (rows in flight wake the loop when they
// finish).
func (w *worker) idleWait(ctx context.Context, now time.Time) time.Duration {
	next, err := w.d.st.NextDue(ctx, w.id, w.inflightIDs())
	if err != nil || next.IsZero() {
		return w.d.o.Poll
	}
	return min(max(next.Sub(now), time.Millisecond), w.d.o.Poll)
}

// wait sleeps d of clock time, or until new rows arrive, or (orFreed) an
// attempt finishes.
func (w *worker) wait(ctx context.Context, d time.Duration, orFreed bool) {
	freed := w.freed
	if !orFreed {
		freed = nil
	}
	select {
	case <-ctx.Done():
	case <-w.wake:
	case <-freed:
	case <-w.d.o.Clock.After(d):
	}
}

func (w *worker) inflightIDs() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.inflight))
	for id := range w.inflight {
		out = append(out, id)
	}
	return out
}

// gate is the send-time consent check: consent withdrawn while a row waited
// (an outage, a backoff) excludes it before it leaves. Rows that may go are
// returned.
func (w *worker) gate(ctx context.Context, rows []DeliveryRow) []DeliveryRow {
	if w.r.Purpose == "none" {
		return rows
	}
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		if r.ProfileID != "" {
			ids = append(ids, r.ProfileID)
		}
	}
	states, err := w.d.st.ConsentStates(ctx, ids, w.r.Purpose)
	if err != nil {
		// Without the ledger nothing may leave: the rows stay pending.
		w.d.o.Logger.Error("read consents before sending", "destination", w.id, "err", err)
		return nil
	}
	now := w.d.o.Clock.Now()
	keep := rows[:0]
	var excluded []Result
	for _, r := range rows {
		if r.ProfileID == "" {
			keep = append(keep, r)
			continue
		}
		st, found := states[r.ProfileID]
		ok, reason := consentFor(st, found, w.r.Purpose)
		if ok {
			keep = append(keep, r)
			continue
		}
		w.d.o.Metrics.attempt(w.id, StatusExcluded, false, 0)
		excluded = append(excluded, Result{ID: r.ID, Status: StatusExcluded, Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt,
			ConsentReason: reason + " (checked before sending)", At: now})
	}
	if err := w.finish(ctx, excluded); err != nil {
		// Not recorded: the rows stay pending and are checked again.
		w.d.o.Logger.Error("record exclusions", "destination", w.id, "err", err)
	}
	return keep
}

// consentFor says whether a profile's current state for purpose allows
// sending, and why (the reason is stored with the delivery).
func consentFor(c store.ConsentState, found bool, purpose string) (bool, string) {
	if !found {
		return false, "no consent recorded for " + purpose
	}
	when := c.At.UTC().Format(time.RFC3339)
	if c.Status == "granted" {
		return true, fmt.Sprintf("%s granted %s (source %s)", purpose, when, c.SourceID)
	}
	return false, fmt.Sprintf("%s %s %s (source %s)", purpose, c.Status, when, c.SourceID)
}

// attempt sends one row once and hands the outcome to the recorder.
func (w *worker) attempt(ctx context.Context, row DeliveryRow) {
	var res *Result
	var took time.Duration
	defer func() {
		if res != nil {
			w.d.o.Metrics.attempt(w.id, res.Status, res.Status == StatusPending, took)
		}
		w.mu.Lock()
		w.sending--
		if res == nil {
			delete(w.inflight, row.ID)
		}
		w.mu.Unlock()
		w.signalFreed()
		if res != nil {
			w.results <- *res
		}
	}()
	clock := w.d.o.Clock
	now := clock.Now()
	maxAge := time.Duration(w.r.MaxAge)
	if age := now.Sub(row.QueuedAt); age >= maxAge {
		res = &Result{ID: row.ID, Status: StatusDead, Attempts: row.Attempts, NextAttemptAt: row.NextAttemptAt, At: now,
			LastStatus: row.LastStatus, LastError: fmt.Sprintf("expired: queued %s ago, over max_age %s; last error: %s", age.Round(time.Second), maxAge, orNone(row.LastError))}
		return
	}
	started := time.Now()
	out := w.t.Deliver(ctx, Attempt{DeliveryID: row.ID, Key: row.IdempotencyKey, Body: row.Payload, At: now})
	took = time.Since(started)
	if !out.OK && ctx.Err() != nil {
		// Cancelled by shutdown: not the receiver's fault, not an attempt.
		// The row stays pending and goes out again with the same key.
		return
	}
	end := clock.Now()
	res = &Result{ID: row.ID, Attempts: row.Attempts + 1, At: end, LastStatus: out.Status, LastError: out.Err, NextAttemptAt: row.NextAttemptAt}
	switch {
	case out.OK:
		res.Status = StatusDelivered
		w.circuit(false, 0, end)
	case out.Retry:
		w.circuit(true, out.RetryAfter, end)
		switch {
		case res.Attempts >= w.r.MaxAttempts:
			res.Status = StatusDead
			res.LastError = fmt.Sprintf("gave up after %d attempts (max_attempts): %s", res.Attempts, out.Err)
		case end.Sub(row.QueuedAt) >= maxAge:
			res.Status = StatusDead
			res.LastError = fmt.Sprintf("gave up after max_age %s (%d attempts): %s", maxAge, res.Attempts, out.Err)
		default:
			res.Status = StatusPending
			res.NextAttemptAt = end.Add(max(w.backoff.Delay(res.Attempts), out.RetryAfter))
		}
	default:
		// The receiver is up and refused this payload: retrying the same
		// bytes cannot succeed.
		res.Status = StatusDead
		res.LastError = "refused: " + out.Err
		w.circuit(false, 0, end)
	}
}

func (w *worker) signalFreed() {
	select {
	case w.freed <- struct{}{}:
	default:
	}
}

// recorder writes attempt outcomes in batches, one commit per batch: the
// queue's cost is a commit per burst of answers, not per delivery. A row
// stays in flight until its outcome is written, so it is never taken twice.
func (w *worker) recorder(ctx context.Context) {
	for res := range w.results {
		batch := []Result{res}
	drain:
		for len(batch) < 500 {
			select {
			case r, ok := <-w.results:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		if err := w.finish(ctx, batch); err != nil {
			// The rows stay as they were (pending): they are attempted
			// again, with the same keys, which receivers de-duplicate.
			w.d.o.Logger.Error("record delivery attempts", "destination", w.id, "rows", len(batch), "err", err)
		}
		w.mu.Lock()
		for _, r := range batch {
			delete(w.inflight, r.ID)
		}
		w.mu.Unlock()
		w.signalFreed()
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// circuit updates the destination's failure streak: a transient failure
// opens it for a backoff (or the receiver's Retry-After), any answer that
// proves the receiver up closes it.
func (w *worker) circuit(failed bool, retryAfter time.Duration, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !failed {
		w.failures = 0
		return
	}
	w.failures++
	w.openUntil = now.Add(max(w.backoff.Delay(w.failures), retryAfter))
}

// finish writes a result, retrying briefly on write conflicts, and outlives
// the shutdown of ctx: an attempt that happened must be recorded.
func (w *worker) finish(ctx context.Context, rs []Result) error {
	if len(rs) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var err error
	for i := 0; i < 5; i++ {
		if err = w.d.st.FinishAttempts(wctx, rs); err == nil || !isConflict(err) {
			return err
		}
		time.Sleep(time.Duration(i+1) * 20 * time.Millisecond)
	}
	return err
}

// isConflict recognises DuckDB's optimistic-concurrency aborts (another
// connection touched the same rows), which succeed when retried.
func isConflict(err error) bool {
	return strings.Contains(strings.ToLower(err.Error()), "conflict")
}
