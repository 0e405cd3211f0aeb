package activate_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/activate"
	"github.com/atrium-cdp/atrium/internal/store/duckdb"
)

// A 10-minute outage of the receiver, on the dispatcher's clock: nothing
// is lost, and the only duplicates carry the same idempotency key. The
// dispatcher is also stopped and the store closed in the middle of the
// outage, and a new one resumes from the file.
//
// The clock runs 200× real time (10 minutes ≈ 3 s). With
// ATRIUM_LONG_TESTS=1, TestOutageRealTime runs the same scenario on the
// wall clock.
func TestOutageAndRecoveryScaledClock(t *testing.T) {
	outageScenario(t, 200, activate.Backoff{Base: time.Second, Cap: 30 * time.Second})
}

func TestOutageRealTime(t *testing.T) {
	if os.Getenv("ATRIUM_LONG_TESTS") != "1" {
		t.Skip("set ATRIUM_LONG_TESTS=1 to run the 10-minute outage in real time")
	}
	outageScenario(t, 1, activate.Backoff{Base: time.Second, Cap: 30 * time.Second})
}

func outageScenario(t *testing.T, factor float64, backoff activate.Backoff) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openDB(t, dir)
	addSegment(t, db, "seg-1", "buyers")
	clock := activate.NewScaledClock(time.Now(), factor)
	start := clock.Now()
	outageEnd := start.Add(10 * time.Minute)
	var refused, lostAcks atomic.Int64
	var pmu sync.Mutex
	processed := map[string]int{} // key -> times the receiver did the work
	lost := map[string]bool{}
	rc := newReceiver(t, func(r *http.Request) int {
		if clock.Now().Before(outageEnd) {
			refused.Add(1)
			return http.StatusServiceUnavailable
		}
		key := r.Header.Get("Idempotency-Key")
		pmu.Lock()
		defer pmu.Unlock()
		processed[key]++
		// The first 10 requests after the recovery are processed but their
		// answer is lost (a 502 from a proxy after the work): the sender
		// retries, and the receiver sees those keys twice.
		if lostAcks.Load() < 10 && !lost[key] {
			lostAcks.Add(1)
			lost[key] = true
			return http.StatusBadGateway
		}
		return http.StatusOK
	})
	opts := activate.Options{Clock: clock, Backoff: backoff, Poll: 30 * time.Second, SyncCheck: time.Minute, ShutdownGrace: 2 * time.Second}
	d := activate.New(db, opts)
	dest, _, err := d.Create(ctx, "crm", "webhook", webhookSettings(rc.srv.URL, map[string]any{"max_in_flight": 8}))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, d)

	// 300 changes: 100 before the outage bites, 100 at minute 3, 100 after
	// the restart at minute 6 (exits of the first 100).
	enqueue := func(kind string, from, to int) {
		var cs []activate.Change
		for i := from; i < to; i++ {
			cs = append(cs, activate.Change{SegmentID: "seg-1", ProfileID: fmt.Sprintf("p%03d", i), Kind: kind, At: start.Add(time.Duration(i) * time.Second)})
		}
		c, err := d.Enqueue(ctx, cs)
		if err != nil || c.Included != to-from {
			t.Fatalf("enqueue %s %d..%d: %+v %v", kind, from, to, c, err)
		}
	}
	sleepUntil := func(at time.Time) {
		for clock.Now().Before(at) {
			time.Sleep(time.Duration(float64(at.Sub(clock.Now()))/factor) + time.Millisecond)
		}
	}
	enqueue("enter", 0, 100)
	sleepUntil(start.Add(3 * time.Minute))
	enqueue("enter", 100, 200)
	sleepUntil(start.Add(5 * time.Minute))
	stop()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir)
	d = activate.New(db, opts)
	run(t, d)
	sleepUntil(start.Add(6 * time.Minute))
	enqueue("exit", 0, 100)
	if c := counts(t, db, dest.ID); c["delivered"] != 0 || c["dead"] != 0 {
		t.Fatalf("during the outage: %v", c)
	}
	// Recovery: everything arrives within a few backoff caps after minute 10.
	limit := time.Duration(float64(10*time.Minute+5*backoff.Cap)/factor) + 20*time.Second
	waitFor(t, limit, "300 deliveries", func() bool { return counts(t, db, dest.ID)["delivered"] == 300 })
	recoveredAt := clock.Now()

	var rows, keys int
	if err := db.SQL().QueryRow(`SELECT count(*), count(DISTINCT idempotency_key) FROM deliveries WHERE destination_id = ?`, dest.ID).Scan(&rows, &keys); err != nil {
		t.Fatal(err)
	}
	if rows != 300 || keys != 300 {
		t.Fatalf("rows %d, distinct keys %d: want 300 and 300", rows, keys)
	}
	stored := storedKeys(t, db, dest.ID)
	ids := map[string]string{}
	for _, r := range rc.requests() {
		if prev, ok := ids[r.Key]; ok && prev != r.DeliveryID {
			t.Fatalf("key %s sent under delivery ids %s and %s", r.Key, prev, r.DeliveryID)
		}
		ids[r.Key] = r.DeliveryID
		if stored[r.Key] != r.DeliveryID {
			t.Fatalf("receiver saw key %s / delivery %s that no delivery row has", r.Key, r.DeliveryID)
		}
	}
	pmu.Lock()
	defer pmu.Unlock()
	if len(processed) != 300 {
		t.Fatalf("receiver processed %d distinct keys, want 300 (one per delivery)", len(processed))
	}
	twice := 0
	for k, n := range processed {
		switch {
		case n == 2 && lost[k]:
			twice++
		case n != 1:
			t.Errorf("key %s processed %d times (lost answer: %v)", k, n, lost[k])
		}
	}
	if twice != 10 {
		t.Errorf("%d keys processed twice, want the 10 whose answer was lost", twice)
	}
	// After the outage, the 10 lost answers come in a row and keep the
	// circuit backing off; then the queue drains at full speed.
	var firstOK, lastOK time.Time
	for _, r := range rc.requests() {
		if r.Status == 200 {
			if firstOK.IsZero() {
				firstOK = r.At
			}
			lastOK = r.At
		}
	}
	t.Logf("clock ×%.0f: %d requests in all; %d refused during the 10-minute outage (the circuit sends one probe per backoff, not one per row); "+
		"%d keys processed twice, each under its own key, after a lost answer; all 300 delivered %s after the outage ended (dispatcher clock, "+
		"mostly the backoff through the 10 lost answers in a row); the 300 accepted requests spanned %s of real time",
		factor, len(rc.requests()), refused.Load(), twice, recoveredAt.Sub(outageEnd).Round(time.Second), lastOK.Sub(firstOK).Round(time.Millisecond))
	if refused.Load() > 200 {
		t.Errorf("%d requests during a 10-minute outage: the circuit should hold the queue back", refused.Load())
	}
}

func storedKeys(t *testing.T, db *duckdb.DB, destID string) map[string]string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT idempotency_key, id FROM deliveries WHERE destination_id = ?`, destID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, id string
		if err := rows.Scan(&k, &id); err != nil {
			t.Fatal(err)
		}
		out[k] = id
	}
	return out
}
