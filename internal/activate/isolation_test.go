package activate_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdp/atrium/internal/activate"
)

// A destination whose receiver hangs until the timeout does not delay a
// healthy one: the healthy destination's deliveries all arrive well within
// the dead one's timeout, while the dead one is still waiting on its first
// attempts.
func TestDeadDestinationDoesNotDelayHealthyOne(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, t.TempDir())
	addSegment(t, db, "seg-1", "buyers")

	// The dead receiver accepts connections and never answers.
	hang := make(chan struct{})
	dead := newReceiver(t, func(r *http.Request) int {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		return 200
	})
	defer close(hang)
	// A listener that accepts TCP and never reads: the second kind of hang.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var cmu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cmu.Lock()
			conns = append(conns, c)
			cmu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		cmu.Lock()
		for _, c := range conns {
			c.Close()
		}
		cmu.Unlock()
	}()

	var mu sync.Mutex
	arrived := map[string]time.Time{}
	healthy := newReceiver(t, func(r *http.Request) int {
		mu.Lock()
		arrived[r.Header.Get("Idempotency-Key")] = time.Now()
		mu.Unlock()
		return 200
	})
	const timeout = 10 * time.Second
	d := activate.New(db, fastOptions(activate.RealClock{}))
	for name, url := range map[string]string{"dead-http": dead.srv.URL, "dead-tcp": "http://" + ln.Addr().String() + "/hook", "healthy": healthy.srv.URL} {
		if _, _, err := d.Create(ctx, name, "webhook", webhookSettings(url, map[string]any{"timeout": timeout.String(), "max_in_flight": 8})); err != nil {
			t.Fatal(err)
		}
	}
	run(t, d)
	var worst time.Duration
	const batches, per = 5, 20
	for b := 0; b < batches; b++ {
		var profiles []string
		for i := 0; i < per; i++ {
			profiles = append(profiles, string(rune('a'+b))+string(rune('a'+i)))
		}
		sent := time.Now()
		if _, err := d.Enqueue(ctx, changes("seg-1", "enter", time.Now(), profiles...)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, timeout/2, "the healthy destination's batch", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(arrived) == (b+1)*per
		})
		mu.Lock()
		for _, at := range arrived {
			if lat := at.Sub(sent); lat > worst && at.After(sent) {
				worst = lat
			}
		}
		mu.Unlock()
		time.Sleep(100 * time.Millisecond)
	}
	if worst >= timeout/2 {
		t.Fatalf("healthy deliveries took up to %s, not well under the dead destinations' %s timeout", worst, timeout)
	}
	for _, name := range []string{"dead-http", "dead-tcp"} {
		v, err := d.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if v.Deliveries[activate.StatusDelivered] != 0 || v.Deliveries[activate.StatusPending] != batches*per {
			t.Fatalf("%s: %v, want all %d pending", name, v.Deliveries, batches*per)
		}
	}
	t.Logf("healthy worst latency %s with two destinations hanging (timeout %s)", worst, timeout)
}
